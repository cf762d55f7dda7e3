import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatonError, ErrorCodes, type ErrorInfo } from '../core/index.js';
import type { Store } from './store.js';

/** Whether an error, or one it was caused by, says the disk is full (SQLite's SQLITE_FULL, or ENOSPC from a file write). */
export function isDiskFull(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 10; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === 'SQLITE_FULL' || code === 'ENOSPC') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * A full disk as a coded error telling how to continue. The store was not damaged (SQLite rolls the
 * failed write back), and a run whose orchestrator has stopped is resumable.
 */
export function diskFullError(error: unknown, dataDir: string, runId: string | undefined): BatonError | undefined {
  if (!isDiskFull(error)) return undefined;
  const run = runId
    ? `Run ${runId} was interrupted; nothing stored was lost. Free space, then: baton run --resume ${runId}`
    : 'Free space and try again.';
  return new BatonError(ErrorCodes.diskFull, `The disk holding ${dataDir} is full. ${run}`, { cause: error });
}

/** The reserve file in data_dir, and its size: room for the few pages that mark a run interrupted. */
export const diskReserveFile = (dataDir: string): string => join(dataDir, 'disk-reserve');
const DISK_RESERVE_BYTES = 4 * 1024 * 1024;

/**
 * Sets space aside in data_dir while there is some (once; a full disk leaves it unmade). When the disk
 * fills up mid-run nothing more can be written, not even the run's own status: deleting this file
 * gives back enough room for that last write (see `markInterrupted`).
 */
export function reserveDiskSpace(dataDir: string): void {
  try {
    // Zeros written out, not a sparse file: the blocks must really be held.
    writeFileSync(diskReserveFile(dataDir), Buffer.alloc(DISK_RESERVE_BYTES), { flag: 'wx' });
  } catch {
    // Already there, or no room for it now: runs go on without it.
  }
}

/**
 * After a full disk stopped the run: frees the reserve, then stores the run as `interrupted` with the
 * error, so `baton status`/`baton runs` say so and `--resume` continues it. Best effort: when even this
 * write fails, the run still reads as interrupted once its orchestrator has exited (`currentRunStatus`).
 */
export async function markInterrupted(
  store: Store,
  dataDir: string,
  runId: string,
  error: ErrorInfo,
  now = Date.now(),
): Promise<void> {
  try {
    unlinkSync(diskReserveFile(dataDir));
  } catch {
    // No reserve was made: try the write all the same.
  }
  try {
    const run = await store.getRun(runId);
    if (run) await store.saveRun({ ...run, status: 'interrupted', error, finishedAt: now });
  } catch {
    // Still no room; see above.
  }
}
