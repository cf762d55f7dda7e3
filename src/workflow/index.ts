export { defaultPlanTasks, findCycle, makeWorkflowSchema, mergeSchema, workflowSchema } from './schema.js';
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
export {
  ancestorPhases,
  checkWorkflowData,
  loadWorkflow,
  parseWorkflow,
  resolveAgent,
  workflowInvalid,
} from './load.js';
export type { LoadedWorkflow, ResolvedAgent } from './load.js';
export { restoreWorkflowEnv, workflowEnvValues } from './secrets.js';
