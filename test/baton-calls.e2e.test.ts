import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { traceIdOf, type UsageReport } from '../src/observability/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { killOrchestratorWhen, newestRunAsking } from './support/kill-orchestrator.js';
import { agentProcessesWithEnv } from './support/processes.js';
import { spanAttribute as attr, spanMs, startOtlpReceiver } from './support/otlp-receiver.js';
import { parsePrometheus, seriesValue } from './support/prometheus.js';
import { useScriptedModel } from './support/scripted-model.js';
import { scrapeServe } from './support/serve-metrics.js';

/** What the scripted model reports for the summarizer's call: far more than any agent here. */
const summaryUsage = { input_tokens: 200_000, output_tokens: 1_000 };
const agentUsage = { input_tokens: 1_000, output_tokens: 100 };

const model = useScriptedModel(
  {
    rules: [
      // The summary of phase slowsurvey streams slowly the first time: the orchestrator is killed mid-call
      // (first: its prompt names the tasks it summarizes for).
      {
        match: { prompt: 'Summarize the context of phase slowsurvey' },
        replies: [
          { text: 'Survey: payments retry twice.', usage: summaryUsage, chunkDelayMs: 5_000 },
          { text: 'Survey: payments retry twice.', usage: summaryUsage },
        ],
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Summarize the context of phase survey' },
        reply: { text: 'Survey: invoices live in ledger_v2; PDF rendering is slow.', usage: summaryUsage },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Survey the billing code' },
        reply: {
          text: 'Surveyed.\nDecision: invoices are stored in the ledger_v2 table\nFinding: the PDF renderer is slow',
          usage: agentUsage,
        },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Plan the invoice export' },
        reply: { text: 'Planned.', usage: agentUsage },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Survey the payments code' },
        reply: { text: 'Surveyed.\nDecision: payments retry twice\nFinding: the gateway is slow', usage: agentUsage },
        sequencePer: 'script',
      },
      // Streams slowly the first time, so the orchestrator can be killed while the builder is asking.
      {
        match: { prompt: 'Build the invoice export' },
        replies: [
          { text: 'Built the export job.', usage: agentUsage, chunkDelayMs: 5_000 },
          { text: 'Built the export job.', usage: agentUsage },
        ],
        sequencePer: 'script',
      },
    ],
    default: { text: 'OK' },
  },
  'baton-own-calls-',
);

/** A survey phase, then one agent that inherits its summary, written by a summarizer agent. */
function workflowFile(name: string, task: string, budget = ''): string {
  const path = join(model.home.dir, `${name}.yaml`);
  writeFileSync(
    path,
    `version: 1
name: ${name}
${budget}defaults: { model: claude-sonnet-4-5 }
context: { summarizer: agent }
phases:
  - { id: survey, agents: [{ id: surveyor, prompt: Survey the billing code }] }
  - { id: build, dependsOn: [survey], inherit: summary, agents: [{ id: builder, prompt: ${task} }] }
`,
  );
  return path;
}

const env = (dataDir: string, extra: Record<string, string> = {}) =>
  model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, dataDir), ...extra });

