import type { ServerResponse } from 'node:http';
import { BatonError, ErrorCodes, SecretRedactor } from '../core/index.js';
import { HttpError, sendJson, startHttpServer, type Route } from '../http/index.js';
import { mergeRunHealth } from '../mcp/index.js';
import { summarizeRun } from '../orchestrator/index.js';
import type { MetricsSource } from '../observability/index.js';
import type { Store } from '../store/index.js';
import { approvalRoutes } from './approval-routes.js';
import { agentActivity } from './activity.js';
import { dashboardPage } from './page.js';

export interface WebDashboardOptions {
  store: Store;
  port: number;
  host?: string;
  /** How often the store is checked for changes pushed to open pages. */
  pollMs?: number;
  /** Every request needs it: the login URL swaps it for a cookie. */
  token: string;
  /** Where the token is kept, for the 401 message. */
  tokenHint?: string;
  /** Host names accepted besides loopback and `host` (config `http_allowed_hosts`). */
  allowedHosts?: readonly string[];
  /** Served at `/metrics` (Prometheus text) for as long as the dashboard runs. */
  metrics?: MetricsSource;
  /** What MCP error text is passed through before it is served (default: secrets of this process's environment). */
  redactor?: SecretRedactor;
}

type Totals = Awaited<ReturnType<typeof summarizeRun>>['totals'];

/** Recent runs with their headline numbers; a finished run's totals never change, so they are kept in `finished`. */
async function runsList(store: Store, finished: Map<string, Totals>) {
  const runs = await store.listRuns({ limit: 50 });
  return Promise.all(
    runs.map(async (run) => {
      let totals = finished.get(run.id);
      if (!totals) {
        totals = (await summarizeRun(store, run.id)).totals;
        if (run.status !== 'running' && run.status !== 'pending') finished.set(run.id, totals);
      }
      return { runId: run.id, workflow: run.workflowName, status: run.status, createdAt: run.createdAt, totals };
    }),
  );
}

/**
 * A run in full: its summary, its MCP servers' health (as `baton status` shows it, errors redacted), and each
 * agent's prompt, appended system prompt, result, errors, tool calls and current activity.
 */
async function runDetail(store: Store, runId: string, redactor: SecretRedactor) {
  const run = await store.getRun(runId);
  if (!run) return undefined;
  const [summary, agents, attempts, toolCalls, health] = await Promise.all([
    summarizeRun(store, runId),
    store.listAgents(runId),
    store.listAttempts(runId),
    store.listToolCalls(runId),
    store.listMcpHealth(runId),
  ]);
  const activity = new Map(agentActivity(agents, toolCalls, Date.now()).map((a) => [a.agentId, a]));
  return {
    ...summary,
    mcpHealth: redactor.redactDeep(mergeRunHealth(health)),
    agents: agents.map((a) => ({
      id: a.id,
      phaseId: a.phaseId,
      status: a.status,
      prompt: a.prompt,
      systemPrompt: a.systemPrompt,
      result: a.output?.text ?? null,
      usage: a.usage,
      costUsd: a.costUsd,
      durationMs: a.durationMs,
      error: a.error ?? null,
      attempts: attempts
        .filter((t) => t.agentId === a.id)
        .map((t) => ({ attempt: t.attempt, status: t.status, resumed: t.resumed, error: t.error ?? null })),
      toolCalls: toolCalls.filter((c) => c.agentId === a.id),
      now: activity.get(a.id) ?? null,
    })),
  };
}

/** A running run's tool calls as they start and end, and its MCP health as saved: a change is worth pushing to open pages. */
async function runProgress(store: Store, runId: string): Promise<string> {
  const [calls, health] = await Promise.all([store.listToolCalls(runId), store.listMcpHealth(runId)]);
  return `${calls.length}/${calls.filter((c) => c.status !== 'running').length}/${JSON.stringify(health)}`;
}

/** The server-sent event that tells an open page to fetch again. */
function sendUpdate(client: ServerResponse): void {
  client.write(`event: update\ndata: ${JSON.stringify({ at: Date.now() })}\n\n`);
}

