import { BatonError, checkTenantName, ErrorCodes } from '../core/index.js';
import {
  agentTimeline,
  parseDuration,
  type AgentTimeline,
  usageDimensions,
  usageReport,
  type UsageDimension,
  type UsageReport,
} from '../observability/index.js';
import { summarizeRun, type RunSummary } from '../orchestrator/index.js';
import { TenantScope, type RunRecord, type Store } from '../store/index.js';
import { openConfiguredStore, resolveRunConfig, type ConfigOption } from './setup.js';

/** Where to read runs from: a store you opened, or the one the config names (opened and closed per call). */
export interface StoreAccess {
  store?: Store;
  config?: ConfigOption;
  dataDir?: string;
  cwd?: string;
  /** Only this tenant's runs (every tenant's without it): another tenant's run reads as no run at all. */
  tenant?: string;
}

/** The store, and what of it `tenant` sees; a tenant name that is no tenant's is refused before anything is read. */
async function withAccess<T>(access: StoreAccess, fn: (store: Store, scope: TenantScope) => Promise<T>): Promise<T> {
  const tenant = access.tenant === undefined ? undefined : checkTenantName(access.tenant, 'tenant');
  if (access.store) return fn(access.store, new TenantScope(access.store, tenant));
  const { config } = resolveRunConfig(access.config, access.dataDir, access.cwd ?? process.cwd());
  // Only reads: a data dir without a store reads as empty, and no store is created there.
  const store = await openConfiguredStore(config, { create: false });
  try {
    return await fn(store, new TenantScope(store, tenant));
  } finally {
    await store.close();
  }
}

/** The full id of a run `scope` sees, given its id or a unique start of one (8 characters or more). */
async function knownRunId(scope: TenantScope, given: string): Promise<string> {
  const runId = await scope.resolveRunId(given);
  if (!(await scope.getRun(runId)))
    throw new BatonError(
      ErrorCodes.runNotFound,
      `No run with id ${given}${scope.tenant === undefined ? '' : ` for tenant ${scope.tenant}`}. List runs with listRuns() or: baton runs`,
    );
  return runId;
}

/** Stored runs, newest first (at most `limit`, default 20). */
export function listRuns(access: StoreAccess & { limit?: number } = {}): Promise<RunRecord[]> {
  return withAccess(access, (_store, scope) => scope.listRuns(access.limit ?? 20));
}

/** A stored run with its phases and agents, as `baton status` shows it; `runId` may be a unique start of the id. */
export function getRun(runId: string, access: StoreAccess = {}): Promise<RunSummary> {
  return withAccess(access, async (store, scope) => summarizeRun(store, await knownRunId(scope, runId)));
}

/**
 * One agent's timeline, as `baton status <run> --agent <id> --json` prints it: its totals, inherited
 * context, and each attempt with its tool calls (name, server, turn, start, duration, ok or error,
 * redacted previews, permission decision). Rejects with BATON_RUN_NOT_FOUND or BATON_AGENT_NOT_FOUND.
 */
export function getAgentTimeline(runId: string, agentId: string, access: StoreAccess = {}): Promise<AgentTimeline> {
  return withAccess(access, async (store, scope) => agentTimeline(store, await knownRunId(scope, runId), agentId));
}

/**
 * Tokens and cost since `since` ago (e.g. "24h", "7d"; default 7d), grouped by `by` (default model).
 * Async so that bad arguments reject the promise, as every other error does, instead of throwing at the call.
 */
export async function usage(
  access: StoreAccess & { since?: string; by?: UsageDimension; now?: number } = {},
): Promise<UsageReport> {
  const by = access.by ?? 'model';
  if (!usageDimensions.includes(by))
    throw new BatonError(ErrorCodes.usage, `by: ${String(by)} is not one of: ${usageDimensions.join(', ')}.`);
  const sinceMs = parseDuration(access.since ?? '7d', 'since');
  return withAccess(access, (store, { tenant }) =>
    usageReport(store, { sinceMs, by, now: access.now ?? Date.now(), ...(tenant !== undefined ? { tenant } : {}) }),
  );
}
