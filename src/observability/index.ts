export { BatonMetrics, metricsAccess, metricsTokenFile, startMetricsServer } from './metrics.js';
export type { MetricsSource } from './metrics.js';
export { StoreMetrics } from './store-metrics.js';
export { parseDuration, remainingTenantQuota, usageDimensions, usageReport } from './usage.js';
export type { UsageDimension, UsageReport } from './usage.js';
export { createLogger, logEvents } from './logger.js';
export { redactingStore } from './redact.js';
export { REDACTED, SecretRedactor } from '../core/index.js';
export { auditActions, AuditTrail, currentActor } from './audit.js';
export type { AuditAction } from './audit.js';
export {
  agentTimeline,
  formatTimeline,
  formatToolCalls,
  pruneToolCalls,
  runToolCalls,
  toolCallStatuses,
} from './timeline.js';
export type { AgentTimeline, ToolCallFilter } from './timeline.js';
export { RunTracing, traceIdOf } from './tracing.js';
