import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  buildMessage,
  errorBody,
  formatSse,
  messageEvents,
  roughTokenCount,
  viewRequest,
  type MessagesRequestBody,
  type ReplyUsage,
} from './anthropic.js';
import { readBody, startHttpServer, type HttpService } from '../http/index.js';
import {
  checkScript,
  ScriptPlayer,
  type ModelRequestView,
  type Reply,
  type Script,
  type ScriptFunction,
} from './script.js';

/** The Messages API's own request size limit. */
const MAX_REQUEST_BYTES = 32 * 1024 * 1024;

export type RequestOutcome = 'message' | 'fault' | 'hang' | 'drop' | 'stall' | 'count_tokens' | 'other';

/** One request as the scripted model saw it, for tests and `--log`. */
export interface RecordedRequest {
  seq: number;
  at: number;
  method: string;
  path: string;
  /** Claude Code's `x-claude-code-session-id` header: ties a request to a Baton agent. */
  sessionId?: string;
  /** Present for POST /v1/messages. */
  view?: ModelRequestView;
  stream?: boolean;
  rule?: string;
  outcome: RequestOutcome;
  status?: number;
  /** The usage the server reported, so totals can be checked against what agents recorded. */
  usage?: ReplyUsage;
  /** The parsed request body (kept in memory only, not written to the log file). */
  body?: unknown;
}

export interface ModelServerOptions {
  script: Script | ScriptFunction;
  /**
   * The API key every request must carry, as claude sends it: `x-api-key` (ANTHROPIC_API_KEY) or
   * `Authorization: Bearer` (ANTHROPIC_AUTH_TOKEN). Default: a random one, in `apiKey`.
   */
  apiKey?: string;
  /** Append each request (without its body) as one JSON line to this file. */
  logFile?: string;
}

/**
 * A local HTTP server that speaks enough of the Anthropic Messages API for the real `claude` binary:
 * point `ANTHROPIC_BASE_URL` at it and agents run offline against a script.
 */
export class ModelServer {
  readonly requests: RecordedRequest[] = [];
  /** The key agents must send (ANTHROPIC_API_KEY): the one given, or a random one. */
  readonly apiKey: string;
  private readonly player: ScriptPlayer;
  private http: HttpService | undefined;
  private seq = 0;
  private messageCounter = 0;

  constructor(private readonly options: ModelServerOptions) {
    this.player = new ScriptPlayer(checkScript(options.script));
    this.apiKey = options.apiKey ?? `scripted-${randomBytes(16).toString('hex')}`;
  }

  /** Starts listening; returns the base URL to use as ANTHROPIC_BASE_URL. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    this.http = await startHttpServer({
      host,
      port,
      handle: (req, res) => this.handle(req, res),
      // Only agents given the key get replies: nothing else on the machine plays (and uses up) the script.
      access: {
        token: this.apiKey,
        tokenHeader: 'x-api-key',
        tokenHint: 'set ANTHROPIC_API_KEY to the scripted model key',
      },
      // Errors in the API's own shape (a 500 of the script itself included), so claude reads them as the API's.
      errorBody: (status, code, message) =>
        errorBody(
          status,
          status === 500 ? 'api_error' : undefined,
          status === 500 ? `scripted model server failed: ${message}` : message,
        ),
      listenError: (cause) =>
        new Error(`the scripted model server could not listen on ${host}:${port}: ${cause.message}`),
    });
    return this.http.url;
  }

  /** Model requests (POST /v1/messages) only, optionally for one agent session. */
  messageRequests(sessionId?: string): RecordedRequest[] {
    return this.requests.filter((r) => r.view !== undefined && (sessionId === undefined || r.sessionId === sessionId));
  }

  /** Cuts every connection too: hanging requests would keep it waiting forever. */
  async close(): Promise<void> {
    await this.http?.close();
  }

