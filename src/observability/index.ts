export { BatonMetrics, startMetricsServer } from './metrics.js';
export { parseDuration, remainingTenantQuota, tenantSpendToday, usageDimensions, usageReport } from './usage.js';
export type { TenantQuotaOptions, UsageDimension, UsageReport, UsageRow } from './usage.js';
export { createLogger, logEvents } from './logger.js';
export type { LoggerOptions } from './logger.js';
export { REDACTED, redactingStore, SecretRedactor } from './redact.js';
export { AuditTrail, currentActor } from './audit.js';
export type { AuditOptions } from './audit.js';
