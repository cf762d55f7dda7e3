import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { emptyUsage, ErrorCodes } from '../core/index.js';
import { abortError } from './classify.js';
import { FakeRuntime, type FakeStep } from './fake-runtime.js';
import { runWithRetries, type AttemptInfo } from './runner.js';
import type { AgentRuntime, AgentSpec } from './runtime.js';
import type { ToolGate } from './tool-gate.js';

const spec = (): AgentSpec => ({ agentId: 'a', sessionId: randomUUID(), prompt: 'do it', cwd: '/tmp', env: {} });
const fast = { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 };
const rateLimited: FakeStep = {
  error: { code: ErrorCodes.modelRateLimited, message: '429', transient: true },
  usage: { inputTokens: 5 },
  costUsd: 0.01,
};

describe('runWithRetries', () => {
  it('retries a transient failure and sums usage and cost over attempts', async () => {
    const runtime = new FakeRuntime((_, call) =>
      call === 1 ? rateLimited : { text: 'ok', usage: { inputTokens: 7, outputTokens: 3 }, costUsd: 0.02 },
    );
    const result = await runWithRetries(spec(), { runtime, retry: fast });
    expect(result).toMatchObject({ status: 'succeeded', attempts: 2, output: { text: 'ok' } });
    expect(result.usage).toEqual({ inputTokens: 12, outputTokens: 3, cacheReadTokens: 0, cacheCreationTokens: 0 });
    expect(result.costUsd).toBeCloseTo(0.03);
  });

  it('gives up after maxRetries + 1 attempts (3 by default settings)', async () => {
    const runtime = new FakeRuntime(() => rateLimited);
    const result = await runWithRetries(spec(), { runtime, retry: fast });
    expect(result).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'BATON_MODEL_RATE_LIMITED' } });
  });

  it('does not retry a permanent failure', async () => {
    const runtime = new FakeRuntime(() => ({
      error: { code: ErrorCodes.agentBudgetExceeded, message: 'budget', transient: false },
    }));
    const result = await runWithRetries(spec(), { runtime, retry: fast });
    expect(result).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'BATON_AGENT_BUDGET_EXCEEDED' } });
  });

  it('gives a retry only what is left of maxBudgetUsd, and none once the attempts spent it', async () => {
    const spending: FakeStep = { ...rateLimited, costUsd: 0.3 };
    const runtime = new FakeRuntime((_, call) => (call === 1 ? spending : { text: 'ok', costUsd: 0.1 }));
    const result = await runWithRetries({ ...spec(), maxBudgetUsd: 0.5 }, { runtime, retry: fast });
    expect(result).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(runtime.calls[0]!.maxBudgetUsd).toBe(0.5);
    expect(runtime.calls[1]!.maxBudgetUsd).toBeCloseTo(0.2);

    const spentAll = new FakeRuntime(() => spending);
    const stopped = await runWithRetries({ ...spec(), maxBudgetUsd: 0.5 }, { runtime: spentAll, retry: fast });
    expect(spentAll.calls).toHaveLength(2);
    expect(stopped).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'BATON_AGENT_BUDGET_EXCEEDED' } });
    expect(stopped.costUsd).toBeCloseTo(0.6);
  });

  it('gives a retry only the turns left of maxTurns, and none once the attempts used them', async () => {
    const runtime = new FakeRuntime(() => rateLimited); // each attempt takes one turn
    const result = await runWithRetries({ ...spec(), maxTurns: 3 }, { runtime, retry: { ...fast, maxRetries: 5 } });
    expect(runtime.calls.map((c) => c.maxTurns)).toEqual([3, 2, 1]);
    expect(result).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'BATON_AGENT_MAX_TURNS' } });
  });

  it('resumes the session on retry when the failed attempt had started it, else starts it again', async () => {
    const started = new FakeRuntime((_, call) => (call === 1 ? rateLimited : { text: 'ok' }));
    const s = spec();
    await runWithRetries(s, { runtime: started, retry: fast });
    expect(started.calls[0]).toMatchObject({ sessionId: s.sessionId, prompt: 'do it' });
    expect(started.calls[1]!.resume).toBe(true);
    expect(started.calls[1]!.sessionId).toBe(s.sessionId);
    expect(started.calls[1]!.prompt).toContain('BATON_MODEL_RATE_LIMITED');

    const neverStarted = new FakeRuntime((_, call) =>
      call === 1 ? { ...rateLimited, sessionStarted: false } : { text: 'ok' },
    );
    await runWithRetries(spec(), { runtime: neverStarted, retry: fast });
    expect(neverStarted.calls[1]!.resume).toBeUndefined();
    expect(neverStarted.calls[1]!.prompt).toBe('do it');
  });

  it('reports each attempt through hooks', async () => {
    const events: string[] = [];
    const runtime = new FakeRuntime((_, call) => (call === 1 ? rateLimited : { text: 'ok' }));
    await runWithRetries(spec(), {
      runtime,
      retry: fast,
      hooks: {
        attemptStarted: (i: AttemptInfo) => void events.push(`start ${i.attempt} resumed=${i.resumed}`),
        attemptFinished: (i, o) => void events.push(`end ${i.attempt} ${o.status}`),
      },
    });
    expect(events).toEqual(['start 1 resumed=false', 'end 1 failed', 'start 2 resumed=true', 'end 2 succeeded']);
  });

  it('kills the agent at its timeout, and does not retry it', async () => {
    const runtime = new FakeRuntime(() => ({ delayMs: 10_000 }));
    const started = Date.now();
    const result = await runWithRetries(spec(), { runtime, retry: fast, timeoutMs: 100 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'BATON_AGENT_TIMEOUT' } });
    expect(result.error?.message).toMatch(/timed out after 100 ms/);
  });

  it('does not count the time a tool call waits for a person against its timeout', async () => {
    // An ask rule's request may wait up to approvalTimeoutMs (an hour by default); the agent's timeout is
    // for an agent that hangs, not for a person who answers after it.
    const gated = (workAfterMs: number): AgentRuntime => ({
      name: 'gated',
      close: async () => undefined,
      execute: async (_spec, signal, observer) => {
        const verdict = await observer!.toolGate!({ tool: 'Bash', input: {}, cwd: '/tmp', toolUseId: 't1' }, signal);
        await sleep(workAfterMs, undefined, { signal }).catch(() => undefined);
        return {
          status: signal.aborted ? 'failed' : 'succeeded',
          ...(signal.aborted ? { error: abortError(signal) } : {}),
          output: { text: verdict.behavior },
          usage: emptyUsage(),
          costUsd: 0,
          turns: 1,
          durationMs: 0,
          sessionStarted: true,
          toolCalls: [],
        };
      },
    });
    const person: ToolGate = async () => {
      await sleep(300); // three timeouts' worth
      return { behavior: 'allow', by: 'person' };
    };
    const options = { retry: fast, timeoutMs: 100, toolGate: person };
    const answered = await runWithRetries(spec(), { ...options, runtime: gated(0) });
    expect(answered).toMatchObject({ status: 'succeeded', attempts: 1, output: { text: 'allow' } });
    // Its own time still counts once the answer is in: an agent that then hangs is killed.
    const hangs = await runWithRetries(spec(), { ...options, runtime: gated(10_000) });
    expect(hangs).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'BATON_AGENT_TIMEOUT' } });
  });

  it('is cancelled by its signal, also while waiting to retry', async () => {
    const runtime = new FakeRuntime(() => rateLimited);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('run cancelled by user')), 100);
    const started = Date.now();
    const result = await runWithRetries(spec(), {
      runtime,
      retry: { maxRetries: 5, baseDelayMs: 10_000, maxDelayMs: 10_000 },
      signal: controller.signal,
    });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result).toMatchObject({
      status: 'cancelled',
      attempts: 1,
      error: { code: 'BATON_CANCELLED', message: 'run cancelled by user' },
    });
  });
});
