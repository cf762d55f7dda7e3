export { agentEntrySchema, mcpServerSchema, phaseSchema, workflowSchema } from './schema.js';
export type { AgentEntry, McpServerConfig, PhaseSpec, Workflow } from './schema.js';
export { loadWorkflow, parseWorkflow, resolveAgent } from './load.js';
export type { LoadedWorkflow, ResolvedAgent } from './load.js';
