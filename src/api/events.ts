import type { RunEventMap, RunEvents } from '../orchestrator/index.js';

/**
 * The event names of RunEventMap without its `string` index signature (there for the emitter's
 * constraint): with it, `event.type === 'agent.finished'` would leave `payload` typed `unknown`.
 */
type RunEventName = Extract<keyof { [K in keyof RunEventMap as string extends K ? never : K]: true }, string>;

/** One event of a run, as the library hands it out: its name and its payload. */
export type BatonEvent = {
  [K in RunEventName]: { type: K; payload: RunEventMap[K] };
}[RunEventName];

/** What the emitter hands `onAny` as a BatonEvent: the run emits only the events RunEventMap names. */
export const asBatonEvent = (type: string, payload: unknown): BatonEvent => ({ type, payload }) as BatonEvent;

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
  events.onAny((type: string, payload: unknown) => {
    emitted.push(asBatonEvent(type, payload));
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
