import type { SecretRedactor } from '../core/index.js';

/**
 * The store, with everything saved redacted on its way in: prompts, results, errors, context facts and
 * MCP health (whose record is a save's third argument) are stored without secrets, while the agents
 * themselves still get the real values. Every argument of a save is redacted: ids hold no secret.
 */
export function redactingStore<S extends object>(store: S, redactor: SecretRedactor): S {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (typeof property === 'string' && property.startsWith('save')) {
        return (...args: unknown[]) =>
          (value as (...args: unknown[]) => unknown).call(target, ...args.map((arg) => redactor.redactDeep(arg)));
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
}
