/**
 * Baton as a library: `import { defineWorkflow, run } from 'baton'`. The CLI is built on the same
 * functions; docs/api.md shows them in use.
 */
export { defineWorkflow, getAgentTimeline, getRun, listRuns, resume, run, usage } from './api/index.js';
export type {
  BatonEvent,
  ConfigOption,
  DefineWorkflowOptions,
  RunHandle,
  RunOptions,
  RunResult,
  StoreAccess,
  WorkflowInput,
} from './api/index.js';
export { BatonError, ErrorCodes, isBatonError } from './core/index.js';
export type { ErrorCode } from './core/index.js';
export type { BatonConfig, BatonConfigInput } from './config/index.js';
export { openStore } from './store/index.js';
export type { RunRecord, Store } from './store/index.js';
export type { AgentSummary, PhaseSummary, RunEventMap, RunSummary } from './orchestrator/index.js';
export type { AgentTimeline, UsageDimension, UsageReport } from './observability/index.js';
export type { Workflow } from './workflow/index.js';
export { startModelServer, loadScript } from './model-server/index.js';
