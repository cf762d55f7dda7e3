export { Dashboard } from './Dashboard.js';
export { watchRun } from './watch.js';
export { startWebDashboard } from './web.js';
export { ensureTenantToken, readTenantTokens } from './tenant-tokens.js';
export type { TenantToken } from './tenant-tokens.js';
