import { BatonError, ErrorCodes } from '../core/index.js';

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
