export { bar, Dashboard } from './Dashboard.js';
export { dashboardSnapshot } from './snapshot.js';
export type { DashboardSnapshot } from './snapshot.js';
export { watchRun } from './watch.js';
export type { WatchOptions } from './watch.js';
export { startWebDashboard } from './web.js';
export type { WebDashboardOptions } from './web.js';
