import type { ServerResponse } from 'node:http';
import { BatonError, ErrorCodes, estimatedCostOf, SecretRedactor } from '../core/index.js';
import {
  HttpError,
  sendJson,
  startHttpServer,
  type Route,
  type RouteContext,
  type TokenHolder,
} from '../http/index.js';
import { mergeRunHealth } from '../mcp/index.js';
import { listAgentsWithSpend, summarizeRun } from '../orchestrator/index.js';
import type { MetricsSource } from '../observability/index.js';
import { TenantScope, type Store } from '../store/index.js';
import { approvalRoutes } from './approval-routes.js';
import { agentActivity } from './activity.js';
import { dashboardPage } from './page.js';
import type { TenantToken } from './tenant-tokens.js';

export interface WebDashboardOptions {
  store: Store;
  port: number;
  host?: string;
  /** How often the store is checked for changes pushed to open pages. */
  pollMs?: number;
  /** The operator's: it sees every tenant's runs, and `/metrics`. Every request needs a token; the login URL swaps it for a cookie. */
  token: string;
  /** Tenants' tokens, each seeing that tenant's runs only; asked on every request (default: none). */
  tenantTokens?: () => readonly TenantToken[];
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
async function runsList(store: Store, scope: TenantScope, finished: Map<string, Totals>) {
  const runs = await scope.listRuns(50);
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
async function runDetail(store: Store, scope: TenantScope, runId: string, redactor: SecretRedactor) {
  const run = await scope.getRun(runId);
  if (!run) return undefined;
  const [summary, agents, attempts, toolCalls, health] = await Promise.all([
    summarizeRun(store, runId),
    listAgentsWithSpend(store, runId),
    store.listAttempts(runId),
    store.listToolCalls(runId),
    store.listMcpHealth(runId),
  ]);
  // A killed orchestrator leaves its agents and calls stored as running; nothing runs them now.
  const running = summary.status === 'running' ? agentActivity(agents, toolCalls, Date.now()) : [];
  const activity = new Map(running.map((a) => [a.agentId, a]));
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
      ...estimatedCostOf([a]),
      durationMs: a.durationMs,
      error: a.error ?? null,
      attempts: attempts
        .filter((t) => t.agentId === a.id)
        .map((t) => ({
          attempt: t.attempt,
          status: t.status,
          resumed: t.resumed,
          costUsd: t.costUsd,
          ...estimatedCostOf([t]),
          error: t.error ?? null,
        })),
      toolCalls: toolCalls.filter((c) => c.agentId === a.id),
      now: activity.get(a.id) ?? null,
    })),
  };
}

/** A running run's tool calls as they start and end, its agents' statuses and its MCP health: a change is worth pushing to open pages. */
async function runProgress(store: Store, runId: string): Promise<string> {
  const [calls, health, agents] = await Promise.all([
    store.listToolCalls(runId),
    store.listMcpHealth(runId),
    store.listAgents(runId),
  ]);
  // Agents' statuses too: one a worker takes up turns from queued to running without a call or a total changing.
  const statuses = agents.map((a) => a.status).join();
  return `${calls.length}/${calls.filter((c) => c.status !== 'running').length}/${statuses}/${JSON.stringify(health)}`;
}

/** The server-sent event that tells an open page to fetch again. */
function sendUpdate(client: ServerResponse): void {
  client.write(`event: update\ndata: ${JSON.stringify({ at: Date.now() })}\n\n`);
}

/** The holder names of the dashboard's tokens: the operator, or `tenant:<name>`. */
const OPERATOR = 'operator';
const TENANT_HOLDER = 'tenant:';

/** Every token the dashboard takes, with whose it is. */
function tokenHolders(options: WebDashboardOptions): () => TokenHolder[] {
  return () => [
    { token: options.token, holder: OPERATOR },
    ...(options.tenantTokens?.() ?? []).map((t) => ({ token: t.token, holder: `${TENANT_HOLDER}${t.tenant}` })),
  ];
}

/** What the request's token may see; no route of the dashboard is open, so a request without a holder gets nothing. */
function scopeFor(store: Store): (context: RouteContext) => TenantScope {
  return ({ holder }) => {
    if (holder === OPERATOR) return new TenantScope(store);
    if (holder?.startsWith(TENANT_HOLDER)) return new TenantScope(store, holder.slice(TENANT_HOLDER.length));
    throw new HttpError(401, 'unauthorized', 'this dashboard needs its token');
  };
}

