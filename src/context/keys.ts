/** Keys Baton writes itself: a phase's aggregated output (`concat`, `merge`, `vote`). */
const PHASE_OUTPUT_KEY_PREFIX = 'phase-output/';

export const phaseOutputKey = (phaseId: string): string => `${PHASE_OUTPUT_KEY_PREFIX}${phaseId}`;

export const isPhaseOutputKey = (key: string | undefined): boolean => key?.startsWith(PHASE_OUTPUT_KEY_PREFIX) ?? false;

/**
 * The key an agent's fact is stored under: its own, unless that is one Baton writes itself
 * (`Decision[phase-output/db]:`), which would overwrite a phase's output or be dropped as one.
 */
export const agentKey = (key: string): string => (isPhaseOutputKey(key) ? `agent/${key}` : key);
