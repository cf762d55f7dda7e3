export { AGENT_QUEUE, QueueExecutor, startAgentWorker } from './queue.js';
export { jobKey, jobKeyFile, openJob, sealJob } from './job-seal.js';
export type { SealedAgentJob } from './job-seal.js';
