import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { waitFor } from '../../test/support/cli.js';
import { requireProgram } from '../../test/support/programs.js';
import { everyRedisValue, useRedisStore } from '../../test/support/redis.js';
import { FakeRuntime, type FakeBehaviour } from '../agents/index.js';
import type { AgentResult } from '../agents/index.js';
import type { AgentJob } from '../orchestrator/index.js';
import { agentJobId, QueueExecutor, startAgentWorker, type AgentWorker } from './queue.js';
import { TenantSlots } from './tenant-slots.js';

/** The key orchestrator and workers share to seal jobs' secrets. */
const jobKey = randomBytes(32);

const hasRedis = requireProgram('redis-server');
const redis = useRedisStore();
beforeEach(async () => {
  const client = new Redis(redis.server.url);
  await client.flushdb();
  client.disconnect();
});

let counter = 0;
const job = (extra: Partial<AgentJob> = {}): AgentJob => ({
  runId: `run-${++counter}`,
  phaseId: 'p',
  agentId: 'agent',
  tenant: 'default',
  priority: 0,
  spec: { agentId: 'agent', sessionId: `session-${counter}`, prompt: 'work', cwd: '/tmp' },
  env: {},
  retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1 },
  timeoutMs: 30_000,
  ...extra,
});

async function withWorkers<T>(
  count: number,
  behaviour: FakeBehaviour,
  options: { concurrency?: number; tenantLimits?: Record<string, number>; env?: Record<string, string> },
  body: (runtimes: FakeRuntime[], executor: QueueExecutor) => Promise<T>,
): Promise<T> {
  const runtimes = Array.from({ length: count }, () => new FakeRuntime(behaviour));
  const workers: AgentWorker[] = [];
  const executor = await QueueExecutor.open({
    redisUrl: redis.server.url,
    store: redis.store,
    jobKey,
    ...(options.env ? { env: options.env } : {}),
  });
  try {
    for (const runtime of runtimes) {
      workers.push(
        await startAgentWorker({
          redisUrl: redis.server.url,
          store: redis.store,
          jobKey,
          runtime,
          env: { PATH: '/usr/bin' },
          concurrency: options.concurrency ?? 2,
          stallTimeoutMs: 3000,
          ...(options.tenantLimits ? { tenantLimits: options.tenantLimits } : {}),
        }),
      );
    }
    return await body(runtimes, executor);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await executor.close();
  }
}

