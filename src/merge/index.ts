export { mergeOrder, mergePhase, phaseAfterMerge } from './merge-phase.js';
export type { MergePhaseOptions, ResolveRequest } from './merge-phase.js';
export { integrationHead } from './integration-head.js';
export { runVerify } from './verify.js';
