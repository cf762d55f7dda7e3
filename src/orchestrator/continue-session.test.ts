import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import { FakeRuntime, type FakeBehaviour } from '../agents/index.js';
import { defaultConfig, type BatonConfig } from '../config/index.js';
import { ErrorCodes } from '../core/index.js';
import { redactingStore, REDACTED, SecretRedactor } from '../observability/index.js';
import { parseWorkflow } from '../workflow/index.js';
import { continueSession } from './continue-session.js';
import { runWorkflow } from './run.js';

const temp = useTempStore('baton-continue-');
const secret = 'sk-test-0123456789abcdef';
const env = { PATH: '/usr/bin', EXAMPLE_API_KEY: secret };
const config = (): BatonConfig => ({
  ...defaultConfig(),
  data_dir: temp.dir,
  retry_base_delay_ms: 1,
  retry_max_delay_ms: 5,
});
const workflow = parseWorkflow(
  `version: 1\nname: one\nphases:\n  - { id: build, agents: [{ id: builder, prompt: build it, env: { FROM_WORKFLOW: "yes" } }] }\n`,
  'one.yaml',
);

/** A finished one-agent run whose session the tests continue, stored as `baton run` stores it. */
async function finishedRun() {
  const summary = await runWorkflow({
    workflow,
    workflowDir: temp.dir,
    workflowPath: join(temp.dir, 'one.yaml'),
    config: config(),
    store: temp.store,
    runtime: new FakeRuntime(() => ({ text: 'built' })),
    env,
  });
  return { runId: summary.runId, sessionId: summary.phases[0]!.agents[0]!.sessionId };
}

const continueWith = (mode: 'resume' | 'fork', sessionId: string, behaviour: FakeBehaviour) => {
  const runtime = new FakeRuntime(behaviour);
  const store = redactingStore(temp.store, SecretRedactor.fromEnvironment(env));
  return {
    runtime,
    done: continueSession({ mode, sessionId, prompt: 'one more thing', store, runtime, env, config: config() }),
  };
};

describe('baton sessions resume|fork take the path of every agent', () => {
  it('refuses a session whose run is still running with it (it would start that agent beside itself)', async () => {
    const { runId, sessionId } = await finishedRun();
    const run = (await temp.store.getRun(runId))!;
    // As a live orchestrator here has it: the run running in this process, the session in use.
    await temp.store.saveRun({ ...run, status: 'running', pid: process.pid, host: hostname() });
    await temp.store.markRunAlive(runId, Date.now());
    const session = (await temp.store.getSession(sessionId))!;
    await temp.store.saveSession({ ...session, status: 'active' });
    for (const mode of ['resume', 'fork'] as const) {
      const { runtime, done } = continueWith(mode, sessionId, () => ({ text: 'never' }));
      await expect(done).rejects.toMatchObject({ code: ErrorCodes.runNotResumable });
      expect(runtime.calls).toEqual([]);
    }
  });

  it('resume: the session continues with retries off in the binary, and its attempts follow the run’s', async () => {
    const builder = await finishedRun();
    const { runtime, done } = continueWith('resume', builder.sessionId, (_spec, call) =>
      call === 1
        ? { error: { code: ErrorCodes.modelOverloaded, message: 'overloaded', transient: true } }
        : { text: 'resumed' },
    );
    const { sessionId, result } = await done;
    expect(sessionId).toBe(builder.sessionId);
    expect(result).toMatchObject({ status: 'succeeded', output: { text: 'resumed' }, attempts: 2 });
    expect(runtime.calls[0]).toMatchObject({ resume: true, prompt: 'one more thing', sessionId: builder.sessionId });
    expect(runtime.calls[0]!.env).toMatchObject({ CLAUDE_CODE_MAX_RETRIES: '0', FROM_WORKFLOW: 'yes' });
    const attempts = await temp.store.listAttempts(builder.runId, 'builder');
    expect(attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, 'succeeded'],
      [2, 'failed'],
      [3, 'succeeded'],
    ]);
    expect(await temp.store.getSession(builder.sessionId)).toMatchObject({ status: 'completed' });
  });

  it("a follow-up's facts join the run's context and its spend the agent's totals, within the agent's budget", async () => {
    const summary = await runWorkflow({
      workflow: parseWorkflow(
        `version: 1\nname: budget\nphases:\n  - { id: build, agents: [{ id: builder, prompt: build it, maxBudgetUsd: 0.2 }] }\n`,
        'budget.yaml',
      ),
      workflowDir: temp.dir,
      workflowPath: join(temp.dir, 'budget.yaml'),
      config: config(),
      store: temp.store,
      runtime: new FakeRuntime(() => ({ text: 'built', costUsd: 0.08, usage: { inputTokens: 100 } })),
      env,
    });
    const { runId } = summary;
    const first = summary.phases[0]!.agents[0]!.sessionId;
    const { runtime, done } = continueWith('fork', first, () => ({
      text: 'Done.\nDecision: ship the follow-up fact',
      costUsd: 0.07,
      usage: { inputTokens: 50 },
    }));
    const { sessionId } = await done;
    // What was left of $0.20 after the run's $0.08.
    expect(runtime.calls[0]!.maxBudgetUsd).toBeCloseTo(0.12);
    const entries = (await temp.store.listContextEntries({ runId })).entries;
    expect(
      entries.filter((e) => e.content === 'ship the follow-up fact').map((e) => [e.sessionId, e.agentId, e.phaseId]),
    ).toEqual([[sessionId, 'builder', 'build']]);
    expect(await temp.store.getAgent(runId, 'builder')).toMatchObject({
      costUsd: expect.closeTo(0.15, 9),
      attempts: 2,
      usage: { inputTokens: 150 },
    });
    // A second follow-up has $0.05 left; once the agent has spent its budget, none is started.
    await continueWith('resume', first, () => ({ text: 'more', costUsd: 0.06 })).done;
    const refused = continueWith('resume', first, () => ({ text: 'never' }));
    await expect(refused.done).rejects.toMatchObject({ code: ErrorCodes.agentBudgetExceeded });
    expect(refused.runtime.calls).toEqual([]);
  });

  it('fork: a new session from the old one, closed as failed when the agent fails, with no secret stored', async () => {
    const builder = await finishedRun();
    const { runtime, done } = continueWith('fork', builder.sessionId, () => ({
      error: { code: ErrorCodes.modelAuth, message: `key ${secret} was refused`, transient: false },
    }));
    const { sessionId, result } = await done;
    expect(sessionId).not.toBe(builder.sessionId);
    expect(runtime.calls[0]).toMatchObject({ forkFrom: builder.sessionId, sessionId });
    expect(result.status).toBe('failed');
    expect(await temp.store.getSession(sessionId)).toMatchObject({ status: 'failed', parentId: builder.sessionId });
    const attempts = await temp.store.listAttempts(builder.runId, 'builder');
    expect(attempts.at(-1)!.error?.message).toBe(`key ${REDACTED} was refused`);
    expect(JSON.stringify(attempts)).not.toContain(secret);
  });
});
