/** Environment variable names whose values are secrets. */
const secretName = /(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_?KEY|AUTH)/i;

/** Secrets recognisable by their shape, wherever they come from. */
const secretShapes: Array<[RegExp, string]> = [
  [/\bsk-ant-[A-Za-z0-9_-]{8,}/g, '[REDACTED]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/-]{8,}=*/gi, '$1 [REDACTED]'],
  [/\b(gh[pousr]_[A-Za-z0-9]{16,})\b/g, '[REDACTED]'],
];

export const REDACTED = '[REDACTED]';

/**
 * Removes secrets from text before it is logged, stored or shown: the values of secret-looking
 * environment variables and of MCP server env and headers (by value, so a key is caught wherever it
 * ends up — a prompt, an error message, a URL), and anything shaped like an API key or bearer token.
 */
export class SecretRedactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string>) {
    // Longest first, so a secret containing another is replaced whole; short values are too common to scrub.
    this.secrets = [...new Set([...secrets].filter((s) => s.length >= 8))].sort((a, b) => b.length - a.length);
  }

  /** Secrets from an environment (by variable name) plus any values marked secret by the caller. */
  static fromEnvironment(env: NodeJS.ProcessEnv, marked: Iterable<string> = []): SecretRedactor {
    const fromEnv = Object.entries(env)
      .filter(([name, value]) => value !== undefined && secretName.test(name))
      .map(([, value]) => value as string);
    return new SecretRedactor([...fromEnv, ...marked]);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join(REDACTED);
    for (const [shape, replacement] of secretShapes) out = out.replace(shape, replacement);
    return out;
  }

  /** The same, through every string of a JSON-like value. */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return (value as unknown[]).map((v) => this.redactDeep(v)) as T;
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          /^(authorization|x-api-key|api[_-]?key)$/i.test(k) && typeof v === 'string' ? REDACTED : this.redactDeep(v),
        ]),
      ) as T;
    }
    return value;
  }
}

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
