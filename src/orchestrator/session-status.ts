import { expiryFrom } from '../context/index.js';
import type { SessionRecord, Store } from '../store/index.js';

/** Who a session belongs to: enough to create its record when there is none yet. */
export type SessionOwner = Pick<SessionRecord, 'id' | 'runId' | 'agentId' | 'phaseId' | 'parentId'>;

/*
 * Every status change of a Claude session, for runs and for `baton sessions resume|fork` alike:
 * created (its agent is known) → active (a process runs it) → completed | failed (with its expiry).
 * Archiving after expiry is context/'s (archiveSessions).
 */

/** A new session, before any process ran it. */
export async function createSession(store: Store, owner: SessionOwner, now: number): Promise<void> {
  await store.saveSession({ ...owner, status: 'created', createdAt: now, updatedAt: now });
}

/** A process is about to run the session (again). */
export async function activateSession(store: Store, owner: SessionOwner, now: number): Promise<void> {
  const session = await store.getSession(owner.id);
  await store.saveSession({ ...(session ?? { ...owner, createdAt: now }), status: 'active', updatedAt: now });
}

/** The session's agent has its final result: the session ends, and expires `ttlMs` later. */
export async function closeSession(
  store: Store,
  owner: SessionOwner,
  succeeded: boolean,
  now: number,
  ttlMs: number,
): Promise<void> {
  const session = await store.getSession(owner.id);
  await store.saveSession({
    ...(session ?? { ...owner, createdAt: now }),
    status: succeeded ? 'completed' : 'failed',
    updatedAt: now,
    expiresAt: expiryFrom(now, ttlMs),
  });
}
