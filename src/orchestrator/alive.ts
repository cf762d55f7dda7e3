import type { Clock } from '../core/index.js';
import type { Store } from '../store/index.js';

/** How often a running orchestrator records that it is alive (`Store.markRunAlive`). */
export const ALIVE_EVERY_MS = 10_000;

/**
 * Silent this long, an orchestrator on another host is taken as gone: six beats missed, so a slow
 * store or a machine busy for a while is not mistaken for a dead one.
 */
export const ALIVE_STALE_MS = 60_000;

/**
 * Records now, then every `everyMs`, that this process still orchestrates the run: a host that cannot
 * check the orchestrator's pid (`baton status` elsewhere, with a shared Redis store) tells a dead one
 * by its silence. Returns the function that stops it.
 */
export function recordAliveWhileRunning(
  store: Store,
  runId: string,
  clock: Clock,
  everyMs = ALIVE_EVERY_MS,
): { stop: () => void; first: Promise<void> } {
  const beat = (): Promise<void> => store.markRunAlive(runId, clock.now());
  const timer = setInterval(() => {
    // A store that cannot be written now fails the run's own writes too; the next beat tries again.
    beat().catch(() => undefined);
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer), first: beat() };
}
