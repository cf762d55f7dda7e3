export { ApprovalDesk, webhookNotificationsSettled } from './gate.js';
export { answerApproval, approvalId, expireOverdue } from './requests.js';
export { agentPermissions } from './policy.js';
export { PhaseGates } from './phase-gate.js';
export { untilOnlyPeopleLeft } from './detach.js';
export type { JobOwner, SlotsWaitedFor, WorkerSlots } from './detach.js';
export { watchNewRequests } from './watch.js';
