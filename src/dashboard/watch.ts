import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../store/index.js';
import { dashboardSnapshot, type DashboardSnapshot } from './snapshot.js';

export interface WatchOptions {
  intervalMs: number;
  contextLimitBytes: number;
  signal?: AbortSignal;
}

/**
 * Reads a run's snapshot from the store every `intervalMs` — so it works for a run going on in
 * another process — and hands each to `onSnapshot`, until the run has ended (after one last
 * snapshot) or the signal aborts.
 */
export async function watchRun(
  store: Store,
  runId: string,
  onSnapshot: (snapshot: DashboardSnapshot) => void,
  options: WatchOptions,
): Promise<DashboardSnapshot | undefined> {
  let last: DashboardSnapshot | undefined;
  while (!options.signal?.aborted) {
    last = await dashboardSnapshot(store, runId, options.contextLimitBytes);
    if (!last) return undefined;
    onSnapshot(last);
    if (last.status !== 'running' && last.status !== 'pending') return last;
    await sleep(options.intervalMs, undefined, { signal: options.signal }).catch(() => undefined);
  }
  return last;
}
