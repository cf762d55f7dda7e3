export {
  agentEntrySchema,
  aggregateSchema,
  findCycle,
  foreachSchema,
  inheritModeSchema,
  makeWorkflowSchema,
  mergeSchema,
  phaseSchema,
  whenSchema,
  workflowSchema,
} from './schema.js';
export type {
  AgentEntry,
  AggregateSpec,
  Foreach,
  InheritMode,
  MergeSpec,
  PhaseSpec,
  VerifySpec,
  WhenCondition,
  Workflow,
} from './schema.js';
export { ancestorPhases, loadWorkflow, parseWorkflow, resolveAgent } from './load.js';
export type { LoadedWorkflow, ParseWorkflowOptions, ResolvedAgent } from './load.js';
