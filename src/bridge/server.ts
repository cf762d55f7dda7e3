import type { IncomingMessage } from 'node:http';
import { rmSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import { BatonError, ErrorCodes, formatFieldPath, systemClock, TypedEmitter, type Clock } from '../core/index.js';
import {
  clientMessageSchema,
  ideEventSchema,
  ideEventTypes,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_BYTES,
  withoutId,
  wireErrorCodes,
  type BridgeEvent,
  type IdeEvent,
  type ServerMessage,
  type WireErrorCode,
} from './protocol.js';
import { BridgeState, eventFilter } from './state.js';
import { HttpError, readBody, sendJson, startHttpServer, type Route } from '../http/index.js';
import { addressFile, ensureToken, readAddress, tokenFile, writeAddress } from './token.js';

export interface BridgeServerOptions {
  /** Holds `bridge.token` (created when missing) and `bridge.json` (where this bridge listens). */
  dataDir: string;
  /** Default 127.0.0.1: only this machine can connect. */
  host?: string;
  /** Default 7311; 0 picks a free port. */
  port?: number;
  /** Default: the token in `data_dir/bridge.token`, created on first start. */
  token?: string;
  /** Host names accepted besides loopback and `host` (config `http_allowed_hosts`). */
  allowedHosts?: readonly string[];
  /** Recent events kept for replay and queries (default 2000). */
  retainEvents?: number;
  maxMessageBytes?: number;
  clock?: Clock;
  /** Aborting it closes the bridge. */
  signal?: AbortSignal;
}

export type BridgeServerEvents = {
  /** An event was accepted and fanned out. */
  event: BridgeEvent;
  /** A message was refused; the connection that sent it stays open. */
  rejected: { client: string; code: WireErrorCode; message: string };
};

export interface BridgeServer {
  /** `http://host:port`; WebSocket clients connect to the same address with `ws://`. */
  readonly url: string;
  readonly port: number;
  readonly state: BridgeState;
  readonly events: TypedEmitter<BridgeServerEvents>;
  /** Connected WebSocket clients. */
  readonly clientCount: number;
  close(): Promise<void>;
}

/** A subscriber whose unsent output grows past this is cut off rather than growing the bridge's memory. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

interface Connection {
  socket: WebSocket;
  name: string;
  /** Subscriptions by the client's id for them (`''` when it gave none); an event goes out once if any matches. */
  subscriptions: Map<string | number, (event: IdeEvent) => boolean>;
}

/** `field: problem` for each zod issue, so a client sees exactly what to fix. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys')
        return issue.keys.map((key) => `${formatFieldPath([...issue.path, key])}: unknown field`).join('; ');
      if (issue.path.length === 1 && issue.path[0] === 'type')
        return `type: expected one of ${[...ideEventTypes, 'subscribe', 'unsubscribe', 'ping'].join(', ')}`;
      return `${formatFieldPath(issue.path)}: ${issue.message}`;
    })
    .join('; ');
}

class Rejection extends Error {
  constructor(
    readonly code: WireErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Parses and validates one message, or says precisely why not. */
