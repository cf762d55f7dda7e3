import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  GetPromptResultSchema,
  isInitializeRequest,
  ListPromptsRequestSchema,
  ListPromptsResultSchema,
  ListResourcesRequestSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesRequestSchema,
  ListResourceTemplatesResultSchema,
  ListToolsRequestSchema,
  ListToolsResultSchema,
  McpError,
  ReadResourceRequestSchema,
  ReadResourceResultSchema,
  type Progress,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { gatewayTokenHeader, type McpLaunchConfig } from './catalog.js';
import { UncountedFailure } from './server-breaker.js';
import { newGatewayToken } from './setup.js';
import { isListMethod, StdioUpstream, type ListChangedMethod, type UpstreamOptions } from './upstream.js';

/** How a request through the gateway went, for the breaker and the metrics. */
export interface GatewayCall {
  server: string;
  method: string;
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export interface McpGatewayOptions {
  /** The run's secret (see `newGatewayToken`); made here when not given. */
  token?: string;
  /** Runs each forwarded request: the McpManager passes it through the server's circuit breaker. */
  guard?: <T>(server: string, request: () => Promise<T>) => Promise<T>;
  onCall?: (call: GatewayCall) => void;
  onLifecycle?: UpstreamOptions['onLifecycle'];
  maxRestarts?: number;
  restartBaseDelayMs?: number;
  /** The environment shared servers inherit, under their own `env` (default: this process's). */
  inherit?: NodeJS.ProcessEnv;
  /** How long a shared server's start may take, and a request wait for it (`mcp_timeout_ms` in a run). */
  startTimeoutMs?: number;
  /**
   * How long a request may wait for its answer (`mcp_call_timeout_ms` in a run; default: no bound
   * short of a day); progress the server reports starts the wait again.
   */
  callTimeoutMs?: number;
  /** How long a session whose client has gone is kept (see `ABANDONED_SESSION_MS`). */
  abandonedSessionMs?: number;
}

/**
 * Claude Code never ends its MCP session (no DELETE) when it exits; its standing stream (GET) just
 * closes. A session with no stream or request open for this long, after it had a stream, is taken as
 * abandoned and closed, so a long run does not keep a session per agent that ever ran. Generous: a live
 * client whose stream dropped reopens it within seconds.
 */
const ABANDONED_SESSION_MS = 5 * 60_000;

/** What a session's client has open, and when it was last heard from. */
interface SessionUse {
  open: number;
  hadStream: boolean;
  lastSeen: number;
}

/** What the gateway forwards, by the capability the upstream server must declare for it. */
const forwarded = [
  { capability: 'tools', request: ListToolsRequestSchema, result: ListToolsResultSchema },
  { capability: 'tools', request: CallToolRequestSchema, result: CallToolResultSchema },
  { capability: 'resources', request: ListResourcesRequestSchema, result: ListResourcesResultSchema },
  { capability: 'resources', request: ListResourceTemplatesRequestSchema, result: ListResourceTemplatesResultSchema },
  { capability: 'resources', request: ReadResourceRequestSchema, result: ReadResourceResultSchema },
  { capability: 'prompts', request: ListPromptsRequestSchema, result: ListPromptsResultSchema },
  { capability: 'prompts', request: GetPromptRequestSchema, result: GetPromptResultSchema },
] as const;

/**
 * Baton's MCP gateway: each stdio server a run shares (`scope: run`) is started once, as Baton's
 * child, and every agent reaches it as a Streamable HTTP MCP server on loopback. Each agent gets its
 * own MCP session (an SDK `Server` + `StreamableHTTPServerTransport`) whose requests are forwarded to
 * the one upstream SDK `Client`. Every request must carry the run's secret header.
 */
export class McpGateway {
  private readonly upstreams = new Map<string, StdioUpstream>();
  /** Agents' sessions by server and session id: a session is reached only at its own server's path. */
  private readonly sessions = new Map<string, StreamableHTTPServerTransport>();
  private readonly use = new Map<StreamableHTTPServerTransport, SessionUse>();
  private readonly sweep: NodeJS.Timeout;
  /** The agents' sessions of each shared server, told when its lists of tools, resources or prompts change. */
  private readonly listeners = new Map<string, Set<Server>>();
  private readonly secret: Buffer;
  /**
   * The `Host` values a client of this loopback server sends: any other is a browser led here by a
   * DNS name (rebinding), refused as every Baton server refuses it — compared as strings, per request.
   */
  private readonly hosts: ReadonlySet<string>;

