import { describe, expect, it } from 'vitest';
import { parsePrometheus, seriesValue } from '../../test/support/prometheus.js';
import { agentRecord } from '../../test/support/records.js';
import { useTempStore } from '../../test/support/temp-store.js';
import { BatonError, ErrorCodes, type Clock } from '../core/index.js';
import { currentRunStatus } from '../orchestrator/index.js';
import { parseWorkflow } from '../workflow/index.js';
import { StoreMetrics } from './store-metrics.js';
import { remainingTenantQuota, usageReport } from './usage.js';

const temp = useTempStore('baton-usage-');
const now = Date.UTC(2026, 10, 30, 12);
const usage = { inputTokens: 1_000, outputTokens: 200, cacheReadTokens: 0, cacheCreationTokens: 0 };

/** A run of `tenant` today: one agent that cost $1 and one summarizer call that cost $2. */
async function runOf(tenant: string, runId: string): Promise<void> {
  const run = { workflowName: 'w', workflow: {}, status: 'succeeded' as const, createdAt: now - 1_000 };
  await temp.store.saveRun({ ...run, id: runId, tenant });
  await temp.store.saveAgent(agentRecord({ runId, id: 'a', status: 'succeeded', costUsd: 1, usage }));
  const call = { runId, tenant, purpose: 'summary' as const, usage, costUsd: 2, startedAt: now - 500 };
  await temp.store.saveBatonCall({ ...call, id: `${runId}-summary`, finishedAt: now - 400 });
}

describe('usage of agents still running, or left running by a killed orchestrator', () => {
  it('counts what their attempts spent so far (their records add it up only when they finish), estimates marked', async () => {
    const run = { workflowName: 'w', workflow: {}, status: 'running' as const, createdAt: now - 1_000 };
    await temp.store.saveRun({ ...run, id: 'rk', tenant: 'team-k' });
    await temp.store.saveAgent(agentRecord({ runId: 'rk', id: 'a', status: 'running' }));
    const attempt = { runId: 'rk', agentId: 'a', resumed: false, startedAt: now - 900, durationMs: 100 };
    await temp.store.saveAttempt({ ...attempt, attempt: 1, status: 'failed', usage, costUsd: 0.4 });
    const cutOff = { ...attempt, attempt: 2, status: 'failed' as const, usage, costUsd: 0.1, estimatedCostUsd: 0.1 };
    await temp.store.saveAttempt(cutOff);
    await temp.store.saveAttempt({
      ...attempt,
      attempt: 3,
      status: 'running',
      usage: { ...usage, inputTokens: 0, outputTokens: 0 },
      costUsd: 0,
    });
    const report = await usageReport(temp.store, { sinceMs: 3_600_000, by: 'run', now, tenant: 'team-k' });
    expect(report.rows).toEqual([
      { key: 'rk', agents: 1, costUsd: 0.5, estimatedCostUsd: 0.1, ...usage, inputTokens: 2_000, outputTokens: 400 },
    ]);
    const quota = remainingTenantQuota(temp.store, {
      tenant: 'team-k',
      dailyUsd: 0.5,
      onQuota: 'fail',
      signal: new AbortController().signal,
      clock: { now: () => now },
    });
    await expect(quota).rejects.toMatchObject({ code: 'BATON_TENANT_BUDGET_EXCEEDED' });
  });
});

describe("usage of Baton's own model calls", () => {
  it('adds them to the totals, apart from the agents, per run and tenant', async () => {
    await runOf('team-a', 'ra');
    await runOf('team-b', 'rb');
    const report = await usageReport(temp.store, { sinceMs: 3_600_000, by: 'model', now, tenant: 'team-a' });
    expect(report.rows).toEqual([{ key: 'default', agents: 1, costUsd: 1, ...usage }]);
    expect(report.batonCalls.rows).toEqual([
      { run: 'ra', workflow: 'w', tenant: 'team-a', purpose: 'summary', calls: 1, costUsd: 2, ...usage },
    ]);
    expect(report.totals).toEqual({
      agents: 1,
      batonCalls: 1,
      costUsd: 3,
      inputTokens: 2_000,
      outputTokens: 400,
      cacheReadTokens: 0,
      cacheCreationTokens: 0,
    });
  });

  it("count against the tenant's daily budgets", async () => {
    await runOf('team-a', 'ra');
    const options = {
      tenant: 'team-a',
      onQuota: 'fail' as const,
      signal: new AbortController().signal,
      clock: { now: () => now } satisfies Clock,
    };
    expect(await remainingTenantQuota(temp.store, { ...options, dailyUsd: 5, dailyTokens: 10_000 })).toEqual({
      budgetUsd: 2,
      budgetTokens: 10_000 - 2_400,
    });
    await expect(remainingTenantQuota(temp.store, { ...options, dailyUsd: 2.5 })).rejects.toMatchObject({
      code: 'BATON_TENANT_BUDGET_EXCEEDED',
    });
  });

  it('a wait for the quota that is cancelled ends with the cancel, saying a resumed run is left as it was', async () => {
    await runOf('team-a', 'ra');
    const cancel = new AbortController();
    const waited = remainingTenantQuota(temp.store, {
      tenant: 'team-a',
      dailyTokens: 100,
      onQuota: 'wait',
      resuming: 'ra',
      signal: cancel.signal,
      // Once the run says it waits, its user presses Ctrl-C.
      waiting: () => cancel.abort(new BatonError(ErrorCodes.cancelled, 'run cancelled by SIGINT')),
      clock: { now: () => now },
    });
    await expect(waited).rejects.toMatchObject({
      code: ErrorCodes.cancelled,
      message:
        "run cancelled by SIGINT while waiting for tenant team-a's daily quota; run ra was not resumed and is left as it was",
    });
  });
});

describe('the model of an agent that never started', () => {
  it("is the one its stored workflow declared for it, in usage and metrics, not Claude Code's default", async () => {
    const workflow = parseWorkflow(
      `version: 1
name: declared
defaults: { model: opus }
phases:
  - id: work
    agents: [{ id: fast, model: haiku, prompt: a }, { id: deep, prompt: b }]
`,
      'declared.yaml',
    );
    const run = { workflowName: 'declared', workflow, status: 'cancelled' as const, createdAt: now - 1_000 };
    await temp.store.saveRun({ ...run, id: 'rd', tenant: 'default' });
    // Cancelled before they started: no model stored, yet they cost what their cut-off attempts used.
    for (const [id, costUsd] of [
      ['fast', 0.25],
      ['deep', 0.5],
    ] as const)
      await temp.store.saveAgent(agentRecord({ runId: 'rd', id, phaseId: 'work', status: 'cancelled', costUsd }));
    const report = await usageReport(temp.store, { sinceMs: 3_600_000, by: 'model', now });
    expect(report.rows.map((r) => [r.key, r.costUsd])).toEqual([
      ['opus', 0.5],
      ['haiku', 0.25],
    ]);
    const families = parsePrometheus(await new StoreMetrics(temp.store, currentRunStatus).text());
    expect(seriesValue(families, 'baton_cost_usd_total', { model: 'haiku' })).toBe(0.25);
    expect(seriesValue(families, 'baton_cost_usd_total', { model: 'opus' })).toBe(0.5);
    expect(seriesValue(families, 'baton_cost_usd_total', { model: 'default' })).toBe(0);
  });
});
