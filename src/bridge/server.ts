import type { IncomingMessage, ServerResponse } from 'node:http';
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
  type ClientMessage,
  type IdeEvent,
  type ServerMessage,
  type WireErrorCode,
} from './protocol.js';
import { BridgeState, eventFilter } from './state.js';
import { HttpError, readBody, sendJson, startHttpServer, type Route } from '../http/index.js';
import { addressFile, ensureToken, readAddress, tokenFile, writeAddress } from './token.js';
import { closeOnceOrOnAbort } from './close.js';

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
  /** `bridge.token` was empty or too short to be safe, and now holds a fresh token. */
  readonly tokenRenewed: boolean;
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

const clientMessageTypes = [...ideEventTypes, 'subscribe', 'unsubscribe', 'ping'];

/** `field: problem` for each zod issue, so a client sees exactly what to fix (`types`: those the message may have). */
function describeIssues(error: z.ZodError, types: readonly string[] = clientMessageTypes): string {
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys')
        return issue.keys.map((key) => `${formatFieldPath([...issue.path, key])}: unknown field`).join('; ');
      if (issue.path.at(-1) === 'type' && issue.code === 'invalid_union')
        return `${formatFieldPath(issue.path)}: expected one of ${types.join(', ')}`;
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
function parseMessage<S extends z.ZodType>(
  text: string,
  schema: S,
  maxBytes: number,
  types?: readonly string[],
): z.output<S> {
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
  if (!parsed.success) throw new Rejection(wireErrorCodes.invalid, describeIssues(parsed.error, types));
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
const eventListSchema = z.array(ideEventSchema).min(1).max(1000);
/** One event or a list, checked as whichever it is: a union would only say neither matched, not which field is wrong. */
const postBodySchema = z.unknown().transform((data, ctx) => {
  const parsed = Array.isArray(data) ? eventListSchema.safeParse(data) : ideEventSchema.safeParse(data);
  if (parsed.success) return Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, input: undefined });
  return z.NEVER;
});

/** What every connection handler and route shares: the state, the live connections and how to reach them. */
interface Hub {
  state: BridgeState;
  events: TypedEmitter<BridgeServerEvents>;
  connections: Set<Connection>;
  maxMessageBytes: number;
  /** Sends a message, or its JSON when the same one goes to many clients (serialized once). */
  send(connection: Connection, message: ServerMessage | string): void;
  /** Stores an event and sends it to every connection with a matching subscription. */
  publish(event: IdeEvent, source: string): BridgeEvent;
}

function createHub(state: BridgeState, maxMessageBytes: number): Hub {
  const events = new TypedEmitter<BridgeServerEvents>();
  const connections = new Set<Connection>();
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
  return { state, events, connections, maxMessageBytes, send, publish };
}

function reject(hub: Hub, connection: Connection, error: Rejection, id?: string | number): void {
  hub.events.emit('rejected', { client: connection.name, code: error.code, message: error.message });
  hub.send(connection, {
    type: 'error',
    ...(id !== undefined ? { id } : {}),
    code: error.code,
    message: error.message,
  });
}

/** Handles one WebSocket message: a ping, a (un)subscribe, or an event to publish. */
function onMessage(hub: Hub, connection: Connection, data: RawData): void {
  const text = Array.isArray(data)
    ? Buffer.concat(data).toString('utf8')
    : Buffer.from(data as ArrayBuffer).toString('utf8');
  let message: ClientMessage;
  try {
    message = parseMessage(text, clientMessageSchema, hub.maxMessageBytes);
  } catch (error) {
    if (!(error instanceof Rejection)) throw error;
    // Echo the id when the message had one, so the client can tell which message was refused.
    reject(hub, connection, error, error.code === wireErrorCodes.invalid ? idOf(text) : idAtEdges(text));
    return;
  }
  const id = message.id;
  switch (message.type) {
    case 'ping':
      hub.send(connection, { type: 'pong', ...(id !== undefined ? { id } : {}), seq: hub.state.latestSeq });
      return;
    case 'unsubscribe':
      if (id === undefined) connection.subscriptions.clear();
      else connection.subscriptions.delete(id);
      hub.send(connection, { type: 'unsubscribed', ...(id !== undefined ? { id } : {}) });
      return;
    case 'subscribe':
      subscribe(hub, connection, message);
      return;
    default: {
      const stored = hub.publish(message, connection.name);
      if (id !== undefined) hub.send(connection, { type: 'ack', id, seq: stored.seq });
    }
  }
}

function subscribe(hub: Hub, connection: Connection, message: Extract<ClientMessage, { type: 'subscribe' }>): void {
  const { state } = hub;
  const id = message.id;
  const filter = {
    ...(message.types ? { types: message.types } : {}),
    ...(message.paths ? { paths: message.paths } : {}),
  };
  // Replay, then the `subscribed` reply, then live events: all sent synchronously, so nothing falls in between.
  const replay = message.since !== undefined ? state.events({ ...filter, since: message.since }) : [];
  for (const stored of replay) hub.send(connection, { type: 'event', ...stored });
  connection.subscriptions.set(id ?? '', eventFilter(filter));
  hub.send(connection, {
    type: 'subscribed',
    ...(id !== undefined ? { id } : {}),
    seq: state.latestSeq,
    oldestSeq: state.oldestSeq,
    replayed: replay.length,
  });
}