describe("Baton's own model calls (real claude summarizer, scripted model)", () => {
  it("are stored with the run: baton usage (per run and in the total), status and /metrics show the summarizer's spend, each tenant only its own", async () => {
    const path = workflowFile('summarized', 'Plan the invoice export');
    const run = await runCli(['run', path, '--json', '--tenant', 'team-a'], { env: env('usage') });
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as RunSummary;
    const builder = summary.phases.flatMap((p) => p.agents).find((a) => a.id === 'builder')!;
    expect(model.server.messageRequests(builder.sessionId)[0]!.view!.system).toContain('invoices live in ledger_v2');

    const store = openSqliteStore({ dataDir: join(model.home.dir, 'usage') });
    const calls = await store.listBatonCalls(summary.runId).finally(() => store.close());
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call).toMatchObject({
      runId: summary.runId,
      tenant: 'team-a',
      purpose: 'summary',
      model: 'claude-sonnet-4-5',
    });
    expect([call!.usage.inputTokens, call!.usage.outputTokens]).toEqual([200_000, 1_000]);
    expect(call!.costUsd).toBeGreaterThan(0);
    expect(call!.finishedAt).toBeGreaterThanOrEqual(call!.startedAt);
    const agentsUsd = summary.phases.flatMap((p) => p.agents).reduce((sum, a) => sum + a.costUsd, 0);
    expect(summary.batonCalls).toMatchObject({ calls: 1, inputTokens: 200_000, byPurpose: { summary: { calls: 1 } } });
    expect(summary.totals.costUsd).toBeCloseTo(agentsUsd + call!.costUsd, 10);

    const usage = async (...args: string[]): Promise<UsageReport> =>
      JSON.parse((await runCli(['usage', '--json', ...args], { env: env('usage') })).stdout) as UsageReport;
    const own = await usage('--tenant', 'team-a', '--by', 'run');
    expect(own.batonCalls.rows).toEqual([
      expect.objectContaining({ run: summary.runId, tenant: 'team-a', purpose: 'summary', calls: 1 }),
    ]);
    expect(own.batonCalls.rows[0]!.costUsd).toBeCloseTo(call!.costUsd, 10);
    expect(own.batonCalls.totals).toMatchObject({ calls: 1, inputTokens: 200_000, outputTokens: 1_000 });
    expect(own.rows.map((r) => [r.key, r.agents])).toEqual([[summary.runId, 2]]);
    expect(own.totals).toMatchObject({ agents: 2, batonCalls: 1 });
    expect(own.totals.costUsd).toBeCloseTo(summary.totals.costUsd, 10);
    const other = await usage('--tenant', 'team-b');
    expect(other.batonCalls).toEqual({
      rows: [],
      totals: { calls: 0, costUsd: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 },
    });
    expect(other.totals.costUsd).toBe(0);
    const text = (await runCli(['usage', '--tenant', 'team-a'], { env: env('usage') })).stdout;
    expect(text).toContain("Baton's own model calls");
    expect(text).toContain(`${summary.runId} summary`);

    const status = await runCli(['status', summary.runId, '--tenant', 'team-a'], { env: env('usage') });
    expect(status.stdout).toContain("Baton's own model calls: 1 (summary 1×");

    const families = parsePrometheus(await scrapeServe(env('usage')));
    const ownSeries = { purpose: 'summary', model: 'claude-sonnet-4-5' };
    expect(seriesValue(families, 'baton_cost_usd_total', ownSeries)).toBeCloseTo(call!.costUsd, 10);
    expect(seriesValue(families, 'baton_tokens_total', { purpose: 'summary', kind: 'input' })).toBe(200_000);
    expect(seriesValue(families, 'baton_tokens_total', { purpose: 'summary', kind: 'output' })).toBe(1_000);
    // Agents' series carry no purpose; together the series add up to what the run cost.
    expect(seriesValue(families, 'baton_cost_usd_total')).toBeCloseTo(summary.totals.costUsd, 10);
    const labels = families.find((f) => f.name === 'baton_cost_usd_total')!.metrics.map((m) => m.labels);
    expect(labels).toContainEqual({ model: 'claude-sonnet-4-5' });
    expect(JSON.stringify(families)).not.toContain(summary.runId);
  }, 180_000);

  it('a summarizer call the SIGKILLed orchestrator was waiting for is recorded when it starts, and closed as lost at resume', async () => {
    const path = join(model.home.dir, 'lost-summary.yaml');
    writeFileSync(
      path,
      `version: 1
name: lost-summary
context: { summarizer: agent }
phases:
  - { id: slowsurvey, agents: [{ id: surveyor, prompt: Survey the payments code }] }
  - { id: build, dependsOn: [slowsurvey], inherit: summary, agents: [{ id: builder, prompt: Plan the invoice export }] }
`,
    );
    const store = openSqliteStore({ dataDir: join(model.home.dir, 'lost') });
    const orchestrator = startCli(['run', path, '--json'], { env: env('lost') });
    try {
      const asked = () =>
        model.server
          .messageRequests()
          .find((r) => r.view?.prompt.includes('Summarize the context of phase slowsurvey'));
      const summarizerSession = await killOrchestratorWhen(
        orchestrator,
        () => asked()?.sessionId,
        'the summarizer to ask the model',
      );
      const [run] = await store.listRuns({ limit: 1 });
      // Its one-turn claude died with it (so there is no process to stop at resume).
      await waitFor(() => agentProcessesWithEnv(model.home.dir).length === 0 || undefined, 20_000, 'no agent process');
      // Recorded when it started: the call is known though its process never reported what it spent.
      expect(await store.listBatonCalls(run!.id)).toEqual([
        expect.objectContaining({ id: summarizerSession, purpose: 'summary', status: 'running', costUsd: 0 }),
      ]);
      const resumed = await runCli(['run', '--resume', run!.id, '--json'], { env: env('lost') });
      expect(resumed.stderr).not.toMatch(/\n\s+at /);
      expect((JSON.parse(resumed.stdout) as RunSummary).status).toBe('succeeded');
      const calls = await store.listBatonCalls(run!.id);
      expect(calls.map((c) => [c.id === summarizerSession, c.status, c.error?.code])).toEqual([
        [true, 'lost', 'BATON_ORCHESTRATOR_LOST'],
        [false, undefined, undefined],
      ]);
      expect(calls[0]!.finishedAt).toBeGreaterThanOrEqual(calls[0]!.startedAt);
      expect(calls[1]!.usage.inputTokens).toBe(200_000);
    } finally {
      orchestrator.kill('SIGKILL');
      await store.close();
    }
  }, 240_000);

  it("a run resumed after its orchestrator was SIGKILLed keeps the summarizer's spend in its budget, and traces the attempt it lost", async () => {
    // The survey and the summary fit the budget; the builder's answer on top of them does not.
    const path = workflowFile('resumed', 'Build the invoice export', 'budgetUsd: 0.622\n');
    const otlp = await startOtlpReceiver();
    const store = openSqliteStore({ dataDir: join(model.home.dir, 'resume') });
    const traced = env('resume', { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint });
    const orchestrator = startCli(['run', path, '--json'], { env: traced });
    try {
      const runId = await killOrchestratorWhen(
        orchestrator,
        async () => {
          const asking = await newestRunAsking(store, model, ['builder']);
          return asking && (await store.listBatonCalls(asking)).length === 1 ? asking : undefined;
        },
        'the builder to ask the model, after the summary',
      );
      const [summaryCall] = await store.listBatonCalls(runId);

      const resumed = await runCli(['run', '--resume', runId, '--json'], { env: traced });
      expect(resumed.stderr).not.toMatch(/\n\s+at /);
      const summary = JSON.parse(resumed.stdout) as RunSummary;
      // The summary was stored, not asked for again; its spend counted from the resumed run's start.
      expect(await store.listBatonCalls(runId)).toEqual([summaryCall]);
      // It failed once in a full suite with no error at all (not reproduced alone): say how it ended.
      const builderSession = (await store.getAgent(runId, 'builder'))?.sessionId ?? '';
      const ended = [
        `builder's model requests: ${model.server.messageRequests(builderSession).length}`,
        `attempts: ${JSON.stringify(await store.listAttempts(runId))}`,
        resumed.stderr,
        JSON.stringify(summary, null, 1),
      ].join('\n');
      expect((await store.getRun(runId))?.error?.code, ended).toBe('BATON_RUN_BUDGET_EXCEEDED');
      expect(summary.status).toBe('failed');
      const exceeded = (await store.listAuditEvents({ action: 'budget.exceeded' })).filter((e) => e.target === runId);
      const attemptsUsd = (await store.listAttempts(runId)).reduce((sum, a) => sum + a.costUsd, 0);
      expect(exceeded).toHaveLength(1);
      expect(exceeded[0]!.details.spentUsd).toBeCloseTo(attemptsUsd + summaryCall!.costUsd, 10);

      // The attempt the killed orchestrator left: one span, ERROR, under the resumed run's span (closed at its start).
      const lostAttempt = (await store.listAttempts(runId, 'builder')).find((a) => a.attempt === 1)!;
      expect(lostAttempt.error?.code).toBe('BATON_ORCHESTRATOR_LOST');
      const run = otlp.spans.find((s) => s.name === 'baton.run' && attr(s, 'baton.resumed') === true)!;
      const lost = otlp.spans.filter((s) => attr(s, 'baton.attempt.lost') === true);
      expect(lost).toHaveLength(1);
      expect(lost[0]).toMatchObject({
        name: 'baton.attempt 1',
        traceId: traceIdOf(runId),
        parentSpanId: run.spanId,
        status: { code: 2 },
      });
      expect(attr(lost[0]!, 'baton.error.code')).toBe('BATON_ORCHESTRATOR_LOST');
      expect([spanMs(lost[0]!.startTimeUnixNano), spanMs(lost[0]!.endTimeUnixNano)]).toEqual([
        lostAttempt.startedAt,
        lostAttempt.finishedAt,
      ]);
      expect(new Set(otlp.spans.map((s) => s.traceId))).toEqual(new Set([traceIdOf(runId)]));
    } finally {
      orchestrator.kill('SIGKILL');
      await store.close();
      await otlp.close();
    }
  }, 240_000);
});
