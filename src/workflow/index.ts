export { agentEntrySchema, inheritModeSchema, makeWorkflowSchema, phaseSchema, workflowSchema } from './schema.js';
export type { AgentEntry, InheritMode, PhaseSpec, Workflow } from './schema.js';
export { ancestorPhases, loadWorkflow, parseWorkflow, resolveAgent } from './load.js';
export type { LoadedWorkflow, ParseWorkflowOptions, ResolvedAgent } from './load.js';
