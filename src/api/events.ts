import type { RunEventMap, RunEvents } from '../orchestrator/index.js';

/** One event of a run, as the library hands it out: its name and its payload. */
export type BatonEvent = {
  [K in keyof RunEventMap & string]: { type: K; payload: RunEventMap[K] };
}[keyof RunEventMap & string];

/**
 * The events of a run as an async iterable, in the order they were emitted. It buffers from the
 * moment it is made, so nothing is lost before the caller starts iterating; it ends when `done`
 * settles (throwing its error, if any).
 */
export function eventStream(events: RunEvents, done: Promise<unknown>): AsyncIterable<BatonEvent> {
  const buffered: BatonEvent[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: { error: unknown } | undefined;
  events.onAny((type, payload) => {
    buffered.push({ type, payload });
    wake?.();
  });
  done
    .then(
      () => (finished = true),
      (error: unknown) => {
        finished = true;
        failure = { error };
      },
    )
    .finally(() => wake?.());
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = buffered.shift();
        if (next) {
          yield next;
          continue;
        }
        if (finished) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      if (failure) throw failure.error;
    },
  };
}
