export { defineWorkflow } from './workflow.js';
export type { DefineWorkflowOptions, WorkflowInput } from './workflow.js';
export { resume, run } from './run.js';
export type { RunHandle, RunOptions, RunResult } from './run.js';
export type { BatonEvent } from './events.js';
export { getAgentTimeline, getRun, listRuns, usage } from './runs.js';
export type { StoreAccess } from './runs.js';
export {
  auditTrail,
  checkRunnable,
  effectiveConfig,
  loadEffectiveConfig,
  loadWorkflowWithMcp,
  mcpSetup,
  openConfiguredStore,
  withExistingStore,
  withStore,
  workflowSecrets,
} from './setup.js';
export type { ConfigOption, StoreOptions } from './setup.js';
