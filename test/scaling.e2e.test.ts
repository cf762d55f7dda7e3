import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { processesWithEnv } from './support/processes.js';
import { requireProgram } from './support/programs.js';
import { useRedisStore } from './support/redis.js';
import { useScriptedModel } from './support/scripted-model.js';

const model = useScriptedModel(
  {
    rules: [
      {
        match: { prompt: 'Distributed task' },
        reply: { text: 'Finding: task done', delayMs: 1500 },
        sequencePer: 'script',
      },
    ],
    default: { text: 'Finding: done' },
  },
  'baton-scaling-',
);

const hasRedis = requireProgram('redis-server');
const redis = useRedisStore();

const env = (extra: Record<string, string> = {}) =>
  model.home.cliEnv(model.url, {
    BATON_DATA_DIR: join(model.home.dir, 'data'),
    BATON_REDIS_URL: redis.server.url,
    BATON_WORKER_STALL_TIMEOUT_MS: '3000',
    BATON_PARALLEL_LIMIT: '8',
    ...extra,
  });

function workflowFile(name: string, agents: number): string {
  const path = join(model.home.dir, `${name}.yaml`);
  writeFileSync(
    path,
    `version: 1\nname: ${name}\nphases:\n  - { id: work, agents: [{ id: task, count: ${agents}, prompt: "Distributed task {{index}}" }] }\n`,
  );
  return path;
}

