import { EventEmitter } from 'node:events';

/**
 * A typed event emitter: `Events` maps an event name to its payload. Runs publish through one of
 * these; the CLI, dashboard, metrics and audit log subscribe instead of threading callbacks.
 */
export class TypedEmitter<Events extends Record<string, unknown>> {
  private readonly emitter = new EventEmitter();
  private readonly anyListeners = new Set<(event: keyof Events & string, payload: unknown) => void>();
  private listenerFailed: ((error: unknown, event: string) => void) | undefined;

  constructor() {
    // Many subscribers (CLI, metrics, dashboards) are normal; don't warn at 10.
    this.emitter.setMaxListeners(0);
  }

  on<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): () => void {
    const guarded = (payload: Events[K]): void => this.call(event, () => listener(payload));
    this.emitter.on(event, guarded);
    return () => this.emitter.off(event, guarded);
  }

  /**
   * Where a listener's throw goes instead of out of `emit`: into the emitting code, it would break
   * off whatever that code was doing half-way (a record saved, the next step not taken). Without a
   * handler, the throw goes to the emitter's caller; a handler may rethrow it so.
   */
  onListenerError(handler: (error: unknown, event: string) => void): void {
    this.listenerFailed = handler;
  }

  private call(event: string, listener: () => void): void {
    if (!this.listenerFailed) return listener();
    try {
      listener();
    } catch (error) {
      this.listenerFailed(error, event);
    }
  }

  /** Every event, in the order they are emitted (the library's event stream subscribes this way). */
  onAny(listener: <K extends keyof Events & string>(event: K, payload: Events[K]) => void): () => void {
    const untyped = listener as (event: keyof Events & string, payload: unknown) => void;
    this.anyListeners.add(untyped);
    return () => this.anyListeners.delete(untyped);
  }

  emit<K extends keyof Events & string>(event: K, payload: Events[K]): void {
    this.emitter.emit(event, payload);
    for (const listener of this.anyListeners) this.call(event, () => listener(event, payload));
  }
}
