export { BatonMetrics, startMetricsServer } from './metrics.js';
export { parseDuration, usageDimensions, usageReport } from './usage.js';
export type { UsageDimension, UsageReport, UsageRow } from './usage.js';
