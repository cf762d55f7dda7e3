export { planWorkflow } from './plan.js';
export type { AgentPlan, CostEstimate, PhasePlan, WorkflowPlan } from './plan.js';
export { renderPlan } from './render.js';
export { agentCostRange, modelPrices, workflowHash } from './estimate.js';
