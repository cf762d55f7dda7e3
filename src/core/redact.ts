/**
 * The one redaction rule of Baton, used for everything it stores, logs or prints: a value is secret by
 * its name (an environment variable, header or field called like a key, token or password), by its
 * shape (API keys, bearer tokens, a URL's password), or because the caller marked it (MCP env values).
 */

/** A word of a name (GITHUB_TOKEN, x-api-key, dbPassword) that makes its value a secret. */
const secretWord = /token|secret|passw|credential|apikey|privatekey|^auth$|^authorization$|^cookie$|^pass$|^pwd$/;

export const REDACTED = '[REDACTED]';
/** A URL's password becomes this, so the URL still reads (and parses) as one. */
const URL_PASSWORD_MASK = '***';

/** Secrets recognisable by their shape, wherever they come from. */
const secretShapes: Array<[RegExp, string | ((whole: string, ...groups: string[]) => string)]> = [
  [/\bsk-ant-[A-Za-z0-9_-]{8,}/g, REDACTED],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/-]{8,}=*/gi, `$1 ${REDACTED}`],
  [/\b(gh[pousr]_[A-Za-z0-9]{16,})\b/g, REDACTED],
  [/\bgithub_pat_[A-Za-z0-9_]{20,}/g, REDACTED],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/g, REDACTED],
  [/\b(sk|rk)_(live|test)_[A-Za-z0-9]{10,}/g, REDACTED], // Stripe
  [/\bglpat-[A-Za-z0-9_-]{20,}/g, REDACTED], // GitLab
  [/\bnpm_[A-Za-z0-9]{36}\b/g, REDACTED],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/g, REDACTED], // AWS access key ids
  // scheme://user:password@host (redis://:pw@host included): the password only. No shape reaches past a
  // quote, so a URL inside JSON text ends with its string and the JSON stays valid.
  // The password runs to the last `@` before the host, as a URL parser reads it (`:p@ss@host`).
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@"']*:)[^\s/"']+@/gi, `$1${URL_PASSWORD_MASK}@`],
  // A URL's query parameter named like a secret (?token=…, &api_key=…, and in a URL a bare key= or a
  // signature, sig=): a webhook's or collector's key.
  [
    /([?&])([^=&#\s"']+)=([^&#\s"']+)/g,
    (whole, separator, name, value) =>
      (isSecretName(name) || /^(key|sig|signature)$/i.test(name)) && !value.startsWith('$')
        ? `${separator}${name}=${REDACTED}`
        : whole,
  ],
  // Webhook URLs whose path is the credential.
  [/\b(hooks\.slack\.com\/services\/)[A-Za-z0-9/_-]+/g, `$1${REDACTED}`],
  [/\b(discord(?:app)?\.com\/api\/webhooks\/)[^\s?#"']+/g, `$1${REDACTED}`],
];

/**
 * An environment variable named for a key or password at its end (`OPENAI_KEY`, `DEPLOY_KEY`,
 * `DB_PASS`): secret there, though a field or header named so (`jobKey`, `orderKey`) is not.
 */
const secretEnvSuffix = /_(KEY|PASS|PWD)$/i;

/**
 * Variables named like secrets that hold none: the shell's working directories (`PWD` reads as a
 * password field's name) and the SSH agent's socket. Masking them blanked every path under the
 * directory Baton was started in, stored workflow paths included.
 */
const notSecretEnv = new Set(['PWD', 'OLDPWD', 'SSH_AUTH_SOCK']);

/** `${VAR}` references (with any `Bearer ` before them) name where a secret comes from without holding it. */
const onlyReferences = /^(Bearer |Basic )?(\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}\s*)+$/;
export const isEnvReference = (value: string): boolean => onlyReferences.test(value);

/**
 * Whether a variable, header or field of this name holds a secret, judged word by word
 * (`API_KEY`, `x-api-key`, `authToken` yes; `author`, `authority` no).
 */
export function isSecretName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  return words.some(
    (word, i) => secretWord.test(word) || (word === 'key' && (words[i - 1] === 'api' || words[i - 1] === 'private')),
  );
}

/**
 * The values a command line gives to secret-named flags: `--api-key KEY` (the next argument) and
 * `--token=KEY`. A `${VAR}` reference says where a secret comes from, not what it is, and is left out.
 */
export function secretArgumentValues(args: readonly string[]): string[] {
  const flag = /^--?([A-Za-z][A-Za-z0-9_-]*)(?:=(.*))?$/s;
  return args.flatMap((arg, i) => {
    const [, name, inline] = flag.exec(arg) ?? [];
    if (name === undefined || !isSecretName(name)) return [];
    const value = inline ?? (args[i + 1]?.startsWith('-') ? undefined : args[i + 1]);
    return value === undefined || value === '' || isEnvReference(value) ? [] : [value];
  });
}

/** Text with every secret-shaped part replaced (no known values needed). */
export function redactShapes(text: string): string {
  let out = text;
  for (const [shape, replacement] of secretShapes)
    out = typeof replacement === 'string' ? out.replace(shape, replacement) : out.replace(shape, replacement);
  return out;
}

/**
 * `NAME=value`, `--name value`, `--name=value` and `Header-Name: value` in a command line. Headers are
 * case-insensitive (`curl -H 'x-api-key: …'`): a lowercase name counts when it is shaped like a header
 * (a hyphen in it) or is `authorization` or `cookie`, so prose such as `tokens: 12` stays. An auth
 * scheme before the value (`authorization: token abc`) is part of what is hidden.
 */
const namedValues = [
  /(?<![\w-])([A-Za-z_][A-Za-z0-9_]*)(=)("[^"]*"|'[^']*'|[^\s"'`;&|)]+)/g,
  /(?<![\w-])(--?[A-Za-z][A-Za-z0-9-]*)(=|\s+)("[^"]*"|'[^']*'|[^\s"'`;&|)-][^\s"'`;&|)]*)/g,
  // Not after `/`: `https://x-access-token:…@host` is a URL's user and password (a shape of its own).
  /(?<![\w/-])([A-Z][A-Za-z0-9-]*|[a-z][a-z0-9]*-[a-z0-9-]+|authorization|cookie)(:\s*)((?:[Bb]earer|[Bb]asic|[Tt]oken|[Dd]igest)\s+[^\s"'`]+|[^\s"'`]+)/g,
];
/** `curl -u user:password`, `--user=user:password`: the password of a credential pair. */
const userPassword = /(?<![\w-])(-u|--user)(=|\s+)(["']?)([^\s:"']+):([^\s"']+)\3/g;
/** `"name": "value"` in JSON. */
const jsonField = /"([^"\\]+)"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g;
/** A `$VAR` or `${VAR}` says where a secret comes from, not what it is. */
const isReference = (value: string): boolean => /^["']?\$/.test(value);

/**
 * Text (a command line, a tool's JSON input) with the values given to secret-named variables, flags,
 * headers and fields replaced, whatever their shape: `PGPASSWORD=hunter2`, `--api-key abc`.
 */
export function redactNamedValues(text: string): string {
  let out = text;
  for (const pattern of namedValues)
    out = out.replace(pattern, (whole, name: string, separator: string, value: string) =>
      isSecretName(name.replace(/^-+/, '')) && !isReference(value) ? `${name}${separator}${REDACTED}` : whole,
    );
  out = out.replace(
    userPassword,
    (whole, flag: string, separator: string, quote: string, user: string, value: string) =>
      isReference(value) ? whole : `${flag}${separator}${quote}${user}:${REDACTED}${quote}`,
  );
  return out.replace(jsonField, (whole, name: string, separator: string, value: string) =>
    isSecretName(name) && value !== '' && !isReference(value) ? `"${name}"${separator}"${REDACTED}"` : whole,
  );
}

const jsonEscaped = (value: string): string => JSON.stringify(value).slice(1, -1);

/**
 * Removes secrets from text before it is logged, stored or shown: the values of secret-looking
 * environment variables and of MCP server env and headers (by value, so a key is caught wherever it
 * ends up — a prompt, an error message, a URL), and anything shaped like an API key or bearer token.
 */
export class SecretRedactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string>) {
    // Longest first, so a secret containing another is replaced whole; short values are too common to scrub.
    // Each also as JSON spells it, once and twice over (a tool call's input is JSON text, at times
    // inside JSON): a value with a quote, backslash or control character looks different there.
    const spellings = [...secrets]
      .filter((s) => s.length >= 8)
      .flatMap((s) => [s, jsonEscaped(s), jsonEscaped(jsonEscaped(s))]);
    this.secrets = [...new Set(spellings)].sort((a, b) => b.length - a.length);
  }

  /** Secrets from an environment (by variable name) plus any values marked secret by the caller. */
  static fromEnvironment(env: NodeJS.ProcessEnv, marked: Iterable<string> = []): SecretRedactor {
    const fromEnv = Object.entries(env)
      .filter(
        ([name, value]) =>
          value !== undefined && !notSecretEnv.has(name) && (isSecretName(name) || secretEnvSuffix.test(name)),
      )
      .map(([, value]) => value as string);
    return new SecretRedactor([...fromEnv, ...marked]);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join(REDACTED);
    return redactShapes(out);
  }

  /** The same, through every string of a JSON-like value; a string field with a secret's name is redacted whole. */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return (value as unknown[]).map((v) => this.redactDeep(v)) as T;
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          isSecretName(k) && typeof v === 'string' && v.length > 0 && !onlyReferences.test(v)
            ? REDACTED
            : this.redactDeep(v),
        ]),
      ) as T;
    }
    return value;
  }
}
