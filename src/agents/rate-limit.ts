import { randomBytes } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';

/**
 * When the model may be asked again, per model: set from a 429/529's `Retry-After`, waited for by
 * every agent of this process on that model (before its next attempt, and by the relay before each
 * request it passes on), so they do not all hammer the API.
 */
export class RateLimitGate {
  private readonly until = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  note(model: string, retryAfterMs: number): void {
    const until = this.now() + retryAfterMs;
    if (until > (this.until.get(model) ?? 0)) this.until.set(model, until);
  }

  /** Whether any model is still told to wait: until one is, no request needs looking into. */
  get limiting(): boolean {
    const now = this.now();
    return [...this.until.values()].some((until) => until > now);
  }

  /**
   * Resolves when `model` may be asked again (at once when it may already), or when `signal` aborts.
   * An agent without a model of its own gets Claude Code's default, which Baton cannot name: it waits for every model.
   */
  async wait(model: string | undefined, signal: AbortSignal): Promise<void> {
    const until = model === undefined ? Math.max(0, ...this.until.values()) : (this.until.get(model) ?? 0);
    const ms = until - this.now();
    if (ms <= 0 || signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** `Retry-After` in ms: seconds, or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Longest wait a Retry-After may impose, so a wrong header cannot park agents for hours. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;
/** Headers that describe one hop: each side of the relay has its own connection. */
const hopHeaders = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']);

function endToEndHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !hopHeaders.has(name)));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function modelOf(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { model?: unknown };
    return typeof parsed.model === 'string' ? parsed.model : 'default';
  } catch {
    return 'default';
  }
}

/**
 * A loopback relay agents use as their `ANTHROPIC_BASE_URL`: it passes every request on to the real
 * base URL unchanged and reads what Claude Code does not pass on, a 429/529's `Retry-After`. Its URL
 * holds a random token; requests without it are refused.
 */
export class ModelRelay {
  private server?: Server;
  private readonly token = randomBytes(16).toString('hex');
  /** Requests being relayed: a hanging upstream must not keep Baton alive after its agent is gone. */
  private readonly inFlight = new Set<AbortController>();

  constructor(
    private readonly upstream: string,
    private readonly gate: RateLimitGate,
  ) {}

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.relay(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    server.unref();
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/${this.token}`;
  }

  async close(): Promise<void> {
    for (const controller of this.inFlight) controller.abort();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async relay(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const prefix = `/${this.token}`;
    if (!req.url?.startsWith(`${prefix}/`) && req.url !== prefix) {
      res.writeHead(403).end();
      return;
    }
    const controller = new AbortController();
    this.inFlight.add(controller);
    // The agent hung up (killed, cancelled): stop waiting on the model for it.
    res.on('close', () => {
      controller.abort();
      this.inFlight.delete(controller);
    });
    const body = await readBody(req).catch(() => undefined);
    if (!body) {
      res.socket?.destroy(); // the agent's request broke off
      return;
    }
    // Requests of agents already running wait too: a gate checked only when an attempt starts misses
    // every agent that was past that point when the 429 came back. Parsing the body (tens of kB, the
    // whole conversation) to learn its model is left for then.
    if (this.gate.limiting) await this.gate.wait(modelOf(body), controller.signal);
    // node:http rather than fetch: bytes pass through as they are (compressed or not) and Node's native
    // HTTP parser reads the answer; fetch's (undici, WebAssembly) cost ≈ 10 ms of CPU per agent here.
    const target = new URL(`${this.upstream.replace(/\/$/, '')}${req.url.slice(prefix.length)}`);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const upstream = send(target, {
      method: req.method,
      headers: { ...endToEndHeaders(req.headers), 'content-length': String(body.length) },
      signal: controller.signal,
    });
    upstream.on('response', (answer) => {
      const status = answer.statusCode ?? 502;
      if (status === 429 || status === 529) {
        const wait = retryAfterMs(answer.headers['retry-after'] ?? null, Date.now());
        if (wait !== undefined) this.gate.note(modelOf(body), Math.min(wait, MAX_RETRY_AFTER_MS));
      }
      res.writeHead(status, endToEndHeaders(answer.headers));
      // pipeline, not pipe: a stream cut off mid-way (the agent was killed) is an ended request, not a crash.
      pipeline(answer, res, () => undefined);
    });
    // The model is unreachable (or the agent hung up): to Claude Code that is a dropped connection, as
    // it would be without the relay.
    upstream.on('error', () => res.socket?.destroy());
    upstream.end(body);
  }
}
