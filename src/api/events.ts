import type { RunEventMap, RunEvents } from '../orchestrator/index.js';

/** One event of a run, as the library hands it out: its name and its payload. */
export type BatonEvent = {
  [K in keyof RunEventMap & string]: { type: K; payload: RunEventMap[K] };
}[keyof RunEventMap & string];

/**
 * The events of a run as an async iterable, in the order they were emitted. It keeps every event
 * from the moment it is made, so each iterator (however late it starts, and a second one too) sees
 * the whole run; each ends when `done` settles (throwing its error, if any).
 */
export function eventStream(events: RunEvents, done: Promise<unknown>): AsyncIterable<BatonEvent> {
  const emitted: BatonEvent[] = [];
  const waiting = new Set<() => void>();
  const wakeAll = (): void => {
    for (const wake of waiting) wake();
    waiting.clear();
  };
  let finished = false;
  let failure: { error: unknown } | undefined;
  events.onAny((type, payload) => {
    emitted.push({ type, payload });
    wakeAll();
  });
  done
    .then(
      () => (finished = true),
      (error: unknown) => {
        finished = true;
        failure = { error };
      },
    )
    .finally(wakeAll);
  return {
    async *[Symbol.asyncIterator]() {
      for (let next = 0; ;) {
        if (next < emitted.length) {
          yield emitted[next++]!;
          continue;
        }
        if (finished) break;
        await new Promise<void>((resolve) => waiting.add(resolve));
      }
      if (failure) throw failure.error;
    },
  };
}