function parseMessage<S extends z.ZodType>(text: string, schema: S, maxBytes: number): z.output<S> {
  if (Buffer.byteLength(text) > maxBytes)
    throw new Rejection(
      wireErrorCodes.tooLarge,
      `message is ${Buffer.byteLength(text)} bytes; the limit is ${maxBytes}`,
    );
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Rejection(wireErrorCodes.malformedJson, `not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new Rejection(wireErrorCodes.invalid, describeIssues(parsed.error));
  return parsed.data;
}

/** `a,b,c` in a query string → ['a', 'b', 'c']. */
const csv = z
  .string()
  .optional()
  .transform((s) => (s ? s.split(',').filter(Boolean) : undefined));
const eventsQuerySchema = z
  .object({
    since: z.coerce.number().int().min(0).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).optional(),
    types: csv.pipe(z.array(z.enum(ideEventTypes)).optional()),
    paths: csv,
  })
  .strict();
const diagnosticsQuerySchema = z
  .object({ paths: csv, severity: z.enum(['error', 'warning', 'info', 'hint']).optional() })
  .strict();
const postBodySchema = z.union([ideEventSchema, z.array(ideEventSchema).min(1).max(1000)]);

/**
 * Starts the Context Bridge: one port serving WebSocket clients (push events, subscribe) and HTTP
 * (`GET /health`, `GET /state`, `GET /events`, `GET /diagnostics`, `POST /events`). Every client needs
 * the token, as `Authorization: Bearer <token>` or `?token=` on connect.
 */
export async function startBridge(options: BridgeServerOptions): Promise<BridgeServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? ensureToken(options.dataDir);
  const maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  const clock = options.clock ?? systemClock;
  const state = new BridgeState({ clock, ...(options.retainEvents ? { retainEvents: options.retainEvents } : {}) });
  const events = new TypedEmitter<BridgeServerEvents>();
  const connections = new Set<Connection>();
  let clientNumber = 0;

  /** Sends a message, or its JSON when the same one goes to many clients (serialized once). */
  const send = (connection: Connection, message: ServerMessage | string): void => {
    if (connection.socket.readyState !== connection.socket.OPEN) return;
    if (connection.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      connection.socket.close(1013, 'subscriber too slow: it fell more than 64 MiB behind');
      return;
    }
    connection.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  };

  const publish = (event: IdeEvent, source: string): BridgeEvent => {
    const stored = state.apply(withoutId(event), source);
    const message = JSON.stringify({ type: 'event', ...stored } satisfies ServerMessage);
    for (const connection of connections) {
      for (const matches of connection.subscriptions.values()) {
        if (!matches(stored.event)) continue;
        send(connection, message);
        break;
      }
    }
    events.emit('event', stored);
    return stored;
  };

  const reject = (connection: Connection, error: Rejection, id?: string | number): void => {
    events.emit('rejected', { client: connection.name, code: error.code, message: error.message });
    send(connection, { type: 'error', ...(id !== undefined ? { id } : {}), code: error.code, message: error.message });
  };

  const onMessage = (connection: Connection, data: RawData): void => {
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as ArrayBuffer).toString('utf8');
    let message: z.output<typeof clientMessageSchema>;
    try {
      message = parseMessage(text, clientMessageSchema, maxMessageBytes);
    } catch (error) {
      if (!(error instanceof Rejection)) throw error;
      // Echo the id when the message had one, so the client can tell which message was refused.
      reject(connection, error, error.code === wireErrorCodes.invalid ? idOf(text) : idAtEdges(text));
      return;
    }
    const id = message.id;
    switch (message.type) {
      case 'ping':
        send(connection, { type: 'pong', ...(id !== undefined ? { id } : {}), seq: state.latestSeq });
        return;
      case 'unsubscribe':
        if (id === undefined) connection.subscriptions.clear();
        else connection.subscriptions.delete(id);
        send(connection, { type: 'unsubscribed', ...(id !== undefined ? { id } : {}) });
        return;
      case 'subscribe': {
        const filter = {
          ...(message.types ? { types: message.types } : {}),
          ...(message.paths ? { paths: message.paths } : {}),
        };
        // Replay, then the `subscribed` reply, then live events: all sent synchronously, so nothing falls in between.
        const replay = message.since !== undefined ? state.events({ ...filter, since: message.since }) : [];
        for (const stored of replay) send(connection, { type: 'event', ...stored });
        connection.subscriptions.set(id ?? '', eventFilter(filter));
        send(connection, {
          type: 'subscribed',
          ...(id !== undefined ? { id } : {}),
          seq: state.latestSeq,
          oldestSeq: state.oldestSeq,
          replayed: replay.length,
        });
        return;
      }
      default: {
        const stored = publish(message, connection.name);
        if (id !== undefined) send(connection, { type: 'ack', id, seq: stored.seq });
      }
    }
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  wss.on('connection', (socket: WebSocket, name: string) => {
    const connection: Connection = { socket, name, subscriptions: new Map() };
    connections.add(connection);
    socket.on('message', (data) => onMessage(connection, data));
    socket.on('close', () => connections.delete(connection));
    // A frame past MAX_FRAME_BYTES: ws closes this socket (1009); nothing else is affected.
    socket.on('error', () => connections.delete(connection));
    send(connection, { type: 'welcome', client: name, seq: state.latestSeq, maxMessageBytes });
  });

  const badQuery = (error: z.ZodError) => new HttpError(400, wireErrorCodes.invalid, describeIssues(error));
  const query = (url: URL): Record<string, string> => {
    url.searchParams.delete('token');
    return Object.fromEntries(url.searchParams);
  };
  const routes: Route[] = [
    {
      method: 'GET',
      path: '/health',
      open: true,
      handle: ({ res }) => sendJson(res, 200, { ok: true, seq: state.latestSeq, clients: connections.size }),
    },
    { method: 'GET', path: '/state', handle: ({ res }) => sendJson(res, 200, state.snapshot()) },
    {
      method: 'GET',
      path: '/events',
      handle: ({ res, url }) => {
        const parsed = eventsQuerySchema.safeParse(query(url));
        if (!parsed.success) throw badQuery(parsed.error);
        sendJson(res, 200, {
          latestSeq: state.latestSeq,
          oldestSeq: state.oldestSeq,
          events: state.events(parsed.data),
        });
      },
    },
    {
      method: 'GET',
      path: '/diagnostics',
      handle: ({ res, url }) => {
        const parsed = diagnosticsQuerySchema.safeParse(query(url));
        if (!parsed.success) throw badQuery(parsed.error);
        const { paths, severity } = parsed.data;
        sendJson(res, 200, { files: state.fileDiagnostics({ paths, minSeverity: severity }) });
      },
    },
    {
      method: 'POST',
      path: '/events',
      handle: async ({ req, res }) => {
        const body = await readBody(req, maxMessageBytes).catch((error: unknown) => {
          if (error instanceof HttpError && error.status === 413)
            throw new HttpError(413, wireErrorCodes.tooLarge, error.message);
          throw error;
        });
        try {
          const parsed = parseMessage(body, postBodySchema, maxMessageBytes);
          const list = Array.isArray(parsed) ? parsed : [parsed];
          sendJson(res, 200, { seqs: list.map((event) => publish(event, 'http').seq) });
        } catch (error) {
          if (!(error instanceof Rejection)) throw error;
          throw new HttpError(400, error.code, error.message);
        }
      },
    },
  ];

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://bridge');
    const name = (url.searchParams.get('client') ?? '').slice(0, 100) || `client-${++clientNumber}`;
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, name));
  };

  const http = await startHttpServer({
    host,
    port: options.port ?? 7311,
    routes,
    upgrade,
    access: { token, allowedHosts: options.allowedHosts, tokenHint: `it is in ${tokenFile(options.dataDir)}` },
    listenError: (cause) => {
      const port = options.port ?? 7311;
      const why =
        cause.code === 'EADDRINUSE'
          ? `port ${port} is taken (another bridge?); choose one with --port or bridge_port`
          : cause.message;
      return new BatonError(
        ErrorCodes.bridgeUnavailable,
        `The Context Bridge could not listen on ${host}:${port}: ${why}.`,
        {
          cause,
        },
      );
    },
  });
  const { url, port } = http;
  writeAddress(options.dataDir, { url, pid: process.pid });

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      options.signal?.removeEventListener('abort', onAbort);
      for (const { socket } of connections) socket.close(1001, 'bridge closing');
      wss.close();
      await http.close();
      for (const { socket } of connections) socket.terminate();
      // Only the bridge that wrote bridge.json removes it (a second one on another port may have replaced it).
      if (readAddress(options.dataDir)?.url === url) rmSync(addressFile(options.dataDir), { force: true });
    })());
  const onAbort = (): void => void close();
  if (options.signal?.aborted) await close();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  return {
    url,
    port,
    state,
    events,
    get clientCount() {
      return connections.size;
    },
    close,
  };
}

/** The `id` of a message that failed validation, if it had a usable one. */
function idOf(text: string): string | number | undefined {
  try {
    const id = (JSON.parse(text) as { id?: unknown }).id;
    return typeof id === 'string' || typeof id === 'number' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `id` of a message too large or too broken to parse, when it is its first or last field
 * (as BridgeClient writes it): found without reading the whole text.
 */
function idAtEdges(text: string): string | number | undefined {
  const value = String.raw`"id"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,15})`;
  const found =
    new RegExp(String.raw`^\s*\{\s*${value}`).exec(text.slice(0, 300)) ??
    new RegExp(String.raw`[{,]\s*${value}\s*\}\s*$`).exec(text.slice(-300));
  try {
    return found ? (JSON.parse(found[1]!) as string | number) : undefined;
  } catch {
    return undefined; // an invalid escape inside the id
  }
}
