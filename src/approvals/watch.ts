import { setTimeout as sleep } from 'node:timers/promises';
import type { ApprovalRecord } from '../core/index.js';
import type { Store } from '../store/index.js';

/** How often a run looks for new requests to tell its watcher about; a person answers in seconds, not ms. */
const WATCH_POLL_MS = 1000;

/**
 * Calls `onRequest` once for each request of the run that waits for a person, as it appears: from this
 * process's agents, a `baton worker`'s, or left open by an earlier orchestrator of a resumed run. The
 * store is the only channel, so it polls. Ends when `signal` aborts.
 */
export async function watchNewRequests(
  store: Store,
  runId: string,
  options: { signal: AbortSignal; onRequest: (request: ApprovalRecord) => void; pollMs?: number },
): Promise<void> {
  const told = new Set<string>();
  while (!options.signal.aborted) {
    const pending = await store.listApprovals({ runId, status: 'pending' }).catch(() => []);
    for (const request of pending) {
      if (told.has(request.id)) continue;
      told.add(request.id);
      options.onRequest(request);
    }
    const slept = await sleep(options.pollMs ?? WATCH_POLL_MS, true, { signal: options.signal }).catch(() => false);
    if (!slept) return;
  }
}
