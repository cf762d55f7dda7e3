export { BatonMetrics, startMetricsServer } from './metrics.js';
