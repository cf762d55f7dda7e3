import { isDeepStrictEqual } from 'node:util';
import type { PhaseOutput, PhaseStatus } from '../store/index.js';
import type { WhenCondition } from '../workflow/index.js';
import { valueAt } from './swarm.js';

/** Whether a phase's `when:` holds for the phase it names, and, when not, why (for the record). */
export function evaluateCondition(
  when: WhenCondition,
  phase: { status: PhaseStatus; output?: PhaseOutput },
): { holds: boolean; reason: string } {
  const subject = when.field === undefined ? `phase ${when.phase}'s text` : `${when.phase}.${when.field}`;
  if (when.status && !when.status.includes(phase.status as (typeof when.status)[number])) {
    return { holds: false, reason: `phase ${when.phase} ${phase.status}, not ${when.status.join(' or ')}` };
  }
  const value = when.field === undefined ? phase.output?.text : valueAt(phase.output?.structured, when.field);
  const shown = JSON.stringify(value) ?? 'nothing';
  if (when.exists !== undefined && (value !== undefined && value !== null) !== when.exists) {
    return { holds: false, reason: `${subject} ${when.exists ? 'is missing' : `exists (${shown})`}` };
  }
  if ('equals' in when && !isDeepStrictEqual(value, when.equals))
    return { holds: false, reason: `${subject} is ${shown}, not ${JSON.stringify(when.equals)}` };
  if ('notEquals' in when && isDeepStrictEqual(value, when.notEquals))
    return { holds: false, reason: `${subject} is ${shown}` };
  if (when.in && !when.in.some((candidate) => isDeepStrictEqual(value, candidate)))
    return { holds: false, reason: `${subject} is ${shown}, not one of ${JSON.stringify(when.in)}` };
  return { holds: true, reason: `${subject} met the condition` };
}
