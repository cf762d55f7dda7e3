export { planWorkflow } from './plan.js';
export type { WorkflowPlan } from './plan.js';
export { renderPlan } from './render.js';
