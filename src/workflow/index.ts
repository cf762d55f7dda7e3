export {
  agentEntrySchema,
  aggregateSchema,
  findCycle,
  foreachSchema,
  inheritModeSchema,
  makeWorkflowSchema,
  phaseSchema,
  whenSchema,
  workflowSchema,
} from './schema.js';
export type { AgentEntry, AggregateSpec, Foreach, InheritMode, PhaseSpec, WhenCondition, Workflow } from './schema.js';
export { ancestorPhases, loadWorkflow, parseWorkflow, resolveAgent } from './load.js';
export type { LoadedWorkflow, ParseWorkflowOptions, ResolvedAgent } from './load.js';
export { restoreWorkflowEnv, workflowEnvValues } from './secrets.js';
