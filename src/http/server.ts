import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { checkAccess, checkOrigin, isRefusal, tokenCookie, type AccessRules, type Refusal } from './access.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** An error a handler throws to answer with `status` and a JSON error body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The groups a RegExp path captured, decoded. */
  params: string[];
  /** Who holds the token the request carried, when it is one of `AccessRules.holders`. */
  holder?: string;
}

export interface Route {
  method: HttpMethod;
  /** An exact path, or a pattern (anchored by the caller) whose groups become `params`. */
  path: string | RegExp;
  /** Answered without the token (health checks). */
  open?: boolean;
  handle(context: RouteContext): Promise<void> | void;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  /** Each route answers only its method; another method on its path is 405 with `Allow`. */
  routes?: readonly Route[];
  /** Instead of routes, one handler for every request that passed the host and token checks (the scripted model server). */
  handle?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** Default: loopback Host names only, no token. */
  access?: AccessRules;
  /** The JSON body of an error (default `{ error: { code, message } }`), for servers that mimic another API. */
  errorBody?: (status: number, code: string, message: string) => unknown;
  /** WebSocket upgrades that passed the host, token and origin checks. */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** The error to throw when the port cannot be bound. */
  listenError: (cause: NodeJS.ErrnoException) => Error;
}

export interface HttpService {
  /** `http://host:port` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Stops listening and cuts every open connection (hanging requests and event streams included). */
  close(): Promise<void>;
}

const defaultErrorBody = (_status: number, code: string, message: string) => ({ error: { code, message } });

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers })
    .end(JSON.stringify(body));
}

/** How much of an over-limit body is read and dropped so the client gets its 413 rather than a reset. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * The request body as text. Over `limit` bytes it is an HttpError 413, thrown once the rest has been
 * read and dropped: a client still sending on a kept-alive connection then reads the answer instead of
 * ECONNRESET. A body past the drain limit too is cut off with the connection.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
    else if (size > limit + DRAIN_LIMIT_BYTES) {
      req.socket.destroy();
      break;
    }
  }
  if (size > limit) throw new HttpError(413, 'too_large', `body is over the ${limit}-byte limit`);
  return Buffer.concat(chunks).toString('utf8');
}

function matchRoute(route: Route, pathname: string): string[] | undefined {
  if (typeof route.path === 'string') return route.path === pathname ? [] : undefined;
  const found = route.path.exec(pathname);
  if (!found) return undefined;
  try {
    return found.slice(1).map((group) => decodeURIComponent(group ?? ''));
  } catch {
    // Not valid percent-encoding: no route's, so it is answered as any unknown path, after the access checks.
    return undefined;
  }
}

type Dispatch =
  { refusal: Refusal } | { route: Route; params: string[]; holder?: string } | { redirect: string; cookie: string };

/** Host, token, path, method, origin, in that order: each later check tells a stranger nothing earlier ones hide. */
function dispatch(req: IncomingMessage, url: URL, options: HttpServerOptions): Dispatch {
  const access = options.access ?? {};
  const candidates = (options.routes ?? []).flatMap((route) => {
    const params = matchRoute(route, url.pathname);
    return params ? [{ route, params }] : [];
  });
  const chosen = candidates.find(({ route }) => route.method === req.method);
  const admitted = checkAccess(req, url, access, options.host, chosen?.route.open === true);
  if (isRefusal(admitted)) return { refusal: admitted };
  if (candidates.length === 0)
    return { refusal: { status: 404, code: 'not_found', message: `nothing at ${url.pathname}` } };
  if (!chosen) {
    const allow = [...new Set(candidates.map(({ route }) => route.method))].join(', ');
    return {
      refusal: {
        status: 405,
        code: 'method_not_allowed',
        message: `${url.pathname} answers ${allow} only`,
        headers: { allow },
      },
    };
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const crossSite = checkOrigin(req, access, options.host);
    if (crossSite) return { refusal: crossSite };
  }
  const cookie = tokenCookie(req, url, access);
  if (cookie) {
    url.searchParams.delete('token');
    return { redirect: `${url.pathname}${url.search}`, cookie };
  }
  return { ...chosen, ...admitted };
}

function fail(res: ServerResponse, options: HttpServerOptions, error: unknown): void {
  const known = error instanceof HttpError ? error : undefined;
  const status = known?.status ?? 500;
  const body = (options.errorBody ?? defaultErrorBody)(status, known?.code ?? 'internal', (error as Error).message);
  if (res.headersSent) res.end();
  else sendJson(res, status, body, known?.headers);
}

async function answer(req: IncomingMessage, res: ServerResponse, options: HttpServerOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://server');
  if (options.handle) {
    const admitted = checkAccess(req, url, options.access ?? {}, options.host, false);
    if (isRefusal(admitted)) throw new HttpError(admitted.status, admitted.code, admitted.message);
    return options.handle(req, res);
  }
  const result = dispatch(req, url, options);
  if ('refusal' in result) {
    const { status, code, message, headers } = result.refusal;
    throw new HttpError(status, code, message, headers);
  }
  if ('redirect' in result) {
    res.writeHead(303, { location: result.redirect, 'set-cookie': result.cookie, 'cache-control': 'no-store' }).end();
    return;
  }
  await result.route.handle({
    req,
    res,
    url,
    params: result.params,
    ...(result.holder ? { holder: result.holder } : {}),
  });
}

/** Refuses an upgrade that fails the same checks as a request, on the raw socket. */
function guardUpgrade(req: IncomingMessage, socket: Duplex, options: HttpServerOptions): boolean {
  const url = new URL(req.url ?? '/', 'http://server');
  const admitted = checkAccess(req, url, options.access ?? {}, options.host, false);
  const refusal = isRefusal(admitted) ? admitted : checkOrigin(req, options.access ?? {}, options.host);
  if (!refusal) return true;
  const reason = refusal.status === 401 ? 'Unauthorized' : 'Forbidden';
  socket.end(
    `HTTP/1.1 ${refusal.status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${refusal.message}\n`,
  );
  return false;
}

async function listen(server: Server, port: number, host: string, listenError: HttpServerOptions['listenError']) {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((cause: NodeJS.ErrnoException) => {
    throw listenError(cause);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw listenError(new Error('no TCP address'));
  return address.port;
}

/**
 * Every HTTP server of Baton starts here, so the rules hold for all of them: loopback Host names only
 * (plus those listed), the token, each route its methods, same-origin state changes, bodies with a
 * limit, JSON errors, and one close that cuts every connection.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpService> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    answer(req, res, options).catch((error: unknown) => fail(res, options, error));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const upgrade = options.upgrade;
  if (upgrade)
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (guardUpgrade(req, socket, options)) upgrade(req, socket, head);
    });
  const port = await listen(server, options.port, options.host, options.listenError);
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      })),
  };
}
