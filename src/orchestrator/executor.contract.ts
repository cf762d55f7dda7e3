import { describe, expect, it } from 'vitest';
import { streamPreview, TOOL_PREVIEW_CHARS, type AgentSpec, type FakeBehaviour } from '../agents/index.js';
import { ErrorCodes, type ToolCall } from '../core/index.js';
import { agentRecord } from '../../test/support/records.js';
import type { Store } from '../store/index.js';
import type { AgentExecutor, AgentJob } from './execute.js';

/** One executor with a fake agent runtime behind it (in this process, or on a queue worker). */
export interface ExecutorHarness {
  executor: AgentExecutor;
  /** Where the executor records attempts. */
  store: Store;
  /** Every spec the runtime behind the executor was asked to run. */
  calls(): AgentSpec[];
  close(): Promise<void>;
}

let counter = 0;
const job = (extra: Partial<AgentJob> = {}): AgentJob => {
  const n = ++counter;
  return {
    runId: `contract-run-${n}-${Date.now()}`,
    phaseId: 'p',
    agentId: 'agent',
    tenant: 'default',
    priority: 0,
    spec: { agentId: 'agent', sessionId: `contract-session-${n}-${Date.now()}`, prompt: 'work', cwd: '/tmp' },
    env: { WORKFLOW_EXTRA: 'from the workflow' },
    retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 },
    timeoutMs: 30_000,
    ...extra,
  };
};

/** The run and agent a job belongs to, stored as the orchestrator stores them before it sends the job. */
async function stored(store: Store, one: AgentJob): Promise<AgentJob> {
  await store.saveRun({
    id: one.runId,
    workflowName: 'contract',
    tenant: one.tenant,
    workflow: {},
    status: 'running',
    createdAt: 1_700_000_000_000,
  });
  await store.saveAgent(
    agentRecord({
      runId: one.runId,
      id: one.agentId,
      sessionId: one.spec.sessionId,
      prompt: one.spec.prompt,
      attempts: 0,
    }),
  );
  return one;
}

const transient = { code: ErrorCodes.modelOverloaded, message: 'overloaded', transient: true };

/**
 * What every AgentExecutor must do, wherever it runs agents: run a job to one result, record each
 * attempt in the store, report what was spent, give agents Baton's environment, and end a cancelled
 * job as cancelled instead of rejecting. The orchestrator relies on exactly this and nothing more.
 */
export function executorContract(name: string, open: OpenHarness): void {
  describe(`AgentExecutor contract: ${name}`, () => {
    resultContract(open);
    controlContract(open);
    toolCallContract(open);
  });
}

type OpenHarness = (behaviour: FakeBehaviour) => Promise<ExecutorHarness>;

async function withHarness(
  open: OpenHarness,
  behaviour: FakeBehaviour,
  body: (h: ExecutorHarness) => Promise<void>,
): Promise<void> {
  const harness = await open(behaviour);
  try {
    await body(harness);
  } finally {
    await harness.close();
  }
}

/** Results, attempts and spend. */
function resultContract(open: OpenHarness): void {
  it('holds no agent of a run once its jobs ended: a resumed orchestrator may close what they left running', async () => {
    await withHarness(
      open,
      () => ({ text: 'done' }),
      async (h) => {
        const one = await stored(h.store, job());
        expect(await h.executor.agentsHeld(one.runId)).toEqual(new Set());
        await h.executor.runJob(one, new AbortController().signal);
        expect(await h.executor.agentsHeld(one.runId)).toEqual(new Set());
      },
    );
  });

  it('runs a job to its result and records its attempt', async () => {
    await withHarness(
      open,
      () => ({ text: 'done', costUsd: 0.25, usage: { inputTokens: 10, outputTokens: 5 } }),
      async (h) => {
        const one = await stored(h.store, job());
        const result = await h.executor.runJob(one, new AbortController().signal);
        expect(result).toMatchObject({ status: 'succeeded', output: { text: 'done' }, attempts: 1, costUsd: 0.25 });
        const attempts = await h.store.listAttempts(one.runId, one.agentId);
        expect(attempts).toMatchObject([{ attempt: 1, status: 'succeeded', costUsd: 0.25 }]);
      },
    );
  });

  it('retries a transient failure and reports all it spent, once', async () => {
    await withHarness(
      open,
      (_spec, call) => (call === 1 ? { error: transient, costUsd: 0.1 } : { text: 'second time', costUsd: 0.2 }),
      async (h) => {
        const one = await stored(h.store, job());
        const spent: number[] = [];
        const result = await h.executor.runJob(one, new AbortController().signal, {
          spent: (costUsd) => spent.push(costUsd),
        });
        expect(result).toMatchObject({ status: 'succeeded', attempts: 2 });
        expect(result.costUsd).toBeCloseTo(0.3);
        expect(spent.reduce((a, b) => a + b, 0)).toBeCloseTo(result.costUsd);
        const attempts = await h.store.listAttempts(one.runId, one.agentId);
        expect(attempts.map((a) => [a.attempt, a.status, a.resumed])).toEqual([
          [1, 'failed', false],
          [2, 'succeeded', true],
        ]);
      },
    );
  });

  it("reports as spent only what the job's own attempts spent: a resumed run's budget counted the earlier ones already", async () => {
    await withHarness(
      open,
      () => ({ text: 'done', costUsd: 0.05, usage: { inputTokens: 10, outputTokens: 5 } }),
      async (h) => {
        const one = await stored(h.store, job());
        const usage = { inputTokens: 1000, outputTokens: 100, cacheReadTokens: 0, cacheCreationTokens: 0 };
        const cancelled = { code: ErrorCodes.cancelled, message: 'cancelled' };
        await h.store.saveAttempt({
          ...{ runId: one.runId, agentId: one.agentId, attempt: 1, resumed: false, startedAt: 1, durationMs: 1 },
          ...{ status: 'failed', usage, costUsd: 0.4, error: cancelled },
        });
        const spent: Array<[number, number]> = [];
        const result = await h.executor.runJob(one, new AbortController().signal, {
          spent: (costUsd, tokens) => spent.push([costUsd, tokens]),
        });
        expect(result).toMatchObject({ status: 'succeeded', attempts: 2 });
        expect(result.costUsd).toBeCloseTo(0.45, 10);
        expect(spent.reduce((sum, [usd]) => sum + usd, 0)).toBeCloseTo(0.05, 10);
        expect(spent.reduce((sum, [, tokens]) => sum + tokens, 0)).toBe(15);
      },
    );
  });

  it('starts no agent whose job has no budget left (its earlier attempts spent it): BATON_AGENT_BUDGET_EXCEEDED', async () => {
    await withHarness(
      open,
      () => ({ text: 'done', costUsd: 0.05 }),
      async (h) => {
        const one = await stored(h.store, job());
        const spent = await h.executor.runJob(
          { ...one, spec: { ...one.spec, maxBudgetUsd: 0 } },
          new AbortController().signal,
        );
        expect(spent).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'BATON_AGENT_BUDGET_EXCEEDED' } });
        expect(h.calls()).toEqual([]);
      },
    );
  });
}

