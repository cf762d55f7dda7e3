import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BatonError, checkTenantName, ErrorCodes, tenantNameSchema } from '../core/index.js';
import { ensureTokenFile, readTokenFile } from '../http/index.js';

/** A tenant's web dashboard token: it sees that tenant's runs only. */
export interface TenantToken {
  tenant: string;
  token: string;
}

const TOKEN_SUFFIX = '.token';

/** Where tenants' dashboard tokens are kept, one file each: `data_dir/dashboard-tokens/<tenant>.token`. */
export const tenantTokenDir = (dataDir: string): string => join(dataDir, 'dashboard-tokens');

/** The tenant's token file; a name that is no tenant's (`../x`) is refused before it becomes a path. */
export const tenantTokenFile = (dataDir: string, tenant: string): string =>
  join(tenantTokenDir(dataDir), `${checkTenantName(tenant, '--tenant')}${TOKEN_SUFFIX}`);

/** The tenant's token as kept, or a new one (mode 0600, in a 0700 folder) when there is none yet. */
export function ensureTenantToken(dataDir: string, tenant: string): TenantToken & { file: string } {
  const file = tenantTokenFile(dataDir, tenant);
  mkdirSync(tenantTokenDir(dataDir), { recursive: true, mode: 0o700 });
  const token = ensureTokenFile(file);
  if (token === undefined) throw new BatonError(ErrorCodes.usage, `Cannot read the dashboard token in ${file}.`);
  return { tenant, token, file };
}

/**
 * Every tenant's token as kept right now, read on each request: a token made while `baton serve` runs
 * works at once, and one whose file is deleted stops working at once. Files named like no tenant are skipped.
 */
export function readTenantTokens(dataDir: string): TenantToken[] {
  const dir = tenantTokenDir(dataDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const tenant = name.endsWith(TOKEN_SUFFIX) ? name.slice(0, -TOKEN_SUFFIX.length) : '';
    const token = tenantNameSchema.safeParse(tenant).success ? readTokenFile(join(dir, name)) : undefined;
    return token === undefined ? [] : [{ tenant, token }];
  });
}
