import type { BatonConfig } from '../config/index.js';
import { BatonError, checkTenantName, ErrorCodes } from '../core/index.js';
import { TenantScope, type Store } from '../store/index.js';

/** What `--tenant` lets a command see: that tenant's runs, or every run without it. */
export const tenantScopeOf = (store: Store, tenant: string | undefined): TenantScope =>
  new TenantScope(store, tenant === undefined ? undefined : checkTenantName(tenant, '--tenant'));

/** The run a user names, by its id or the start of one, among the runs `--tenant` sees (TenantScope.resolveRunId). */
export const fullRunId = (store: Store, given: string, tenant?: string): Promise<string> =>
  tenantScopeOf(store, tenant).resolveRunId(given);

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
