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

/**
 * Tags Baton puts on the facts of its own aggregating agents — a judge's verdict, a reducer's fold —
 * which run after their phase's agents and so have the last word in it. An agent cannot claim them:
 * they are taken off whatever an agent's result gives.
 */
const BATON_TAG_PREFIX = 'baton:';
export const aggregatorTag = (role: 'judge' | 'reducer'): string => `${BATON_TAG_PREFIX}${role}`;
export const isBatonTag = (tag: string): boolean => tag.startsWith(BATON_TAG_PREFIX);
export const isAggregatorFact = (tags: readonly string[]): boolean =>
  tags.includes(aggregatorTag('judge')) || tags.includes(aggregatorTag('reducer'));

const byAgentId = new Intl.Collator('en', { numeric: true });

/**
 * Two facts of one phase's agents, which ran side by side, in the order they have the last word —
 * never by which finished first: a judge's or reducer's last, the rest by agent id, numbers compared
 * as numbers (`api-10` after `api-2`).
 */
export function phaseSpeakingOrder(
  a: { agentId?: string; tags: readonly string[] },
  b: { agentId?: string; tags: readonly string[] },
): number {
  const aggregated = (fact: { tags: readonly string[] }): number => (isAggregatorFact(fact.tags) ? 1 : 0);
  return aggregated(a) - aggregated(b) || byAgentId.compare(a.agentId ?? '', b.agentId ?? '');
}
