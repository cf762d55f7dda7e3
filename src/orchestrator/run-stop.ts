import { setMaxListeners } from 'node:events';
import { BatonError, ErrorCodes, toErrorInfo, type ErrorInfo } from '../core/index.js';
import type { RunRecord, Store } from '../store/index.js';
import { currentRunStatus, orchestratorHere } from './resume.js';

/** How often a running orchestrator checks the store for a `baton cancel` from another process. */
const CANCEL_POLL_MS = 250;
/** Every agent's error when `baton cancel` stopped the run. */
const CANCELLED_BY_COMMAND = 'run cancelled (baton cancel)';

/**
 * The run's kill switch: aborted by a cancel (signal, `baton cancel`) or by its budget, always with
 * a BatonError that says which, so every agent it stops records the same code.
 */
export class RunStop {
  private readonly controller = new AbortController();
  /** A `baton cancel` was behind the signal that stopped the run. */
  private byCommand = false;

  constructor() {
    // Every agent of the run listens (waiting for a slot, running): dozens of listeners are expected,
    // not a leak, and Node's warning at 11 would only alarm users of large runs.
    setMaxListeners(0, this.controller.signal);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  /** Stops the run, once: the first reason is the one recorded. */
  abort(reason: BatonError): void {
    if (!this.stopped) this.controller.abort(reason);
  }

  private abortCancelled(message: string): void {
    this.abort(new BatonError(ErrorCodes.cancelled, message));
  }

  /** Why the run was stopped early, as an agent's error: a cancel, or the run budget. */
  error(): ErrorInfo {
    if (this.byCommand) return { code: ErrorCodes.cancelled, message: CANCELLED_BY_COMMAND };
    const reason: unknown = this.controller.signal.reason;
    if (reason instanceof BatonError) return toErrorInfo(reason);
    return { code: ErrorCodes.cancelled, message: reasonText(reason) };
  }

  /**
   * Stops the run when `external` aborts or a `baton cancel` from another process shows up in the
   * store; returns what ends the watching.
   */
  watch(store: Store, runId: string, external: AbortSignal | undefined): () => void {
    const onExternalAbort = (): void => {
      const first = !this.stopped;
      this.abortCancelled(reasonText(external?.reason));
      // `baton cancel` signals a local orchestrator (SIGTERM) after flagging the run: the flag says who it
      // was. Agents are stopped at once all the same; their errors are written once their processes end.
      if (first)
        void store.isCancelRequested(runId).then(
          (requested) => (this.byCommand ||= requested),
          () => undefined,
        );
    };
    if (external?.aborted) onExternalAbort();
    else external?.addEventListener('abort', onExternalAbort, { once: true });
    const poll = setInterval(() => {
      store.isCancelRequested(runId).then(
        (requested) => {
          if (requested) this.abortCancelled(CANCELLED_BY_COMMAND);
        },
        () => {
          // A store that cannot be read now fails the run's own writes too; the poll just tries again.
        },
      );
    }, CANCEL_POLL_MS);
    return () => {
      clearInterval(poll);
      external?.removeEventListener('abort', onExternalAbort);
    };
  }
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'run cancelled';
}

/** A run that finished one way or another: `baton cancel` has nothing to stop. */
export const runEnded = (run: RunRecord): boolean =>
  ['succeeded', 'failed', 'partial', 'cancelled'].includes(currentRunStatus(run));

/**
 * Asks the orchestrator of a run, wherever it is, to cancel it; signals it directly when it is local.
 * A run whose orchestrator is gone is marked cancelled at once (returned with its status then, `interrupted`);
 * one that has ended is returned as it is.
 */
export async function requestRunCancel(store: Store, runId: string): Promise<RunRecord> {
  const run = await store.getRun(runId);
  if (!run) throw new BatonError(ErrorCodes.runNotFound, `No run with id ${runId}. List runs with: baton runs`);
  if (runEnded(run)) return run; // nothing to stop: a flag left on it would only be cleared by a --resume
  await store.requestCancel(runId);
  // Its orchestrator is gone (killed, host down): nobody will read the flag, so the run ends here.
  if (currentRunStatus(run) === 'interrupted') {
    const message = 'cancelled with baton cancel after its orchestrator had stopped';
    const cancelled: RunRecord = {
      ...run,
      status: 'cancelled',
      finishedAt: Date.now(),
      error: { code: ErrorCodes.cancelled, message },
    };
    await store.saveRun(cancelled);
    return { ...run, status: 'interrupted' };
  }
  if (run.status === 'running' && orchestratorHere(run) === 'alive' && run.pid !== process.pid) {
    try {
      process.kill(run.pid!, 'SIGTERM');
    } catch {
      // Already gone: the stored flag covers an orchestrator we cannot signal.
    }
  }
  return run;
}
