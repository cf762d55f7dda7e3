export { AGENT_QUEUE, agentJobId, bullPriority, QueueExecutor, startAgentWorker } from './queue.js';
export type { AgentWorker, AgentWorkerOptions } from './queue.js';
export { TenantSlots } from './tenant-slots.js';
