import { setTimeout as sleep } from 'node:timers/promises';
import {
  addUsage,
  BatonError,
  emptyUsage,
  ErrorCodes,
  estimatedCostOf,
  formatUsd,
  systemClock,
  type Clock,
  type Usage,
} from '../core/index.js';
import { listAgentsWithSpend } from '../orchestrator/index.js';
import { agentModel } from './agent-model.js';
import { batonCallPurposes, type BatonCallPurpose, type RunRecord, type Store } from '../store/index.js';

export const usageDimensions = ['model', 'workflow', 'tenant', 'run', 'phase'] as const;
export type UsageDimension = (typeof usageDimensions)[number];

export interface UsageRow extends Usage {
  /** The value of the dimension grouped by (a model, a workflow name, a run id, a phase id). */
  key: string;
  agents: number;
  costUsd: number;
  /** The part of `costUsd` Baton estimated: attempts cut off before Claude Code reported their cost. */
  estimatedCostUsd?: number;
}

/** Baton's own model calls (context summaries, re-ranking) of one run, for one purpose. */
export interface BatonCallUsageRow extends Usage {
  run: string;
  workflow: string;
  tenant: string;
  purpose: BatonCallPurpose;
  calls: number;
  costUsd: number;
}

export interface UsageReport {
  since: string;
  by: UsageDimension;
  /** The agents, grouped by `by`. */
  rows: UsageRow[];
  /** Baton's own model calls, not agents': per run and purpose, most expensive first, and their sum. */
  batonCalls: { rows: BatonCallUsageRow[]; totals: Usage & { calls: number; costUsd: number } };
  /** Everything spent: the agents' rows and Baton's own calls. */
  totals: Omit<UsageRow, 'key'> & { batonCalls: number };
}

