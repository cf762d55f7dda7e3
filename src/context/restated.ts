import type { ContextEntry } from '../store/index.js';
import { saysTheSame } from './duplicates.js';
import { isPhaseOutputKey } from './keys.js';

const isKeyedDecision = (e: ContextEntry): boolean =>
  e.type === 'decision' && e.key !== undefined && !isPhaseOutputKey(e.key);

/** Some inherited keyed decision was updated: only then can an unkeyed one restate a replaced value. */
export const hasUpdatedKeys = (entries: ContextEntry[]): boolean =>
  entries.some((e) => isKeyedDecision(e) && e.version > 1);

/**
 * Unkeyed decisions that restate a value a keyed decision had before an update written after them
 * ("The orders store will use PostgreSQL 16" after `Decision[db]: The orders store is PostgreSQL 16`,
 * since updated to `SQLite`): the update replaced what they say too. Twin id → the keyed decision's
 * id. `replaced` holds the keyed facts' earlier values (`Store.listReplacedContext`).
 */
export function restatedReplacedValues(entries: ContextEntry[], replaced: ContextEntry[]): Map<string, string> {
  const earlier = new Map<string, ContextEntry[]>();
  for (const value of replaced) earlier.set(value.id, [...(earlier.get(value.id) ?? []), value]);
  const twins = new Map<string, string>();
  for (const keyed of entries.filter(isKeyedDecision)) {
    const before = (earlier.get(keyed.id) ?? []).filter((value) => value.version < keyed.version);
    for (const twin of entries) {
      if (twin.type !== 'decision' || twin.key !== undefined || twin.createdAt >= keyed.updatedAt) continue;
      if (saysTheSame(twin.content, keyed.content)) continue;
      if (before.some((value) => saysTheSame(twin.content, value.content))) twins.set(twin.id, keyed.id);
    }
  }
  return twins;
}
