import { neutralizeControls, SecretRedactor } from '../core/index.js';
import type { Output } from './commands.js';

/**
 * Where every command writes, through the one redaction rule: secret-named environment values, the
 * values of MCP env and headers in reach, and anything secret-shaped (keys, tokens, URL passwords) never
 * reach the terminal, whichever command or error message carries them. `hide` adds values found later
 * (a workflow's own MCP servers). Control characters (terminal escapes a model or a web page wrote into a
 * result or a tool call) are shown as escapes, not obeyed; only `terminal`, which the live dashboard draws
 * with, passes Baton's own escapes through (what it draws is neutralized before).
 */
export class RedactedOutput implements Output {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly terminal: NodeJS.WritableStream;
  /** Not redacted (it carries the credential it hands over); control characters still shown as escapes. */
  readonly credentials: NodeJS.WritableStream;
  private secrets: string[] = [];
  private redactor: SecretRedactor;

  constructor(
    streams: Output,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.redactor = SecretRedactor.fromEnvironment(env);
    this.stdout = this.cleaning(streams.stdout, (text) => neutralizeControls(this.redactor.redact(text)));
    this.stderr = this.cleaning(streams.stderr, (text) => neutralizeControls(this.redactor.redact(text)));
    this.terminal = this.cleaning(streams.stdout, (text) => this.redactor.redact(text));
    this.credentials = this.cleaning(streams.stdout, neutralizeControls);
  }

  hide(values: Iterable<string>): void {
    this.secrets.push(...values);
    this.redactor = SecretRedactor.fromEnvironment(this.env, this.secrets);
  }

  redact(text: string): string {
    return this.redactor.redact(text);
  }

  /** The stream with `write` cleaning what it is given; everything else (isTTY, columns, events) as is. */
  private cleaning<S extends NodeJS.WritableStream>(stream: S, clean: (text: string) => string): S {
    return new Proxy(stream, {
      get: (target, property, receiver) => {
        if (property !== 'write') {
          const value: unknown = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
        return (chunk: string | Uint8Array, ...rest: unknown[]) =>
          (target.write as (...a: unknown[]) => boolean)(
            clean(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')),
            ...rest,
          );
      },
    });
  }
}