const units: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `7d`, `12h`, `30m` … → milliseconds; `field` names the setting in the error (`--since`, or the API's `since`). */
export function parseDuration(text: string, field = '--since'): number {
  const match = /^(\d+)([smhdw])$/.exec(text.trim());
  if (!match)
    throw new BatonError(
      ErrorCodes.usage,
      `${field} ${text} is not a duration: use a number and s, m, h, d or w, e.g. 7d.`,
    );
  return Number(match[1]) * units[match[2]!]!;
}

/** The agents of `runs` grouped by one dimension, most expensive first. */
async function agentRows(store: Store, runs: RunRecord[], by: UsageDimension): Promise<UsageRow[]> {
  const groups = new Map<string, Omit<UsageRow, 'key'>>();
  for (const run of runs) {
    for (const agent of await listAgentsWithSpend(store, run.id)) {
      const key = {
        model: agentModel(run, agent),
        workflow: run.workflowName,
        tenant: run.tenant,
        run: run.id,
        phase: agent.phaseId,
      }[by];
      const group = groups.get(key) ?? { ...emptyUsage(), agents: 0, costUsd: 0 };
      groups.set(key, {
        ...addUsage(group, agent.usage),
        agents: group.agents + 1,
        costUsd: group.costUsd + agent.costUsd,
        ...estimatedCostOf([group, agent]),
      });
    }
  }
  return [...groups.entries()]
    .map(([key, totals]) => ({ key, ...totals }))
    .sort((a, b) => b.costUsd - a.costUsd || a.key.localeCompare(b.key));
}

/** Baton's own model calls of `runs`, one row per run and purpose, most expensive first. */
async function batonCallRows(store: Store, runs: RunRecord[]): Promise<BatonCallUsageRow[]> {
  const rows: BatonCallUsageRow[] = [];
  for (const run of runs) {
    const ofRun = await store.listBatonCalls(run.id);
    for (const purpose of batonCallPurposes) {
      const calls = ofRun.filter((c) => c.purpose === purpose);
      if (calls.length === 0) continue;
      const usage = calls.reduce((sum, c) => addUsage(sum, c.usage), emptyUsage());
      const costUsd = calls.reduce((sum, c) => sum + c.costUsd, 0);
      rows.push({
        run: run.id,
        workflow: run.workflowName,
        tenant: run.tenant,
        purpose,
        calls: calls.length,
        ...usage,
        costUsd,
      });
    }
  }
  return rows.sort((a, b) => b.costUsd - a.costUsd || a.run.localeCompare(b.run) || a.purpose.localeCompare(b.purpose));
}

/**
 * Tokens and cost of the runs created since `sinceMs`: every agent, grouped by one dimension, and
 * Baton's own model calls (summaries, re-ranking) per run; the totals count both.
 */
export async function usageReport(
  store: Store,
  options: { sinceMs: number; by: UsageDimension; now: number; tenant?: string },
): Promise<UsageReport> {
  const { tenant } = options;
  const runs = await store.listRuns({ since: options.now - options.sinceMs, ...(tenant ? { tenant } : {}) });
  const rows = await agentRows(store, runs, options.by);
  const ownRows = await batonCallRows(store, runs);
  const ownTotals = ownRows.reduce(
    (sum, r) => ({ ...addUsage(sum, r), calls: sum.calls + r.calls, costUsd: sum.costUsd + r.costUsd }),
    { ...emptyUsage(), calls: 0, costUsd: 0 },
  );
  const agentTotals = rows.reduce(
    (sum, r) => ({ ...addUsage(sum, r), agents: sum.agents + r.agents, costUsd: sum.costUsd + r.costUsd }),
    { ...emptyUsage(), agents: 0, costUsd: 0 },
  );
  return {
    since: new Date(options.now - options.sinceMs).toISOString(),
    by: options.by,
    rows,
    batonCalls: { rows: ownRows, totals: ownTotals },
    totals: {
      ...addUsage(agentTotals, ownTotals),
      agents: agentTotals.agents,
      batonCalls: ownTotals.calls,
      costUsd: agentTotals.costUsd + ownTotals.costUsd,
      ...estimatedCostOf(rows),
    },
  };
}

/** What a tenant's runs have cost since the start of the UTC day of `now`: agents and Baton's own calls. */
export async function tenantSpendToday(
  store: Store,
  tenant: string,
  now: number,
): Promise<{ costUsd: number; tokens: number }> {
  const { totals } = await usageReport(store, { sinceMs: now % 86_400_000, by: 'tenant', now, tenant });
  return { costUsd: totals.costUsd, tokens: totals.inputTokens + totals.outputTokens };
}

const msUntilUtcMidnight = (now: number): number => 86_400_000 - (now % 86_400_000);

export interface TenantQuotaOptions {
  tenant: string;
  /** The tenant's daily USD and token budgets (tenant_daily_budget_usd, tenant_daily_token_budget), if any. */
  dailyUsd?: number;
  dailyTokens?: number;
  /** When a budget is used up: fail at once, or wait for the next UTC day. */
  onQuota: 'wait' | 'fail';
  signal: AbortSignal;
  /** Told why the run waits, and for how long. */
  waiting?(message: string): void;
  /** The stored run a refusal leaves as it was, when the run is a `--resume` of it. */
  resuming?: string;
  clock?: Clock;
}

/**
 * What is left of a tenant's daily USD and token budgets, for a run about to start. When one is used
 * up it throws BATON_TENANT_BUDGET_EXCEEDED, or with `onQuota: wait` waits for the next UTC day.
 */
export async function remainingTenantQuota(
  store: Store,
  options: TenantQuotaOptions,
): Promise<{ budgetUsd?: number; budgetTokens?: number }> {
  const { tenant, dailyUsd, dailyTokens } = options;
  const clock = options.clock ?? systemClock;
  if (dailyUsd === undefined && dailyTokens === undefined) return {};
  for (;;) {
    const spent = await tenantSpendToday(store, tenant, clock.now());
    const overUsd = dailyUsd !== undefined && spent.costUsd >= dailyUsd;
    const overTokens = dailyTokens !== undefined && spent.tokens >= dailyTokens;
    if (!overUsd && !overTokens) {
      return {
        ...(dailyUsd !== undefined ? { budgetUsd: dailyUsd - spent.costUsd } : {}),
        ...(dailyTokens !== undefined ? { budgetTokens: dailyTokens - spent.tokens } : {}),
      };
    }
    const what = overUsd
      ? `${formatUsd(spent.costUsd)} of its $${dailyUsd} daily budget (tenant_daily_budget_usd)`
      : `${spent.tokens} of its ${dailyTokens} daily tokens (tenant_daily_token_budget)`;
    if (options.onQuota === 'fail') {
      throw new BatonError(
        ErrorCodes.tenantBudgetExceeded,
        `Tenant ${tenant} has used ${what}; ${leftAs(options.resuming)}. It resets at 00:00 UTC; --on-quota wait waits for it.`,
      );
    }
    const waitMs = msUntilUtcMidnight(clock.now());
    options.waiting?.(
      `Tenant ${tenant} has used ${what}; waiting ${Math.ceil(waitMs / 60_000)} min until 00:00 UTC (--on-quota wait).`,
    );
    await waitForQuota(waitMs + 1000, options);
  }
}

/** What a refusal leaves: nothing is stored before it, so a resumed run keeps every record as it was. */
const leftAs = (resuming: string | undefined): string =>
  resuming ? `run ${resuming} was not resumed and is left as it was` : 'the run was not started';

/** Sleeps until the quota resets; a cancel meanwhile ends the wait as BATON_CANCELLED, saying what became of the run. */
async function waitForQuota(ms: number, options: TenantQuotaOptions): Promise<void> {
  try {
    await sleep(ms, undefined, { signal: options.signal });
  } catch (error) {
    if (!options.signal.aborted) throw error;
    const reason: unknown = options.signal.reason;
    const why = reason instanceof Error ? reason.message : 'run cancelled';
    throw new BatonError(
      ErrorCodes.cancelled,
      `${why} while waiting for tenant ${options.tenant}'s daily quota; ${leftAs(options.resuming)}`,
      { cause: error },
    );
  }
}