  private constructor(
    private readonly http: HttpServer,
    readonly token: string,
    readonly port: number,
    private readonly options: McpGatewayOptions,
  ) {
    this.secret = Buffer.from(token);
    this.hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
    const abandonedMs = options.abandonedSessionMs ?? ABANDONED_SESSION_MS;
    this.sweep = setInterval(() => this.closeAbandoned(abandonedMs), Math.max(10, abandonedMs / 5));
    this.sweep.unref();
  }

  /** Notes a request of a session's client: open until its response closes (a GET is the standing stream). */
  private noteUse(transport: StreamableHTTPServerTransport, req: IncomingMessage, res: ServerResponse): void {
    const use = this.use.get(transport) ?? { open: 0, hadStream: false, lastSeen: Date.now() };
    this.use.set(transport, use);
    use.open++;
    if (req.method === 'GET') use.hadStream = true;
    res.on('close', () => {
      use.open--;
      use.lastSeen = Date.now();
    });
  }

  private closeAbandoned(abandonedMs: number): void {
    const now = Date.now();
    for (const [transport, use] of this.use)
      if (use.hadStream && use.open === 0 && now - use.lastSeen >= abandonedMs) {
        this.use.delete(transport);
        void transport.close().catch(() => undefined);
      }
  }

  static async start(options: McpGatewayOptions = {}): Promise<McpGateway> {
    const token = options.token ?? newGatewayToken();
    // eslint-disable-next-line prefer-const -- a const would be read before it is set (TDZ) by an early request
    let gateway: McpGateway | undefined;
    const http = createServer((req, res) => void gateway?.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(0, '127.0.0.1', () => resolve());
    });
    gateway = new McpGateway(http, token, (http.address() as AddressInfo).port, options);
    return gateway;
  }

  /**
   * The upstream for a server, started on first use (the preflight's client is the one kept); it
   * inherits `inherit`, else the gateway's.
   */
  upstream(
    name: string,
    config: Extract<McpLaunchConfig, { command: string }>,
    cwd?: string,
    inherit = this.options.inherit,
  ): StdioUpstream {
    let upstream = this.upstreams.get(name);
    if (!upstream) {
      const { maxRestarts, restartBaseDelayMs, startTimeoutMs, onLifecycle } = this.options;
      const onListChanged = (method: ListChangedMethod) => this.tellSessions(name, method);
      const restarts = { maxRestarts, restartBaseDelayMs, startTimeoutMs };
      upstream = new StdioUpstream({ name, config, cwd, inherit, ...restarts, onLifecycle, onListChanged });
      this.upstreams.set(name, upstream);
    }
    return upstream;
  }

  private tellSessions(name: string, method: ListChangedMethod): void {
    for (const server of this.listeners.get(name) ?? []) void server.notification({ method }).catch(() => undefined);
  }

  /** The config Claude Code gets for a shared server: this gateway's URL and the run's secret. */
  launchConfig(name: string): McpLaunchConfig {
    return { type: 'http', url: this.url(name), headers: { [gatewayTokenHeader]: this.token } };
  }

  url(name: string): string {
    return `http://127.0.0.1:${this.port}/mcp/${encodeURIComponent(name)}`;
  }

  /** Agents' MCP sessions open now, over every shared server (for checks that none outlive their agent). */
  get sessionCount(): number {
    return [...this.listeners.values()].reduce((sum, servers) => sum + servers.size, 0);
  }

