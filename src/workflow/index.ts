export { agentEntrySchema, makeWorkflowSchema, phaseSchema, workflowSchema } from './schema.js';
export type { AgentEntry, PhaseSpec, Workflow } from './schema.js';
export { loadWorkflow, parseWorkflow, resolveAgent } from './load.js';
export type { LoadedWorkflow, ParseWorkflowOptions, ResolvedAgent } from './load.js';