/** The WebSocket side: each upgraded socket becomes a connection, named by `?client=` or a number. */
function createWebSockets(hub: Hub): {
  wss: WebSocketServer;
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
} {
  let clientNumber = 0;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  wss.on('connection', (socket: WebSocket, name: string) => {
    const connection: Connection = { socket, name, subscriptions: new Map() };
    hub.connections.add(connection);
    socket.on('message', (data) => onMessage(hub, connection, data));
    socket.on('close', () => hub.connections.delete(connection));
    // A frame past MAX_FRAME_BYTES: ws closes this socket (1009); nothing else is affected.
    socket.on('error', () => hub.connections.delete(connection));
    hub.send(connection, {
      type: 'welcome',
      client: name,
      seq: hub.state.latestSeq,
      maxMessageBytes: hub.maxMessageBytes,
    });
  });
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://bridge');
    const name = (url.searchParams.get('client') ?? '').slice(0, 100) || `client-${++clientNumber}`;
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, name));
  };
  return { wss, upgrade };
}

/** The query parsed by `schema`, or a 400 naming each problem. */
function parseQuery<S extends z.ZodType>(url: URL, schema: S): z.output<S> {
  const parsed = schema.safeParse(Object.fromEntries(url.searchParams));
  if (!parsed.success) throw new HttpError(400, wireErrorCodes.invalid, describeIssues(parsed.error));
  return parsed.data;
}

function httpRoutes(hub: Hub): Route[] {
  const { state } = hub;
  return [
    {
      method: 'GET',
      path: '/health',
      open: true,
      handle: ({ res }) => sendJson(res, 200, { ok: true, seq: state.latestSeq, clients: hub.connections.size }),
    },
    { method: 'GET', path: '/state', handle: ({ res }) => sendJson(res, 200, state.snapshot()) },
    {
      method: 'GET',
      path: '/events',
      handle: ({ res, url }) => {
        const query = parseQuery(url, eventsQuerySchema);
        sendJson(res, 200, { latestSeq: state.latestSeq, oldestSeq: state.oldestSeq, events: state.events(query) });
      },
    },
    {
      method: 'GET',
      path: '/diagnostics',
      handle: ({ res, url }) => {
        const { paths, severity } = parseQuery(url, diagnosticsQuerySchema);
        sendJson(res, 200, { files: state.fileDiagnostics({ paths, minSeverity: severity }) });
      },
    },
    { method: 'POST', path: '/events', handle: ({ req, res }) => postEvents(hub, req, res) },
  ];
}

/** `POST /events`: one event or a list, published in order; replies with their sequence numbers. */
async function postEvents(hub: Hub, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req, hub.maxMessageBytes).catch((error: unknown) => {
    if (error instanceof HttpError && error.status === 413)
      throw new HttpError(413, wireErrorCodes.tooLarge, error.message);
    throw error;
  });
  try {
    const list = parseMessage(body, postBodySchema, hub.maxMessageBytes, ideEventTypes);
    sendJson(res, 200, { seqs: list.map((event) => hub.publish(event, 'http').seq) });
  } catch (error) {
    if (!(error instanceof Rejection)) throw error;
    throw new HttpError(400, error.code, error.message);
  }
}

/** Address errors that mean the setting is wrong (a host that is not this machine's, a port it may not use), not the moment. */
const badAddress = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EADDRNOTAVAIL', 'EACCES']);

/** Why the bridge could not listen, with what to do about a taken port or a wrong address (exit 2). */
function listenError(host: string, port: number): (cause: NodeJS.ErrnoException) => BatonError {
  return (cause) => {
    if (badAddress.has(cause.code ?? ''))
      return new BatonError(
        ErrorCodes.usage,
        `The Context Bridge could not listen on ${host}:${port} (${cause.code}): check --host or bridge_host, and --port or bridge_port.`,
        { cause },
      );
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
  };
}

/** One bridge per data_dir: a second would take over bridge.json, and clients would lose the first. */
function refuseSecondBridge(dataDir: string): void {
  const running = readAddress(dataDir);
  if (running)
    throw new BatonError(
      ErrorCodes.bridgeInvalid,
      `A Context Bridge is already running for ${dataDir} (pid ${running.pid}, ${running.url}): use it, or stop it first. If that process is not a bridge, delete ${addressFile(dataDir)}.`,
    );
}

/**
 * Starts the Context Bridge: one port serving WebSocket clients (push events, subscribe) and HTTP
 * (`GET /health`, `GET /state`, `GET /events`, `GET /diagnostics`, `POST /events`). Every client needs
 * the token, as `Authorization: Bearer <token>` or `?token=` on connect.
 */
export async function startBridge(options: BridgeServerOptions): Promise<BridgeServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 7311;
  refuseSecondBridge(options.dataDir);
  const { token, renewed: tokenRenewed } = options.token
    ? { token: options.token, renewed: false }
    : ensureToken(options.dataDir);
  const clock = options.clock ?? systemClock;
  const state = new BridgeState({ clock, ...(options.retainEvents ? { retainEvents: options.retainEvents } : {}) });
  const hub = createHub(state, options.maxMessageBytes ?? MAX_MESSAGE_BYTES);
  const { connections } = hub;
  const { wss, upgrade } = createWebSockets(hub);
  const http = await startHttpServer({
    host,
    port,
    routes: httpRoutes(hub),
    upgrade,
    access: { token, allowedHosts: options.allowedHosts, tokenHint: `it is in ${tokenFile(options.dataDir)}` },
    listenError: listenError(host, port),
  });
  const { url } = http;
  writeAddress(options.dataDir, { url, pid: process.pid });

  const close = await closeOnceOrOnAbort(options.signal, async () => {
    for (const { socket } of connections) socket.close(1001, 'bridge closing');
    wss.close();
    await http.close();
    for (const { socket } of connections) socket.terminate();
    // Only the bridge that wrote bridge.json removes it.
    const written = readAddress(options.dataDir);
    if (written?.url === url && written.pid === process.pid) rmSync(addressFile(options.dataDir), { force: true });
  });

  return {
    url,
    port: http.port,
    state,
    events: hub.events,
    get clientCount() {
      return connections.size;
    },
    tokenRenewed,
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
