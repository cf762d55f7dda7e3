export { AGENT_QUEUE, QueueExecutor, startAgentWorker } from './queue.js';
