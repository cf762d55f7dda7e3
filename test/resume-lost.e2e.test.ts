// A run whose orchestrator was SIGKILLed while agents ran, resumed and stopped (by its budget) before
// two of those agents could run again: their attempts must not stay `running` forever. The resumed
// orchestrator closes every attempt the dead one left running at its start, as lost, with one span each.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentTimeline } from '../src/observability/index.js';
import { traceIdOf } from '../src/observability/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { openRedisStore, openSqliteStore } from '../src/store/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { killOrchestratorWhen, newestRunAsking } from './support/kill-orchestrator.js';
import { spanAttribute as attr, startOtlpReceiver } from './support/otlp-receiver.js';
import { requireProgram } from './support/programs.js';
import { useRedisServer } from './support/redis.js';
import { useScriptedModel } from './support/scripted-model.js';

/** Each agent's first answer streams slowly, so the orchestrator is killed while all three ask. */
const slowThenFast = (prompt: string, usage: { input_tokens: number; output_tokens: number }) => ({
  match: { prompt },
  replies: [
    { text: `${prompt}: done`, chunkDelayMs: 5_000 },
    { text: `${prompt}: done`, usage },
  ],
  sequencePer: 'script' as const,
});

const cheap = { input_tokens: 100, output_tokens: 10 };
const model = useScriptedModel(
  {
    rules: [
      // The payer's answer, on resume, costs more than the whole run's budget.
      slowThenFast('Pay the invoices', { input_tokens: 1_000_000, output_tokens: 100 }),
      slowThenFast('Index the ledger', cheap),
      slowThenFast('Render the reports', cheap),
      // Long enough that the resumed orchestrator starts while the worker still runs it: the pause is
      // between chunks, about 15 s in all (it was 75 s at 15 s a chunk).
      {
        match: { prompt: 'Audit the vendors' },
        reply: { text: 'Audited.', usage: cheap, chunkDelayMs: 3_000 },
        sequencePer: 'script' as const,
      },
    ],
    default: { text: 'OK' },
  },
  'baton-resume-lost-',
);

describe('attempts a SIGKILLed orchestrator left running (real claude, scripted model)', () => {
  it('are closed as lost when the run is resumed, even when it stops before their agents run again', async () => {
    const path = join(model.home.dir, 'lost.yaml');
    writeFileSync(
      path,
      `version: 1
name: lost
budgetUsd: 1
defaults: { model: claude-sonnet-4-5 }
phases:
  - id: work
    agents:
      - { id: payer, prompt: Pay the invoices }
      - { id: indexer, prompt: Index the ledger }
      - { id: renderer, prompt: Render the reports }
`,
    );
    const otlp = await startOtlpReceiver();
    const dataDir = join(model.home.dir, 'data');
    const env = (parallel: string) =>
      model.home.cliEnv(model.url, {
        BATON_DATA_DIR: dataDir,
        BATON_PARALLEL_LIMIT: parallel,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      });
    const store = openSqliteStore({ dataDir });
    const orchestrator = startCli(['run', path, '--json'], { env: env('3') });
    try {
      const agents = ['payer', 'indexer', 'renderer'];
      const runId = await killOrchestratorWhen(
        orchestrator,
        () => newestRunAsking(store, model, agents),
        'all three agents to ask the model',
      );
      const sessions = await Promise.all(agents.map(async (id) => (await store.getAgent(runId, id))!.sessionId));
      const asked = sessions.map((s) => model.server.messageRequests(s).length);
      const running = await store.listAttempts(runId);
      expect(running.map((a) => `${a.agentId}:${a.status}`).sort()).toEqual([
        'indexer:running',
        'payer:running',
        'renderer:running',
      ]);

      // One slot now: the payer takes it and spends past the budget, which stops the run while the
      // indexer and the renderer still wait for the slot.
      const resumed = await runCli(['run', '--resume', runId, '--json'], { env: env('1') });
      expect(resumed.stderr).not.toMatch(/\n\s+at /);
      const summary = JSON.parse(resumed.stdout) as RunSummary;
      expect(summary.status).toBe('failed');
      expect((await store.getRun(runId))?.error?.code).toBe('BATON_RUN_BUDGET_EXCEEDED');
      const waited = ['indexer', 'renderer'];
      expect(summary.phases[0]!.agents.filter((a) => waited.includes(a.id)).map((a) => a.status)).toEqual([
        'cancelled',
        'cancelled',
      ]);
      // They did not run again: no new request reached the model for them.
      expect(sessions.map((s) => model.server.messageRequests(s).length).slice(1)).toEqual(asked.slice(1));

      const status = await runCli(['status', runId, '--json'], { env: env('1') });
      expect((JSON.parse(status.stdout) as RunSummary).status).toBe('failed');
      for (const id of agents) {
        const out = await runCli(['status', runId, '--agent', id, '--json'], { env: env('1') });
        const timeline = JSON.parse(out.stdout) as AgentTimeline;
        expect(timeline.attempts.filter((a) => a.status === 'running')).toEqual([]);
        expect(timeline.attempts[0]).toMatchObject({ attempt: 1, status: 'failed' });
        expect(timeline.attempts[0]!.error?.code).toBe('BATON_ORCHESTRATOR_LOST');
      }
      expect((await store.listAttempts(runId)).filter((a) => a.status === 'running')).toEqual([]);

      // One span per lost attempt, in the run's trace, under the resumed run's span.
      const run = otlp.spans.find((s) => s.name === 'baton.run' && attr(s, 'baton.resumed') === true)!;
      const lost = otlp.spans.filter((s) => attr(s, 'baton.attempt.lost') === true);
      expect(lost).toHaveLength(3);
      for (const span of lost) {
        expect(span).toMatchObject({ name: 'baton.attempt 1', traceId: traceIdOf(runId), parentSpanId: run.spanId });
        expect(attr(span, 'baton.error.code')).toBe('BATON_ORCHESTRATOR_LOST');
      }
    } finally {
      orchestrator.kill('SIGKILL');
      await store.close();
      await otlp.close();
    }
  }, 300_000);
});

