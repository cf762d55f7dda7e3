import type { SecretRedactor } from '../core/index.js';

/**
 * The store, with every record redacted on its way in: prompts, results, errors and context facts are
 * stored without secrets, while the agents themselves still get the real values.
 */
export function redactingStore<S extends object>(store: S, redactor: SecretRedactor): S {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (typeof property === 'string' && property.startsWith('save')) {
        return (record: unknown, ...rest: unknown[]) =>
          (value as (...args: unknown[]) => unknown).call(target, redactor.redactDeep(record), ...rest);
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
}
