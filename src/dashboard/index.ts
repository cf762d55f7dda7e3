export { Dashboard } from './Dashboard.js';
export { watchRun } from './watch.js';
export { startWebDashboard } from './web.js';
