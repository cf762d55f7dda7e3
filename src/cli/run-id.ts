import type { BatonConfig } from '../config/index.js';
import { BatonError, checkTenantName, ErrorCodes } from '../core/index.js';
import { TenantScope, type Store } from '../store/index.js';

/** The shortest start of a run id taken for the whole: the 8 characters branch names and `baton approvals` show. */
const SHORTEST_PREFIX = 8;

/** What `--tenant` lets a command see: that tenant's runs, or every run without it. */
export const tenantScopeOf = (store: Store, tenant: string | undefined): TenantScope =>
  new TenantScope(store, tenant === undefined ? undefined : checkTenantName(tenant, '--tenant'));

/**
 * The run a user names: its id, or the start of one (`5c9b515c`, as in `baton/5c9b515c/<agent>`), among
 * the runs `--tenant` sees (another tenant's runs are neither matched nor named). A start that several
 * runs share is refused naming them; one that no run has is passed on unchanged, for the command to
 * report as an unknown run.
 */
export async function fullRunId(store: Store, given: string, tenant?: string): Promise<string> {
  const scope = tenantScopeOf(store, tenant);
  if (given.length < SHORTEST_PREFIX || (await scope.getRun(given))) return given;
  const matching = (await scope.listRuns()).filter((run) => run.id.startsWith(given)).map((run) => run.id);
  if (matching.length > 1)
    throw new BatonError(
      ErrorCodes.usage,
      `Run id ${given} is the start of ${matching.length} runs (${matching.join(', ')}); give more of it.`,
    );
  return matching[0] ?? given;
}

/** The run a command acts on, which must be one `--tenant` sees: another tenant's run is no run at all. */
export async function ownRunId(store: Store, given: string, tenant: string | undefined): Promise<string> {
  const id = await fullRunId(store, given, tenant);
  if (tenant !== undefined && !(await tenantScopeOf(store, tenant).getRun(id)))
    throw new BatonError(
      ErrorCodes.runNotFound,
      `No run with id ${given} for tenant ${tenant}. List them with: baton runs --tenant ${tenant}`,
    );
  return id;
}

/**
 * Where a command looked for runs: runs live in the data_dir of the directory `baton run` started in,
 * so a command given from elsewhere finds none, and should say where it looked.
 */
export const storeWhere = (config: BatonConfig): string =>
  config.redis_url ? 'in the Redis store (redis_url)' : `in ${config.data_dir}`;
