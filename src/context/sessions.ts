import type { SessionRecord, Store } from '../store/index.js';

/** A finished session's expiry: when it may be archived, and later pruned. */
export const expiryFrom = (finishedAt: number, ttlMs: number): number => finishedAt + ttlMs;

const finished = (s: SessionRecord): boolean => s.status === 'completed' || s.status === 'failed';

/** Archives finished sessions past their expiry (or the given ones). Returns the archived sessions. */
export async function archiveSessions(store: Store, now: number, ids?: string[]): Promise<SessionRecord[]> {
  const candidates = ids
    ? (await Promise.all(ids.map((id) => store.getSession(id)))).filter((s): s is SessionRecord => s !== undefined)
    : await store.listSessions({ expiredBefore: now });
  const archived: SessionRecord[] = [];
  for (const session of candidates.filter(finished)) {
    const record: SessionRecord = { ...session, status: 'archived', archivedAt: now, updatedAt: now };
    await store.saveSession(record);
    archived.push(record);
  }
  return archived;
}

/**
 * Deletes archived sessions past their expiry: the record in the store and, through
 * `deleteTranscript`, Claude Code's own transcript. Context entries they produced are kept.
 */
export async function pruneSessions(
  store: Store,
  now: number,
  deleteTranscript: (sessionId: string) => Promise<void>,
): Promise<string[]> {
  const expired = (await store.listSessions({ status: 'archived', expiredBefore: now })).map((s) => s.id);
  for (const id of expired) {
    await deleteTranscript(id).catch(() => undefined); // already gone, or never written
    await store.deleteSession(id);
  }
  return expired;
}
