export { requestRunCancel, RunCancelled, runWorkflow } from './run.js';
export type { RunWorkflowOptions } from './run.js';
export { RunEvents } from './events.js';
export type { RunEventMap } from './events.js';
export { summarizeRun } from './summary.js';
export type { AgentSummary, PhaseSummary, RunSummary } from './summary.js';
