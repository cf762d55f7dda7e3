import { EventEmitter } from 'node:events';

/**
 * A typed event emitter: `Events` maps an event name to its payload. Runs publish through one of
 * these; the CLI, dashboard, metrics and audit log subscribe instead of threading callbacks.
 */
export class TypedEmitter<Events extends Record<string, unknown>> {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Many subscribers (CLI, metrics, dashboards) are normal; don't warn at 10.
    this.emitter.setMaxListeners(0);
  }

  on<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  emit<K extends keyof Events & string>(event: K, payload: Events[K]): void {
    this.emitter.emit(event, payload);
  }
}
