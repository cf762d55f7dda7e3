export { BatonMetrics, startMetricsServer } from './metrics.js';
export { parseDuration, remainingTenantQuota, usageDimensions, usageReport } from './usage.js';
export type { UsageDimension } from './usage.js';
export { createLogger, logEvents } from './logger.js';
export { REDACTED, redactingStore, SecretRedactor } from './redact.js';
export { AuditTrail } from './audit.js';
export { agentTimeline, formatTimeline, pruneToolCalls } from './timeline.js';
export type { AgentTimeline, AttemptTimeline } from './timeline.js';
