/** Keys Baton writes itself: a phase's aggregated output (`concat`, `merge`, `vote`). */
const PHASE_OUTPUT_KEY_PREFIX = 'phase-output/';

export const phaseOutputKey = (phaseId: string): string => `${PHASE_OUTPUT_KEY_PREFIX}${phaseId}`;

export const isPhaseOutputKey = (key: string | undefined): boolean => key?.startsWith(PHASE_OUTPUT_KEY_PREFIX) ?? false;

/**
 * The key an agent's fact is stored under: its own, in one spelling (`Decision[Cache TTL]:` and a
 * structured `key: "cache  ttl"` name one fact: case and runs of spaces are not meaning), unless that
 * is one Baton writes itself (`Decision[phase-output/db]:`), which would overwrite a phase's output or
 * be dropped as one.
 */
export function agentKey(key: string): string {
  const spelled = key.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase();
  return isPhaseOutputKey(spelled) ? `agent/${spelled}` : spelled;
}
