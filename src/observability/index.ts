export { BatonMetrics, startMetricsServer } from './metrics.js';
export { parseDuration, remainingTenantQuota, usageDimensions, usageReport } from './usage.js';
export type { UsageDimension, UsageReport } from './usage.js';
export { createLogger, logEvents } from './logger.js';
export type { LoggerOptions } from './logger.js';
export { redactingStore } from './redact.js';
export { REDACTED, SecretRedactor } from '../core/index.js';
export { AuditTrail, currentActor } from './audit.js';