describe.runIf(requireProgram('redis-server'))(
  'an attempt a live baton worker holds (real redis-server, claude)',
  () => {
    const redis = useRedisServer();

    it('is not closed as lost when the run is resumed: the worker ends it, and the agent does not run again', async () => {
      const path = join(model.home.dir, 'held.yaml');
      writeFileSync(
        path,
        'version: 1\nname: held\ndefaults: { model: claude-sonnet-4-5 }\nphases:\n  - { id: audit, agents: [{ id: auditor, prompt: Audit the vendors }] }\n',
      );
      const otlp = await startOtlpReceiver();
      const env = model.home.cliEnv(model.url, {
        BATON_DATA_DIR: join(model.home.dir, 'data-redis'),
        BATON_REDIS_URL: redis.server.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      });
      const worker = startCli(['worker', '--concurrency', '1'], { env });
      const orchestrator = startCli(['run', path, '--json'], { env });
      const store = await openRedisStore({ url: redis.server.url });
      try {
        await waitFor(() => worker.stderrSoFar().includes('ready') || undefined, 60_000, 'the worker to be ready');
        const runId = await killOrchestratorWhen(
          orchestrator,
          () => newestRunAsking(store, model, ['auditor']),
          'the worker agent to ask the model',
        );
        const { sessionId } = (await store.getAgent(runId, 'auditor'))!;
        expect((await store.listAttempts(runId, 'auditor')).map((a) => a.status)).toEqual(['running']);

        const resumed = await runCli(['run', '--resume', runId, '--json'], { env });
        expect(resumed.stderr).not.toMatch(/\n\s+at /);
        expect((JSON.parse(resumed.stdout) as RunSummary).status).toBe('succeeded');
        // The worker's attempt was never taken for lost: it ended as the worker said, and ran once.
        const attempts = await store.listAttempts(runId, 'auditor');
        expect(attempts.map((a) => `${a.attempt}:${a.status}:${a.error?.code ?? ''}`)).toEqual(['1:succeeded:']);
        expect(model.server.messageRequests(sessionId)).toHaveLength(1);
        expect(otlp.spans.filter((s) => attr(s, 'baton.attempt.lost') === true)).toEqual([]);
        // The worker's spans hang from the agent span its job named, which the killed orchestrator never
        // exported: the resumed one exports a span of that id, so no span of the trace is an orphan.
        await waitFor(
          () => otlp.spans.some((s) => s.name === 'baton.attempt 1') || undefined,
          30_000,
          "the worker's attempt span",
        );
        const ids = new Set(otlp.spans.map((s) => s.spanId));
        const orphans = otlp.spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId));
        expect(orphans.map((s) => s.name)).toEqual([]);
      } finally {
        orchestrator.kill('SIGKILL');
        worker.kill('SIGTERM');
        await worker.output;
        await store.close();
        await otlp.close();
      }
    }, 300_000);
  },
);
