import { randomUUID } from 'node:crypto';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ExponentialBackoff, handleType, retry, timeout, TimeoutStrategy, wrap } from 'cockatiel';
import { BatonError, ErrorCodes, processAliveSince } from '../core/index.js';

// Hand-written rather than proper-lockfile: that one tells a dead holder by a lock not refreshed for its
// `stale` time (a timer in every holder, and a SIGKILLed orchestrator's lock blocks for that long), where
// a holder's pid and start time on this host tell it at once.

/** In the repository's git common directory, beside git's own locks; git ignores files it does not know. */
const WORKTREE_LOCK = 'baton-worktrees.lock';

/** A worktree add checks out the whole tree: a large repository's takes minutes, so the wait is long. */
const WAIT_LIMIT_MS = 10 * 60_000;

class LockHeld extends Error {
  constructor(readonly holder: string) {
    super(`held by ${holder}`);
  }
}

/** Tries again while another process holds the lock, backing off to twice a second, for WAIT_LIMIT_MS at most. */
const lockWait = wrap(
  timeout(WAIT_LIMIT_MS, TimeoutStrategy.Cooperative),
  retry(handleType(LockHeld), {
    maxAttempts: Number.POSITIVE_INFINITY,
    backoff: new ExponentialBackoff({ initialDelay: 10, maxDelay: 500 }),
  }),
);

/**
 * Runs `action` holding `<commonDir>/baton-worktrees.lock`, so that the worktree changes of every Baton
 * process on one repository (two `baton run`s at once) take turns: one's `git worktree add` half-way
 * through is not another's to trip over. A lock whose holder died (a SIGKILLed orchestrator) on this
 * host is taken over; one held past WAIT_LIMIT_MS (a holder on another host that died) is reported
 * naming the file to remove.
 */
export async function withWorktreeLock<T>(
  commonDir: string,
  action: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const lock = join(commonDir, WORKTREE_LOCK);
  const holder = `${process.pid} ${hostname()} ${Date.now()} ${randomUUID()}`;
  try {
    await lockWait.execute(() => acquire(lock, holder), signal);
  } catch (error) {
    signal?.throwIfAborted();
    if (!(error instanceof LockHeld)) throw error;
    throw new BatonError(
      ErrorCodes.worktree,
      `${lock} has been held for ${WAIT_LIMIT_MS / 60_000} minutes by process ${error.holder}, which is not on this machine or is stuck; if no Baton run is changing this repository's worktrees, remove that file`,
    );
  }
  try {
    return await action();
  } finally {
    await rm(lock, { force: true });
  }
}

/** Writes the holder to a file of its own, then links it in: the lock never exists without its holder. */
async function acquire(lock: string, holder: string): Promise<void> {
  const mine = `${lock}.${process.pid}`;
  await writeFile(mine, `${holder}\n`);
  try {
    await link(mine, lock);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const current = await readFile(lock, 'utf8').catch(() => '');
    if (current !== '' && holderIsGone(current)) await takeOver(lock, current);
    throw new LockHeld(current.split(' ').slice(0, 2).join(' on '));
  } finally {
    await rm(mine, { force: true });
  }
}

/**
 * A holder on this machine whose process is no more, or whose pid is now another process's (started
 * after the lock was taken). Pids of another machine say nothing here.
 */
function holderIsGone(current: string): boolean {
  const [pid = '', host, lockedAt = ''] = current.split(' ');
  if (host !== hostname() || !/^\d+$/.test(pid) || !/^\d+$/.test(lockedAt)) return false;
  return !processAliveSince(Number(pid), Number(lockedAt));
}

/**
 * Removes a dead holder's lock (the caller then tries again). Moved aside first and read back: if
 * another process took it over and locked again meanwhile, the lock moved is live and is put back.
 */
async function takeOver(lock: string, dead: string): Promise<void> {
  const aside = `${lock}.${process.pid}.stale`;
  try {
    await rename(lock, aside);
  } catch {
    return; // another waiter moved it first
  }
  if ((await readFile(aside, 'utf8')) !== dead) await link(aside, lock).catch(() => undefined);
  await rm(aside, { force: true });
}