  private record(entry: Omit<RecordedRequest, 'seq' | 'at'>): RecordedRequest {
    const recorded: RecordedRequest = { seq: ++this.seq, at: Date.now(), ...entry };
    this.requests.push(recorded);
    if (this.options.logFile) {
      const { body: _body, ...withoutBody } = recorded;
      // Every prompt and system prompt is in it: made 0600 when it is made, as Baton's own files are.
      appendFileSync(this.options.logFile, `${JSON.stringify(withoutBody)}\n`, { mode: 0o600 });
    }
    return recorded;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req, MAX_REQUEST_BYTES);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const sessionHeader = req.headers['x-claude-code-session-id'];
    const sessionId = typeof sessionHeader === 'string' ? sessionHeader : undefined;
    const method = req.method ?? 'GET';

    if (method === 'POST' && url.pathname === '/v1/messages/count_tokens') {
      this.record({ method, path: url.pathname, sessionId, outcome: 'count_tokens', status: 200 });
      sendJson(res, 200, { input_tokens: roughTokenCount(raw) });
      return;
    }
    if (method !== 'POST' || url.pathname !== '/v1/messages') {
      // Start-up probes (HEAD /api/hello and the like): answer politely, the binary only checks reachability.
      this.record({ method, path: url.pathname, sessionId, outcome: 'other', status: 200 });
      if (method === 'HEAD') res.writeHead(200).end();
      else sendJson(res, 200, {});
      return;
    }

    let body: MessagesRequestBody;
    try {
      body = JSON.parse(raw) as MessagesRequestBody;
    } catch {
      this.record({ method, path: url.pathname, sessionId, outcome: 'fault', status: 400 });
      sendJson(res, 400, errorBody(400, undefined, 'request body is not JSON'));
      return;
    }
    const view = viewRequest(body, sessionId);
    const { reply, rule } = this.player.next(view);
    const base = { method, path: url.pathname, sessionId, view, stream: body.stream === true, rule, body };
    await this.respond(reply, base, raw, body, res);
  }

  private async respond(
    reply: Reply,
    base: Omit<RecordedRequest, 'seq' | 'at' | 'outcome'>,
    raw: string,
    body: MessagesRequestBody,
    res: ServerResponse,
  ): Promise<void> {
    // Unref'd, as is the chunks' delay: a reply still waiting must not keep a finished or cancelled
    // `baton run --model-script` alive until it is due (close() has cut its connection already).
    if (reply.delayMs) await sleep(reply.delayMs, undefined, { ref: false });

    if (reply.hang) {
      this.record({ ...base, outcome: 'hang' });
      return; // never answer; close() destroys the socket
    }
    if (reply.drop === 'before-response') {
      this.record({ ...base, outcome: 'drop' });
      res.socket?.destroy();
      return;
    }
    if (reply.fault) {
      const { status, type, message, retryAfter } = reply.fault;
      this.record({ ...base, outcome: 'fault', status });
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
      sendJson(res, status, errorBody(status, type, message), headers);
      return;
    }

    const message = buildMessage(
      reply,
      { model: body.model ?? 'scripted-model', bodyBytes: Buffer.byteLength(raw) },
      `msg_scripted_${++this.messageCounter}`,
    );
    if (!base.stream) {
      this.record({ ...base, outcome: 'message', status: 200, usage: message.usage });
      sendJson(res, 200, message, { 'request-id': message.id });
      return;
    }

    const dropMidStream = reply.drop === 'mid-stream';
    const unfinished = dropMidStream || reply.stall === true;
    this.record({
      ...base,
      outcome: dropMidStream ? 'drop' : reply.stall ? 'stall' : 'message',
      status: 200,
      usage: unfinished ? undefined : message.usage,
    });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': message.id });
    const events = messageEvents(message);
    for (const [i, event] of events.entries()) {
      if (dropMidStream && i === 2) {
        res.socket?.destroy();
        return;
      }
      // message_start, content_block_start, one delta: then silence until the client gives up.
      if (reply.stall && i === 3) return;
      if (reply.chunkDelayMs && i > 0) await sleep(reply.chunkDelayMs, undefined, { ref: false });
      if (res.destroyed) return;
      res.write(formatSse(event));
    }
    res.end();
  }
}

function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(payload));
}

/** Starts a scripted model server; the caller closes it. */
export async function startModelServer(
  options: ModelServerOptions & { port?: number; host?: string },
): Promise<{ server: ModelServer; url: string; apiKey: string }> {
  const server = new ModelServer(options);
  const url = await server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return { server, url, apiKey: server.apiKey };
}
