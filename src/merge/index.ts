export { mergeOrder, mergePhase, openHeldPullRequest, phaseAfterMerge } from './merge-phase.js';
export type { MergePhaseOptions } from './merge-phase.js';
export { integrationHead } from './integration-head.js';
export { checkIntegrationBranches } from './integration.js';
export { verifyFailureLine } from './verify.js';
