import { BatonError, ErrorCodes } from '../core/index.js';
import { addUsage, emptyUsage, type Store, type Usage } from '../store/index.js';

export const usageDimensions = ['model', 'workflow', 'tenant', 'run', 'phase'] as const;
export type UsageDimension = (typeof usageDimensions)[number];

export interface UsageRow extends Usage {
  /** The value of the dimension grouped by (a model, a workflow name, a run id, a phase id). */
  key: string;
  agents: number;
  costUsd: number;
}

export interface UsageReport {
  since: string;
  by: UsageDimension;
  rows: UsageRow[];
  totals: Omit<UsageRow, 'key'>;
}

const units: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `7d`, `12h`, `30m` … → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([smhdw])$/.exec(text.trim());
  if (!match)
    throw new BatonError(
      ErrorCodes.usage,
      `--since ${text} is not a duration: use a number and s, m, h, d or w, e.g. 7d.`,
    );
  return Number(match[1]) * units[match[2]!]!;
}

/** Tokens and cost of every agent of the runs created since `sinceMs`, grouped by one dimension. */
export async function usageReport(
  store: Store,
  options: { sinceMs: number; by: UsageDimension; now: number; tenant?: string },
): Promise<UsageReport> {
  const { tenant } = options;
  const runs = await store.listRuns({ since: options.now - options.sinceMs, ...(tenant ? { tenant } : {}) });
  const groups = new Map<string, Omit<UsageRow, 'key'>>();
  for (const run of runs) {
    for (const agent of await store.listAgents(run.id)) {
      const key = {
        model: agent.model ?? 'default',
        workflow: run.workflowName,
        tenant: run.tenant,
        run: run.id,
        phase: agent.phaseId,
      }[options.by];
      const group = groups.get(key) ?? { ...emptyUsage(), agents: 0, costUsd: 0 };
      groups.set(key, {
        ...addUsage(group, agent.usage),
        agents: group.agents + 1,
        costUsd: group.costUsd + agent.costUsd,
      });
    }
  }
  const rows = [...groups.entries()]
    .map(([key, totals]) => ({ key, ...totals }))
    .sort((a, b) => b.costUsd - a.costUsd || a.key.localeCompare(b.key));
  const totals = rows.reduce(
    (sum, r) => ({ ...addUsage(sum, r), agents: sum.agents + r.agents, costUsd: sum.costUsd + r.costUsd }),
    { ...emptyUsage(), agents: 0, costUsd: 0 },
  );
  return { since: new Date(options.now - options.sinceMs).toISOString(), by: options.by, rows, totals };
}

/** What a tenant's runs have cost since the start of the UTC day of `now`. */
export async function tenantSpendToday(
  store: Store,
  tenant: string,
  now: number,
): Promise<{ costUsd: number; tokens: number }> {
  const report = await usageReport(store, { sinceMs: now % 86_400_000, by: 'tenant', now });
  const row = report.rows.find((r) => r.key === tenant);
  return { costUsd: row?.costUsd ?? 0, tokens: row ? row.inputTokens + row.outputTokens : 0 };
}
