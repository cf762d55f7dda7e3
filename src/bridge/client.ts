import WebSocket from 'ws';
import { BatonError, ErrorCodes, TypedEmitter } from '../core/index.js';
import {
  serverMessageSchema,
  type BridgeEvent,
  type IdeEventInput,
  type SubscriptionFilter,
  type WireErrorCode,
} from './protocol.js';
import { readAddress, readToken } from './token.js';

/** A WebSocket message as text, whichever of its binary forms `ws` delivers it in. */
const messageText = (data: WebSocket.RawData): string =>
  (Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data).toString('utf8');

/** Where a bridge listens and the token it wants. */
export interface BridgeEndpoint {
  /** `http://host:port` */
  url: string;
  token: string;
}

/**
 * The bridge for a data_dir: the address a running bridge wrote to `bridge.json`, else
 * `bridge_host:bridge_port`; the token from `bridge.token`.
 */
export function locateBridge(options: { dataDir: string; host: string; port: number }): BridgeEndpoint {
  const url =
    readAddress(options.dataDir)?.url ??
    `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
  return { url, token: readToken(options.dataDir) };
}

/** A refusal from the bridge (`{type: 'error'}`), for the message that caused it. */
export class BridgeRequestError extends Error {
  constructor(
    readonly code: WireErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BridgeRequestError';
  }
}

export type BridgeClientEvents = {
  event: BridgeEvent;
  /** A refusal of a message sent without an id (with an id, the sending call rejects instead). */
  refused: BridgeRequestError;
  close: { code: number; reason: string };
};

interface Pending {
  resolve: (message: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

/**
 * A WebSocket client of the Context Bridge: IDE clients push events with it, agents' helpers and
 * watchers subscribe. Every call that waits for the bridge settles when it answers or the socket closes.
 */
export class BridgeClient {
  readonly events = new TypedEmitter<BridgeClientEvents>();
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.onMessage(messageText(data)));
    socket.on('close', (code, reason) => {
      for (const p of this.pending.values())
        p.reject(
          new BatonError(
            ErrorCodes.bridgeUnavailable,
            `The Context Bridge connection closed (${code} ${reason.toString()}).`,
          ),
        );
      this.pending.clear();
      this.events.emit('close', { code, reason: reason.toString() });
    });
  }

  /** Connects and waits for the bridge's welcome; a wrong token fails with BATON_BRIDGE_UNAVAILABLE. */
  static connect(
    endpoint: BridgeEndpoint,
    options: { name?: string; signal?: AbortSignal } = {},
  ): Promise<BridgeClient> {
    const url = new URL(endpoint.url.replace(/^http/, 'ws'));
    if (options.name) url.searchParams.set('client', options.name);
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${endpoint.token}` } });
    return new Promise<BridgeClient>((resolve, reject) => {
      const fail = (why: string, cause?: unknown) => {
        options.signal?.removeEventListener('abort', onAbort);
        socket.terminate();
        reject(
          new BatonError(
            ErrorCodes.bridgeUnavailable,
            `Could not connect to the Context Bridge at ${endpoint.url}: ${why}.`,
            { cause },
          ),
        );
      };
      const onAbort = () => fail('cancelled');
      options.signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('unexpected-response', (_req, res) =>
        fail(
          res.statusCode === 401
            ? 'it refused the token (401); use the one in data_dir/bridge.token'
            : `HTTP ${res.statusCode}`,
        ),
      );
      socket.once('error', (error) => fail(error.message, error));
      // The welcome is the first message: the client is usable once it arrived.
      socket.once('message', () => {
        options.signal?.removeEventListener('abort', onAbort);
        socket.removeAllListeners('error');
        socket.on('error', () => undefined); // a later error is followed by 'close', reported there
        resolve(new BridgeClient(socket));
      });
    });
  }

  /** Pushes an event and waits until the bridge accepted it; returns its sequence number. */
  async push(event: IdeEventInput): Promise<number> {
    const reply = await this.request({ ...event });
    return reply.seq as number;
  }

  /** Pushes without waiting for an acknowledgement (a refusal arrives as an `error` event). */
  send(event: IdeEventInput): void {
    this.socket.send(JSON.stringify(event));
  }

  /** Sends raw text as one message, exactly as given (tests and diagnostics). */
  sendRaw(text: string): void {
    this.socket.send(text);
  }

  /**
   * Subscribes to events matching the filter; with `since`, retained events after it come first.
   * Resolves once the subscription is active.
   */
  async subscribe(
    filter: SubscriptionFilter & { since?: number } = {},
  ): Promise<{ seq: number; oldestSeq: number; replayed: number }> {
    const reply = await this.request({ type: 'subscribe', ...filter });
    return { seq: reply.seq as number, oldestSeq: reply.oldestSeq as number, replayed: reply.replayed as number };
  }

  async ping(): Promise<number> {
    return (await this.request({ type: 'ping' })).seq as number;
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close(1000);
    });
  }

  private request(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = `c${++this.nextId}`;
    return new Promise((resolve, reject) => {
      if (this.socket.readyState !== WebSocket.OPEN) {
        reject(new BatonError(ErrorCodes.bridgeUnavailable, 'The Context Bridge connection is closed.'));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ ...message, id }));
    });
  }

  private onMessage(text: string): void {
    const parsed = serverMessageSchema.safeParse(JSON.parse(text));
    if (!parsed.success) return;
    const message = parsed.data as Record<string, unknown> & { type: string; id?: string };
    if (message.type === 'event') {
      const { type: _type, ...event } = message;
      this.events.emit('event', event as unknown as BridgeEvent);
      return;
    }
    const pending = message.id !== undefined ? this.pending.get(String(message.id)) : undefined;
    if (message.type === 'error') {
      const error = new BridgeRequestError(message.code as WireErrorCode, String(message.message));
      if (pending) pending.reject(error);
      else this.events.emit('refused', error);
    } else pending?.resolve(message);
    if (pending) this.pending.delete(String(message.id));
  }
}

/** GET a JSON resource of a running bridge, e.g. `/state`. */
export async function fetchBridge<T>(
  endpoint: BridgeEndpoint,
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(new URL(path, endpoint.url), {
      headers: { authorization: `Bearer ${endpoint.token}` },
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    throw new BatonError(
      ErrorCodes.bridgeUnavailable,
      `The Context Bridge is not running at ${endpoint.url} (start it with \`baton bridge\`): ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}.`,
      { cause: error },
    );
  }
  const body = (await response.json()) as T & { error?: { message: string } };
  if (!response.ok)
    throw new BatonError(
      ErrorCodes.bridgeUnavailable,
      `The Context Bridge answered ${response.status} for ${path}: ${body.error?.message ?? 'no reason given'}.`,
    );
  return body;
}