  /** Process ids of the servers running now (for checks that none outlive the run). */
  pids(): number[] {
    return [...this.upstreams.values()].flatMap((u) => (u.pid === null ? [] : [u.pid]));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!this.hosts.has(req.headers.host ?? '')) return reply(res, 403, 'forbidden host: use 127.0.0.1');
      if (!this.authorized(req)) return reply(res, 401, 'missing or wrong gateway token');
      const upstream = this.upstreams.get(serverNamed(req.url) ?? '');
      if (!upstream) return reply(res, 404, 'no shared MCP server of this run at this path');
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      if (body instanceof SyntaxError) return reply(res, 400, `the request is not JSON: ${body.message}`);
      const sessionId = req.headers['mcp-session-id'];
      let transport =
        typeof sessionId === 'string' ? this.sessions.get(sessionKey(upstream.name, sessionId)) : undefined;
      const opening = !transport && sessionId === undefined && isInitializeRequest(body);
      if (opening) transport = await this.open(upstream);
      if (!transport) return reply(res, 404, 'unknown or missing MCP session');
      this.noteUse(transport, req, res);
      await transport.handleRequest(req, res, body);
      // An initialize the SDK refused (a wrong Accept header, say) leaves a session without an id: no
      // later request can reach it, nor the sweep (it never had a standing stream), so it goes now.
      if (opening && transport.sessionId === undefined) await transport.close();
    } catch (error) {
      if (!res.headersSent) reply(res, 500, error instanceof Error ? error.message : String(error));
    }
  }

  /**
   * Compared in constant time. Only the length can tell here, which is no secret (`newGatewayToken`
   * makes every token 43 characters); hashing both sides to hide it too cost ≈ 0.1 ms of CPU a call.
   */
  private authorized(req: IncomingMessage): boolean {
    const given = req.headers[gatewayTokenHeader];
    if (typeof given !== 'string') return false;
    const bytes = Buffer.from(given);
    return bytes.length === this.secret.length && timingSafeEqual(bytes, this.secret);
  }

  /** A new agent session: an SDK server offering what the upstream offers, forwarding each request. */
  private async open(upstream: StdioUpstream): Promise<StreamableHTTPServerTransport> {
    const client = await upstream.forRequest();
    const info = client.getServerVersion() ?? { name: upstream.name, version: '0' };
    const offered = offeredCapabilities(client.getServerCapabilities());
    const server = new Server(
      { name: info.name, version: info.version },
      { capabilities: offered, instructions: client.getInstructions() },
    );
    this.forwardRequests(server, offered, upstream);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // Plain JSON answers, not an SSE stream per request (a stream costs milliseconds per call);
      // notifications go on the session's standing stream (GET) instead.
      enableJsonResponse: true,
      onsessioninitialized: (id) => void this.sessions.set(sessionKey(upstream.name, id), transport),
    });
    const listeners = this.listeners.get(upstream.name) ?? new Set<Server>();
    this.listeners.set(upstream.name, listeners.add(server));
    transport.onclose = () => {
      listeners.delete(server);
      this.use.delete(transport);
      if (transport.sessionId) this.sessions.delete(sessionKey(upstream.name, transport.sessionId));
    };
    await server.connect(transport);
    return transport;
  }

  /** Each request the upstream's capabilities allow goes to its live client; a call's progress comes back. */
  private forwardRequests(server: Server, offered: ServerCapabilities, upstream: StdioUpstream): void {
    for (const { capability, request, result } of forwarded) {
      if (!offered[capability]) continue;
      server.setRequestHandler(request, (message, extra) => {
        const progressToken = message.params?._meta?.progressToken;
        // Answers are plain JSON, so progress goes on the session's standing stream; the client
        // matches it to its call by the token.
        const onprogress =
          progressToken === undefined
            ? undefined
            : (progress: Progress) =>
                void server
                  .notification({ method: 'notifications/progress', params: { ...progress, progressToken } })
                  .catch(() => undefined);
        return this.forward(upstream, message.method, extra.signal, async (live) => {
          const answer = await live.request(message, result, {
            signal: extra.signal,
            timeout: this.callTimeoutMs,
            resetTimeoutOnProgress: true,
            ...(onprogress ? { onprogress } : {}),
          });
          const firstPage = !(message.params as { cursor?: string } | undefined)?.cursor;
          if (isListMethod(message.method) && firstPage) upstream.showed(message.method, answer);
          return answer;
        });
      });
    }
  }

  /** Forwards one request to the live upstream client, through the guard, and reports how it went. */
  private async forward<T>(
    upstream: StdioUpstream,
    method: string,
    agentSignal: AbortSignal,
    send: (client: Client) => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    const report = (ok: boolean, error?: unknown) =>
      this.options.onCall?.({
        server: upstream.name,
        method,
        ok,
        latencyMs: performance.now() - started,
        ...(error ? { error: error instanceof Error ? error.message : JSON.stringify(error) } : {}),
      });
    // A call cut off by a crash, or cancelled by its agent, fails but is not counted by the breaker,
    // neither way: the crash counts once (one crash under three agents' calls must not open the
    // breaker for the restarted server), and a cancel says nothing about the server.
    const run = async () => {
      const live = await upstream.forRequest();
      try {
        return await send(live);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code === ErrorCode.RequestTimeout && !agentSignal.aborted) throw this.unanswered(upstream.name, method);
        if (code !== ErrorCode.ConnectionClosed && !agentSignal.aborted) throw error;
        throw new UncountedFailure(error);
      }
    };
    try {
      const result = await (this.options.guard ? this.options.guard(upstream.name, run) : run());
      upstream.answered();
      report(true);
      return result;
    } catch (caught) {
      const error = caught instanceof UncountedFailure ? caught.failure : caught;
      report(false, error);
      throw error;
    }
  }

  private get callTimeoutMs(): number {
    return this.options.callTimeoutMs ?? 24 * 3_600_000;
  }

  /** A request the server, alive, left unanswered: an MCP timeout the breaker counts, naming what to raise. */
  private unanswered(server: string, method: string): McpError {
    const limit = `${this.callTimeoutMs} ms (mcp_call_timeout_ms)`;
    return new McpError(ErrorCode.RequestTimeout, `MCP server "${server}" did not answer ${method} within ${limit}`);
  }

  /** Stops every shared server and the HTTP listener. */
  async close(): Promise<void> {
    clearInterval(this.sweep);
    await Promise.all([...this.sessions.values()].map((t) => t.close().catch(() => undefined)));
    this.sessions.clear();
    await Promise.all([...this.upstreams.values()].map((u) => u.close()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

/**
 * What the gateway offers an agent: the upstream's tools, resources and prompts, each of whose lists
 * may change, if not while the server runs then across a restart, which the gateway tells of (see
 * `StdioUpstream.compareLists`).
 */
function offeredCapabilities(upstream: ServerCapabilities | undefined): ServerCapabilities {
  const offered = (['tools', 'resources', 'prompts'] as const).filter((capability) => upstream?.[capability]);
  return Object.fromEntries(offered.map((capability) => [capability, { listChanged: true }]));
}

/** The shared server a request's path names (`/mcp/<name>`, as `url` makes it), if it names one. */
function serverNamed(url: string | undefined): string | undefined {
  const path = (url ?? '/').split('?', 1)[0]!; // a request's URL is its path (and query): no URL parse per call
  const segment = /^\/mcp\/([^/]+)$/.exec(path)?.[1];
  try {
    return segment === undefined ? undefined : decodeURIComponent(segment);
  } catch {
    return undefined; // not valid percent-encoding: no name Baton made
  }
}

const sessionKey = (server: string, sessionId: string): string => `${server}\0${sessionId}`;

function reply(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: message }));
}

/** The request's JSON body; a body that is not JSON is returned as its SyntaxError, to be answered 400. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return error;
    throw error;
  }
}
