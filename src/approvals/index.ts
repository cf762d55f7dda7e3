export { ApprovalDesk } from './gate.js';
export type { ApprovalDeskOptions } from './gate.js';
export { answerApproval, approvalDetails, approvalId, DEFAULT_POLL_MS, waitForAnswer } from './requests.js';
export type { WaitOptions } from './requests.js';
export { notifyWebhook, webhookPayload } from './webhook.js';
export { agentPermissions } from './policy.js';
export type { AgentPermissions } from './policy.js';