/** The page, its JSON API, the live-update stream, approvals and (when given) `/metrics`. */
function dashboardRoutes(
  store: Store,
  redactor: SecretRedactor,
  finishedTotals: Map<string, Totals>,
  clients: Set<ServerResponse>,
  metrics: MetricsSource | undefined,
): Route[] {
  const routes: Route[] = [
    {
      method: 'GET',
      path: '/',
      handle: ({ res }) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(dashboardPage());
      },
    },
    {
      method: 'GET',
      path: '/api/runs',
      handle: async ({ res }) => sendJson(res, 200, await runsList(store, finishedTotals)),
    },
    {
      method: 'GET',
      path: /^\/api\/runs\/([^/]+)$/,
      handle: async ({ res, params }) => {
        const detail = await runDetail(store, params[0] ?? '', redactor);
        if (!detail) throw new HttpError(404, 'not_found', 'no such run');
        sendJson(res, 200, detail);
      },
    },
    {
      method: 'GET',
      path: '/api/events',
      handle: ({ req, res }) => {
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        });
        sendUpdate(res);
        clients.add(res);
        req.on('close', () => clients.delete(res));
      },
    },
    ...approvalRoutes(store),
  ];
  if (metrics)
    routes.push({
      method: 'GET',
      path: '/metrics',
      handle: async ({ res }) => {
        const text = await metrics.text();
        res.writeHead(200, { 'content-type': metrics.contentType }).end(text);
      },
    });
  return routes;
}

/** What open pages show, in one string: when it differs from the last one, the pages need an update. */
async function dashboardState(store: Store, finishedTotals: Map<string, Totals>): Promise<string> {
  const [runs, waiting] = await Promise.all([
    runsList(store, finishedTotals),
    store.listApprovals({ status: 'pending' }),
  ]);
  return JSON.stringify([
    await Promise.all(
      runs.map(async (r) => [
        r.runId,
        r.status,
        r.totals.succeeded,
        r.totals.failed,
        r.totals.costUsd,
        r.status === 'running' ? await runProgress(store, r.runId) : '',
      ]),
    ),
    waiting.map((a) => a.id),
  ]);
}

/** Pushes an update to every open page whenever any run's state changes (only while pages are open). */
function pollForChanges(
  store: Store,
  finishedTotals: Map<string, Totals>,
  clients: Set<ServerResponse>,
  pollMs: number,
): NodeJS.Timeout {
  let lastState = '';
  const poll = setInterval(() => {
    if (clients.size === 0) return;
    void dashboardState(store, finishedTotals).then((state) => {
      if (state === lastState) return;
      lastState = state;
      for (const client of clients) sendUpdate(client);
    });
  }, pollMs);
  poll.unref();
  return poll;
}

/** Why the dashboard could not start, in words that say what to do about it. */
function listenError(host: string, port: number) {
  return (cause: NodeJS.ErrnoException): BatonError =>
    new BatonError(
      ErrorCodes.usage,
      `The dashboard could not listen on ${host}:${port}: ${cause.code === 'EADDRINUSE' ? 'the port is taken; choose another with --port' : cause.message}.`,
      { cause },
    );
}

/**
 * `baton serve`: a page with the runs, their agents and MCP health, and token/cost charts, kept live over
 * server-sent events. Reads only the store, so it shows runs from any process sharing the data dir.
 */
export async function startWebDashboard(
  options: WebDashboardOptions,
): Promise<{ url: string; loginUrl: string; close: () => Promise<void> }> {
  const { store } = options;
  const clients = new Set<ServerResponse>();
  const finishedTotals = new Map<string, Totals>();
  const redactor = options.redactor ?? SecretRedactor.fromEnvironment(process.env);
  const routes = dashboardRoutes(store, redactor, finishedTotals, clients, options.metrics);
  const poll = pollForChanges(store, finishedTotals, clients, options.pollMs ?? 500);

  const host = options.host ?? '127.0.0.1';
  const http = await startHttpServer({
    host,
    port: options.port,
    routes,
    access: {
      token: options.token,
      allowedHosts: options.allowedHosts,
      cookie: 'baton_dashboard',
      tokenHint: options.tokenHint,
    },
    listenError: listenError(host, options.port),
  });
  return {
    url: `${http.url}/`,
    loginUrl: `${http.url}/?token=${options.token}`,
    close: async () => {
      clearInterval(poll);
      for (const client of clients) client.end();
      await http.close();
    },
  };
}