describe.runIf(hasRedis)('scale-out: Redis store and BullMQ workers (real redis-server, real claude agents)', () => {
  it('two workers share a 20-agent run; one is killed mid-run and every result still exists exactly once', async () => {
    const workers = [
      startCli(['worker', '--concurrency', '4'], { env: env() }),
      startCli(['worker', '--concurrency', '4'], { env: env() }),
    ];
    try {
      await waitFor(
        () => workers.every((w) => w.stderrSoFar().includes('ready')) || undefined,
        30_000,
        'workers to be ready',
      );
      const run = startCli(['run', workflowFile('shared', 20), '--json'], { env: env() });
      // Kill the first worker while an agent of it waits for the model's reply (1.5 s): its attempt is
      // stored by then. An agent only said to have started may not have its process (nor attempt) yet.
      const waitingForModel = async (): Promise<true | undefined> => {
        const output = workers[0]!.stderrSoFar();
        const finished = new Set([...output.matchAll(/✓ (task\.\d+)/g)].map((m) => m[1]));
        const started = [...output.matchAll(/▶ (task\.\d+)/g)].map((m) => m[1]!).filter((id) => !finished.has(id));
        const [run] = await redis.store.listRuns({ limit: 1 });
        if (!run || started.length === 0) return undefined;
        const agents = await redis.store.listAgents(run.id);
        const asking = agents.filter(
          (a) => started.includes(a.id) && model.server.messageRequests(a.sessionId).length > 0,
        );
        return asking.length > 0 || undefined;
      };
      await waitFor(waitingForModel, 60_000, 'an agent on worker 1 to wait for the model');
      workers[0]!.kill('SIGKILL');
      const { code, stdout, stderr } = await run.output;
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(code).toBe(0);
      const summary = JSON.parse(stdout) as RunSummary;
      expect(summary.totals).toMatchObject({ agents: 20, succeeded: 20, failed: 0 });

      const agents = await redis.store.listAgents(summary.runId);
      expect(agents.map((a) => a.id).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `task.${i}`).sort());
      // Each agent's fact was recorded once, whichever worker finished it.
      const facts = (await redis.store.listContextEntries({ runId: summary.runId })).entries.filter((e) => e.agentId);
      expect(facts.map((e) => e.agentId).sort()).toEqual(agents.map((a) => a.id).sort());
      // The agents the dead worker had were picked up by the other one: their first attempt is closed as lost.
      const attempts = await redis.store.listAttempts(summary.runId);
      const lost = attempts.filter((a) => a.error?.code === 'BATON_ORCHESTRATOR_LOST');
      expect(lost.length).toBeGreaterThanOrEqual(1);
      for (const attempt of lost)
        expect(attempts.some((a) => a.agentId === attempt.agentId && a.status === 'succeeded')).toBe(true);
      expect(attempts.filter((a) => a.status === 'succeeded')).toHaveLength(20);
      // Both workers did some of the work.
      expect(workers[1]!.stderrSoFar()).toMatch(/✓ task\.\d+/);
    } finally {
      for (const worker of workers) worker.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.output));
    }
    expect(processesWithEnv(model.home.dir)).toEqual([]);
  }, 180_000);

  it('shows agents whose jobs wait for a worker as queued, and running once a worker takes them', async () => {
    const run = startCli(['run', workflowFile('queued', 3)], { env: env() });
    let worker: ReturnType<typeof startCli> | undefined;
    try {
      const statusOf = async () => {
        const [latest] = await redis.store.listRuns({ limit: 1 });
        if (latest?.workflowName !== 'queued') return undefined;
        const result = await runCli(['status', latest.id, '--json'], { env: env() });
        return JSON.parse(result.stdout) as RunSummary;
      };
      const statuses = (summary: RunSummary) => summary.phases.flatMap((p) => p.agents.map((a) => a.status)).sort();
      // No worker yet: every agent's job waits in the queue.
      const queued = await waitFor(
        async () => {
          const summary = await statusOf();
          return summary && statuses(summary).join() === 'queued,queued,queued' ? summary : undefined;
        },
        60_000,
        'three queued agents',
      );
      const text = await runCli(['status', queued.runId], { env: env() });
      expect(text.stdout.match(/^ {4}queued {4}task\.\d/gm)).toHaveLength(3);
      const board = await runCli(['dashboard', queued.runId, '--once'], { env: env() });
      expect(board.stdout).toContain('Queue: 3');
      expect(board.stdout).toContain('Active: 0');
      // One worker, one job at a time: one agent runs while the others still wait.
      worker = startCli(['worker', '--concurrency', '1'], { env: env() });
      await waitFor(
        async () => {
          const summary = await statusOf();
          return summary && statuses(summary).join() === 'queued,queued,running' ? true : undefined;
        },
        60_000,
        'one running agent and two queued',
      );
      const { code, stdout, stderr } = await run.output;
      expect(code).toBe(0);
      expect(stdout + stderr).toMatch(/… task\.0 queued for a worker \(session /);
      expect((await statusOf())!.totals).toMatchObject({ agents: 3, succeeded: 3 });
    } finally {
      run.kill('SIGTERM');
      worker?.kill('SIGTERM');
      await Promise.all([run.output, worker?.output]);
    }
  }, 180_000);

  it('completes a run while redis-server restarts under it', async () => {
    const worker = startCli(['worker', '--concurrency', '3'], { env: env() });
    try {
      await waitFor(() => worker.stderrSoFar().includes('ready') || undefined, 30_000, 'worker to be ready');
      const run = startCli(['run', workflowFile('restart', 6), '--json'], { env: env() });
      await waitFor(() => (worker.stderrSoFar().match(/▶/g)?.length ?? 0) >= 2 || undefined, 60_000, 'agents to start');
      await redis.server.restart();
      const { code, stdout, stderr } = await run.output;
      expect(code).toBe(0);
      // The outage is a warning (once per outage), never ioredis' unhandled error event or a stack.
      for (const output of [stderr, worker.stderrSoFar()]) {
        expect(output).not.toContain('Unhandled error event');
        expect(output).not.toMatch(/\n\s+at /);
        expect(output.match(/warning: lost Redis/g)?.length ?? 0).toBeLessThanOrEqual(1);
      }
      const summary = JSON.parse(stdout) as RunSummary;
      expect(summary.totals).toMatchObject({ agents: 6, succeeded: 6 });
      expect((await redis.store.listAgents(summary.runId)).every((a) => a.status === 'succeeded')).toBe(true);
    } finally {
      worker.kill('SIGTERM');
      await worker.output;
    }
  }, 120_000);

  it('says which setting to fix when Redis cannot be reached', async () => {
    const unreachable = { BATON_REDIS_URL: 'redis://127.0.0.1:1' };
    for (const args of [['run', workflowFile('nowhere', 1)], ['worker']]) {
      const { code, stderr } = await runCli(args, { env: env(unreachable) });
      expect(code).toBe(1);
      expect(stderr).toMatch(
        /BATON_REDIS_UNAVAILABLE: Cannot use the Redis store at redis:\/\/127\.0\.0\.1:1 \(redis_url\)/,
      );
    }
    const { BATON_REDIS_URL: _url, ...withoutRedis } = env();
    const noRedis = await runCli(['worker'], { env: withoutRedis });
    expect(noRedis.stderr).toMatch(/baton worker needs redis_url/);
  });
});
