import { EventEmitter } from 'node:events';

/**
 * A typed event emitter: `Events` maps an event name to its payload. Runs publish through one of
 * these; the CLI, dashboard, metrics and audit log subscribe instead of threading callbacks.
 */
export class TypedEmitter<Events extends Record<string, unknown>> {
  private readonly emitter = new EventEmitter();
  private readonly anyListeners = new Set<(event: keyof Events & string, payload: unknown) => void>();

  constructor() {
    // Many subscribers (CLI, metrics, dashboards) are normal; don't warn at 10.
    this.emitter.setMaxListeners(0);
  }

  on<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  /** Every event, in the order they are emitted (the library's event stream subscribes this way). */
  onAny(listener: <K extends keyof Events & string>(event: K, payload: Events[K]) => void): () => void {
    const untyped = listener as (event: keyof Events & string, payload: unknown) => void;
    this.anyListeners.add(untyped);
    return () => this.anyListeners.delete(untyped);
  }

  emit<K extends keyof Events & string>(event: K, payload: Events[K]): void {
    this.emitter.emit(event, payload);
    for (const listener of this.anyListeners) listener(event, payload);
  }
}