/** Open pages, each with what its token may see. */
type Clients = Map<ServerResponse, TenantScope>;

/** The state of runs and pages shared by the routes and the change poll. */
interface DashboardParts {
  store: Store;
  scopeOf: (context: RouteContext) => TenantScope;
  finishedTotals: Map<string, Totals>;
  clients: Clients;
}

/** The page, its JSON API and the live-update stream: each of the token's tenant only. */
function runRoutes({ store, scopeOf, finishedTotals, clients }: DashboardParts, redactor: SecretRedactor): Route[] {
  return [
    {
      method: 'GET',
      path: '/',
      handle: (context) => {
        const page = dashboardPage(scopeOf(context).tenant);
        context.res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
      },
    },
    {
      method: 'GET',
      path: '/api/runs',
      handle: async (context) => sendJson(context.res, 200, await runsList(store, scopeOf(context), finishedTotals)),
    },
    {
      method: 'GET',
      path: /^\/api\/runs\/([^/]+)$/,
      handle: async (context) => {
        const detail = await runDetail(store, scopeOf(context), context.params[0] ?? '', redactor);
        if (!detail) throw new HttpError(404, 'not_found', 'no such run');
        sendJson(context.res, 200, detail);
      },
    },
    {
      method: 'GET',
      path: '/api/events',
      handle: (context) => {
        const { req, res } = context;
        const scope = scopeOf(context);
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        });
        sendUpdate(res);
        clients.set(res, scope);
        req.on('close', () => clients.delete(res));
      },
    },
  ];
}

/** `/metrics` adds up every tenant's runs (it has no tenant label), so only the operator's token reads it. */
function metricsRoute(metrics: MetricsSource, scopeOf: DashboardParts['scopeOf']): Route {
  return {
    method: 'GET',
    path: '/metrics',
    handle: async (context) => {
      if (scopeOf(context).tenant !== undefined)
        throw new HttpError(
          403,
          'operator_only',
          "/metrics adds up every tenant's runs: it needs the operator's token (data_dir/dashboard.token), not a tenant's",
        );
      const text = await metrics.text();
      context.res.writeHead(200, { 'content-type': metrics.contentType }).end(text);
    },
  };
}

/** What open pages show to one scope, in one string: when it differs from the last one, those pages need an update. */
async function dashboardState(store: Store, scope: TenantScope, finishedTotals: Map<string, Totals>): Promise<string> {
  const [runs, waiting] = await Promise.all([runsList(store, scope, finishedTotals), scope.pendingApprovals()]);
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

/**
 * Pushes an update to the open pages of each scope whenever what that scope sees changes (only while pages
 * are open): a tenant's page hears nothing of another tenant's runs, not even that they changed. Every
 * scope is checked before any page is told, so one tick's updates go out together.
 */
function pollForChanges({ store, finishedTotals, clients }: DashboardParts, pollMs: number): NodeJS.Timeout {
  const lastState = new Map<string, string>();
  const check = async (): Promise<void> => {
    const scopes = [...new Map([...clients.values()].map((scope) => [scope.key, scope])).values()];
    const states = await Promise.all(scopes.map((scope) => dashboardState(store, scope, finishedTotals)));
    const changed = new Set(scopes.filter((scope, i) => lastState.get(scope.key) !== states[i]).map((s) => s.key));
    lastState.clear();
    scopes.forEach((scope, i) => lastState.set(scope.key, states[i]!));
    for (const [client, scope] of clients) if (changed.has(scope.key)) sendUpdate(client);
  };
  const poll = setInterval(() => {
    if (clients.size > 0) void check();
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
  const parts: DashboardParts = { store, scopeOf: scopeFor(store), finishedTotals: new Map(), clients: new Map() };
  const redactor = options.redactor ?? SecretRedactor.fromEnvironment(process.env);
  const routes = [...runRoutes(parts, redactor), ...approvalRoutes(store, parts.scopeOf)];
  if (options.metrics) routes.push(metricsRoute(options.metrics, parts.scopeOf));
  const poll = pollForChanges(parts, options.pollMs ?? 500);

  const host = options.host ?? '127.0.0.1';
  const http = await startHttpServer({
    host,
    port: options.port,
    routes,
    access: {
      holders: tokenHolders(options),
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
      for (const client of parts.clients.keys()) client.end();
      await http.close();
    },
  };
}