const toolCall = (seq: number, input: string): ToolCall => ({
  seq,
  toolUseId: `toolu_${seq}`,
  name: 'mcp__memory__read_graph',
  server: 'memory',
  turn: seq,
  startedAt: 1_700_000_000_000 + seq,
  finishedAt: 1_700_000_000_010 + seq,
  durationMs: 10,
  status: 'ok',
  inputPreview: input,
  outputPreview: '{}',
});

/** Tool calls: wherever the agent runs, its calls reach the store, per attempt, without the agent's secrets. */
function toolCallContract(open: OpenHarness): void {
  it("records each attempt's tool calls, redacted", async () => {
    const secret = 'tok-7f3a9c1e55b2';
    // A literal value of the workflow's agent env is secret by value, whatever its variable is called.
    const literal = 'canary-4e8b1d2c9a';
    // A long input with the secret across the preview's cap, as the agent's stream previews it.
    const straddling = streamPreview(`token ${'x'.repeat(TOOL_PREVIEW_CHARS - 12)} ${secret} and more`);
    await withHarness(
      open,
      (_spec, call) =>
        call === 1
          ? { error: transient, toolCalls: [toolCall(1, `token ${secret}`), toolCall(2, straddling)] }
          : { text: 'done', toolCalls: [toolCall(1, 'again'), toolCall(2, `echo $RELEASE_CHANNEL: ${literal}`)] },
      async (h) => {
        const one = await stored(h.store, job({ env: { SERVICE_TOKEN: secret, RELEASE_CHANNEL: literal } }));
        await h.executor.runJob(one, new AbortController().signal);
        const calls = await h.store.listToolCalls(one.runId, one.agentId);
        const cut = calls.find((c) => c.attempt === 1 && c.seq === 2)!.inputPreview;
        expect(cut).toHaveLength(TOOL_PREVIEW_CHARS + 1);
        expect(cut).not.toContain(secret.slice(0, 5));
        const bySeq = [...calls].sort((x, y) => x.attempt - y.attempt || x.seq - y.seq);
        expect(bySeq.map((c) => [c.attempt, c.seq, c.inputPreview])).toEqual([
          [1, 1, 'token [REDACTED]'],
          [1, 2, cut],
          [2, 1, 'again'],
          [2, 2, 'echo $RELEASE_CHANNEL: [REDACTED]'],
        ]);
      },
    );
  });
}

/** The agent's environment, cancellation and prewarming. */
function controlContract(open: OpenHarness): void {
  it("gives the agent Baton's environment: the binary's own retries off, the workflow's extras on", async () => {
    await withHarness(
      open,
      () => ({ text: 'ok' }),
      async (h) => {
        await h.executor.runJob(await stored(h.store, job()), new AbortController().signal);
        const env = h.calls()[0]!.env;
        expect(env).toMatchObject({ CLAUDE_CODE_MAX_RETRIES: '0', WORKFLOW_EXTRA: 'from the workflow' });
      },
    );
  });

  it('ends a cancelled job as cancelled, never rejecting', async () => {
    await withHarness(
      open,
      () => ({ text: 'too late', delayMs: 20_000 }),
      async (h) => {
        const cancel = new AbortController();
        const running = h.executor.runJob(await stored(h.store, job()), cancel.signal);
        // Cancel once the agent is running, as the orchestrator's kill switch does.
        await waitFor(() => h.calls().length > 0);
        cancel.abort(new Error('run cancelled'));
        const result = await running;
        expect(result.status).toBe('cancelled');
        expect(result.error?.code).toBe(ErrorCodes.cancelled);
      },
    );
  });

  it('prewarming never runs the task: no attempt until runJob', async () => {
    await withHarness(
      open,
      () => ({ text: 'ok' }),
      async (h) => {
        const one = await stored(h.store, job());
        const warmed = h.executor.prewarm(one);
        expect(warmed).toBe(h.executor.warmCapacity > 0 && warmed);
        expect(h.calls()).toEqual([]);
        expect(await h.store.listAttempts(one.runId, one.agentId)).toEqual([]);
      },
    );
  });
}

/** Polls a condition the executor makes true on its own schedule (a worker picking the job up). */
async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