describe.runIf(hasRedis)('BullMQ execution (real redis-server, in-process workers)', () => {
  it('runs a job sent twice once: the job id makes it idempotent, and both senders get the result', async () => {
    await withWorkers(
      2,
      () => ({ text: 'done once', delayMs: 100 }),
      {},
      async (runtimes, executor) => {
        const twice = job();
        const signal = new AbortController().signal;
        const [a, b] = await Promise.all([executor.runJob(twice, signal), executor.runJob(twice, signal)]);
        expect(a).toMatchObject({ status: 'succeeded', output: { text: 'done once' } });
        expect(b).toEqual(a);
        // Sent again after it finished: the stored result comes back, nothing runs.
        expect(await executor.runJob(twice, signal)).toEqual(a);
        expect(runtimes.reduce((n, r) => n + r.calls.length, 0)).toBe(1);
        expect(agentJobId(twice)).toBe(`${twice.runId}|agent|g0|i0`);
        expect((await redis.store.listAttempts(twice.runId, 'agent')).map((x) => x.status)).toEqual(['succeeded']);
      },
    );
  });

  it('a worker with another job key hands the job back and is told to stop; a worker with the right key runs it', async () => {
    const executor = await QueueExecutor.open({ redisUrl: redis.server.url, store: redis.store, jobKey });
    const wrongRuntime = new FakeRuntime(() => ({ text: 'never' }));
    const told: string[] = [];
    const wrong = await startAgentWorker({
      redisUrl: redis.server.url,
      store: redis.store,
      jobKey: randomBytes(32),
      runtime: wrongRuntime,
      env: { PATH: '/usr/bin' },
      concurrency: 1,
      stallTimeoutMs: 3000,
      onWrongJobKey: (error) => told.push(error.code),
    });
    let right: AgentWorker | undefined;
    try {
      const sent = executor.runJob(job(), new AbortController().signal);
      await waitFor(() => told.length > 0, 15_000);
      await wrong.stop();
      right = await startAgentWorker({
        redisUrl: redis.server.url,
        store: redis.store,
        jobKey,
        runtime: new FakeRuntime(() => ({ text: 'done by the right worker' })),
        env: { PATH: '/usr/bin' },
        concurrency: 1,
        stallTimeoutMs: 3000,
      });
      expect(await sent).toMatchObject({ status: 'succeeded', output: { text: 'done by the right worker' } });
      expect(told[0]).toBe('BATON_JOB_KEY_MISMATCH');
      expect(wrongRuntime.calls).toHaveLength(0);
    } finally {
      await wrong.stop();
      await right?.stop();
      await executor.close();
    }
  }, 60_000);

  it("gives the worker's agent the caller's environment (run({ env })) under the workflow's own, sealed in Redis", async () => {
    const caller = {
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/',
      ANTHROPIC_API_KEY: 'scripted-key-1234567890',
      SHARED: 'caller',
    };
    await withWorkers(
      1,
      () => ({ text: 'ok' }),
      { env: caller },
      async (runtimes, executor) => {
        const sent = job({ env: { SHARED: 'workflow' } });
        expect(await executor.runJob(sent, new AbortController().signal)).toMatchObject({ status: 'succeeded' });
        expect(runtimes[0]!.calls[0]!.env).toMatchObject({
          PATH: '/usr/bin', // the worker's own
          ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/',
          ANTHROPIC_API_KEY: 'scripted-key-1234567890',
          SHARED: 'workflow',
        });
        const client = new Redis(redis.server.url);
        try {
          const values = await everyRedisValue(client);
          expect(values.some(({ type }) => type === 'hash')).toBe(true); // the job, kept after it ran
          expect(JSON.stringify(values)).not.toContain('scripted-key-1234567890');
        } finally {
          client.disconnect();
        }
      },
    );
  });

  it("names the run's agents a live worker holds (a resumed orchestrator leaves their attempts open), none once the job ends", async () => {
    let started = 0;
    await withWorkers(
      1,
      () => (++started, { text: 'done', delayMs: 1_500 }),
      {},
      async (_runtimes, executor) => {
        const held = job({ agentId: 'held' });
        const running = executor.runJob(held, new AbortController().signal);
        await expect.poll(() => started, { timeout: 10_000 }).toBe(1);
        await expect.poll(() => executor.agentsHeld(held.runId), { timeout: 10_000 }).toEqual(new Set(['held']));
        expect(await executor.agentsHeld('another-run')).toEqual(new Set());
        // Its lock is what tells it is alive: BullMQ renews it while the worker lives.
        const client = new Redis(redis.server.url);
        const lockMs = await client.pttl(`${executor['queue'].toKey(agentJobId(held))}:lock`);
        client.disconnect();
        expect(lockMs).toBeGreaterThan(0);
        expect((await running).status).toBe('succeeded');
        expect(await executor.agentsHeld(held.runId)).toEqual(new Set());
      },
    );
  });

  it('a Redis outage longer than the stall timeout never runs a job twice at once: the processing that lost its lock stops, and the job goes on once', async () => {
    /** Counts the agent's processes running at once. */
    class CountingRuntime extends FakeRuntime {
      running = 0;
      most = 0;
      override async execute(...args: Parameters<FakeRuntime['execute']>): ReturnType<FakeRuntime['execute']> {
        this.most = Math.max(this.most, ++this.running);
        try {
          return await super.execute(...args);
        } finally {
          this.running--;
        }
      }
    }
    const runtime = new CountingRuntime((_spec, call) =>
      call === 1 ? { text: 'first take', delayMs: 30_000 } : { text: 'taken again', delayMs: 200 },
    );
    const executor = await QueueExecutor.open({ redisUrl: redis.server.url, store: redis.store, jobKey });
    const worker = await startAgentWorker({
      redisUrl: redis.server.url,
      store: redis.store,
      jobKey,
      runtime,
      env: { PATH: '/usr/bin' },
      concurrency: 2, // a free slot: BullMQ gives the stalled job back to this very worker
      stallTimeoutMs: 2000,
    });
    try {
      const outaged = job({ timeoutMs: 60_000 });
      const sent = executor.runJob(outaged, new AbortController().signal);
      await expect.poll(() => runtime.calls.length, { timeout: 10_000 }).toBe(1);
      await redis.server.freeze(3500); // the job's lock lapses while the worker cannot renew it
      expect(await sent).toMatchObject({ status: 'succeeded', output: { text: 'taken again' } });
      expect(runtime.most).toBe(1);
      expect(runtime.calls).toHaveLength(2);
      const attempts = await redis.store.listAttempts(outaged.runId, 'agent');
      expect(attempts.map((a) => [a.status, a.error?.code])).toEqual([
        ['failed', 'BATON_CANCELLED'],
        ['succeeded', undefined],
      ]);
      expect(attempts[0]?.error?.message).toContain("lost the job's lock");
    } finally {
      await worker.stop();
      await executor.close();
    }
  }, 60_000);

  it('runs an agent again when the run it was cancelled with is resumed', async () => {
    let calls = 0;
    await withWorkers(
      1,
      () => (++calls === 1 ? { text: 'never finishes', delayMs: 10_000 } : { text: 'done on resume', delayMs: 10 }),
      {},
      async (_runtimes, executor) => {
        const resumed = job();
        // A cancel is a flag on the stored run, which workers watch.
        await redis.store.saveRun({
          id: resumed.runId,
          workflowName: 'wf',
          tenant: 'default',
          workflow: { version: 1, name: 'wf', phases: [{ id: 'p', agents: [] }] },
          status: 'running',
          createdAt: Date.now(),
        });
        const cancel = new AbortController();
        const first = executor.runJob(resumed, cancel.signal);
        await expect.poll(() => calls, { timeout: 10_000 }).toBe(1);
        cancel.abort(new Error('run cancelled'));
        expect((await first).status).toBe('cancelled');
        // The worker saw the cancel flag, stopped the agent and ended its job as cancelled before the
        // orchestrator's runJob returned (it then commits the agent's worktree: no agent may still write).
        const ended = (await executor['queue'].getJob(agentJobId(resumed)))?.returnvalue as AgentResult | undefined;
        expect(ended?.status).toBe('cancelled');

        await redis.store.clearCancel(resumed.runId); // what `baton run --resume` does first
        expect(await executor.runJob(resumed, new AbortController().signal)).toMatchObject({
          status: 'succeeded',
          output: { text: 'done on resume' },
        });
        expect(calls).toBe(2);
      },
    );
  });

  it('holds a tenant to tenant_max_concurrent_agents across workers while others run', async () => {
    let running = 0;
    let peak = 0;
    const behaviour: FakeBehaviour = () => {
      peak = Math.max(peak, ++running);
      setTimeout(() => running--, 150);
      return { text: 'ok', delayMs: 150 };
    };
    await withWorkers(2, behaviour, { concurrency: 3, tenantLimits: { acme: 1 } }, async (_runtimes, executor) => {
      const signal = new AbortController().signal;
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) => executor.runJob(job({ tenant: 'acme', agentId: `a${i}` }), signal)),
      );
      expect(results.every((r) => r.status === 'succeeded')).toBe(true);
      expect(peak).toBe(1);
    });
  });

  it('a job sent again (a resumed run) while it waits for a worker takes the priority it is sent with now', async () => {
    const first = await QueueExecutor.open({ redisUrl: redis.server.url, store: redis.store, jobKey });
    const resumed = await QueueExecutor.open({ redisUrl: redis.server.url, store: redis.store, jobKey });
    try {
      const waiting = job({ priority: -10 });
      const cancel = new AbortController();
      const sent = first.runJob(waiting, cancel.signal);
      const queued = () => first['queue'].getJob(agentJobId(waiting));
      await expect.poll(async () => (await queued())?.priority, { timeout: 10_000 }).toBe(1011);
      const again = resumed.runJob({ ...waiting, priority: 500 }, cancel.signal);
      await expect.poll(async () => (await queued())?.priority, { timeout: 10_000 }).toBe(501);
      cancel.abort(new Error('test over'));
      await Promise.all([sent, again]);
    } finally {
      await Promise.all([first.close(), resumed.close()]);
    }
  });

  it('starts higher-priority jobs first when workers are busy', async () => {
    const order: string[] = [];
    let release = (): void => {};
    const busyUntil = new Promise<void>((resolve) => (release = resolve));
    await withWorkers(
      1,
      (spec) => (order.push(spec.prompt), spec.prompt === 'busy' ? { text: 'ok', until: busyUntil } : { text: 'ok' }),
      { concurrency: 1 },
      async (_runtimes, executor) => {
        const signal = new AbortController().signal;
        const send = (prompt: string, priority: number) =>
          executor.runJob(
            job({
              runId: 'prio',
              agentId: prompt,
              priority,
              spec: { agentId: prompt, sessionId: `s-${prompt}`, prompt, cwd: '/tmp' },
            }),
            signal,
          );
        const busy = send('busy', 5);
        // The only worker slot is taken before the others are sent, and both wait before it frees.
        await waitFor(() => order.includes('busy') || undefined, 20_000, 'the busy job to start');
        const waiting = [send('low', 0), send('high', 9)];
        await waitFor(
          async () => ((await executor.holders('prio')).queued.size === 2 ? true : undefined),
          20_000,
          'both jobs to wait',
        );
        release();
        await Promise.all([busy, ...waiting]);
        expect(order).toEqual(['busy', 'high', 'low']);
      },
    );
  });
});

describe.runIf(hasRedis)('TenantSlots', () => {
  it("gives out at most limit slots, renews a held one, and lets a dead holder's lapse", async () => {
    const client = new Redis(redis.server.url);
    let now = 1_000_000;
    const slots = new TenantSlots(client, 1000, () => now);
    try {
      expect(await slots.acquire('t', 'a', 2)).toBe(true);
      expect(await slots.acquire('t', 'b', 2)).toBe(true);
      expect(await slots.acquire('t', 'c', 2)).toBe(false);
      expect(await slots.acquire('t', 'a', 2)).toBe(true); // renewal of a held slot
      await slots.release('t', 'b');
      expect(await slots.acquire('t', 'c', 2)).toBe(true);
      now += 1500; // a and c were not renewed: their holders are gone
      expect(await slots.held('t')).toBe(0);
      expect(await slots.acquire('t', 'd', 2)).toBe(true);
    } finally {
      client.disconnect();
    }
  });
});
