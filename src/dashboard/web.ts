import { createServer, type ServerResponse } from 'node:http';
import { summarizeRun } from '../orchestrator/index.js';
import type { MetricsSource } from '../observability/index.js';
import type { Store } from '../store/index.js';
import { agentActivity } from './activity.js';
import { dashboardPage } from './page.js';

export interface WebDashboardOptions {
  store: Store;
  port: number;
  host?: string;
  /** How often the store is checked for changes pushed to open pages. */
  pollMs?: number;
  /** Served at `/metrics` (Prometheus text) for as long as the dashboard runs. */
  metrics?: MetricsSource;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
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

/** Per MCP server, across recent runs: how many agents got it, and how many had to do without it. */
async function mcpHealth(store: Store) {
  const servers = new Map<string, { used: number; missing: number; lastError?: string }>();
  for (const run of await store.listRuns({ limit: 20 })) {
    for (const agent of await store.listAgents(run.id)) {
      for (const name of agent.mcp?.servers ?? [])
        servers.set(name, {
          ...(servers.get(name) ?? { used: 0, missing: 0 }),
          used: (servers.get(name)?.used ?? 0) + 1,
        });
      for (const miss of agent.mcp?.missing ?? []) {
        const current = servers.get(miss.name) ?? { used: 0, missing: 0 };
        servers.set(miss.name, { ...current, missing: current.missing + 1, lastError: miss.error.message });
      }
    }
  }
  return [...servers.entries()].map(([server, s]) => ({
    server,
    ...s,
    availability: s.used / Math.max(1, s.used + s.missing),
  }));
}

/** A run in full: its summary, and each agent's prompt, appended system prompt, result, errors, tool calls and current activity. */
async function runDetail(store: Store, runId: string) {
  const run = await store.getRun(runId);
  if (!run) return undefined;
  const [summary, agents, attempts, toolCalls] = await Promise.all([
    summarizeRun(store, runId),
    store.listAgents(runId),
    store.listAttempts(runId),
    store.listToolCalls(runId),
  ]);
  const activity = new Map(agentActivity(agents, toolCalls, Date.now()).map((a) => [a.agentId, a]));
  return {
    ...summary,
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

/** A running run's tool calls as they start and end: a change is worth pushing to open pages. */
async function toolProgress(store: Store, runId: string): Promise<string> {
  const calls = await store.listToolCalls(runId);
  return `${calls.length}/${calls.filter((c) => c.status !== 'running').length}`;
}

/**
 * `baton serve`: a page with the runs, their agents, MCP health and token/cost charts, kept live over
 * server-sent events. Reads only the store, so it shows runs from any process sharing the data dir.
 */
export async function startWebDashboard(
  options: WebDashboardOptions,
): Promise<{ url: string; close: () => Promise<void> }> {
  const { store } = options;
  const clients = new Set<ServerResponse>();
  const finishedTotals = new Map<string, Totals>();
  let lastState = '';

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = async (): Promise<void> => {
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(dashboardPage());
      } else if (url.pathname === '/metrics' && options.metrics) {
        const text = await options.metrics.text();
        res.writeHead(200, { 'content-type': options.metrics.contentType }).end(text);
      } else if (url.pathname === '/api/runs') {
        sendJson(res, 200, await runsList(store, finishedTotals));
      } else if (url.pathname === '/api/mcp') {
        sendJson(res, 200, await mcpHealth(store));
      } else if (url.pathname.startsWith('/api/runs/')) {
        const detail = await runDetail(store, decodeURIComponent(url.pathname.slice('/api/runs/'.length)));
        if (detail) sendJson(res, 200, detail);
        else sendJson(res, 404, { error: 'no such run' });
      } else if (url.pathname === '/api/events') {
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        });
        res.write(`event: update\ndata: ${JSON.stringify({ at: Date.now() })}\n\n`);
        clients.add(res);
        req.on('close', () => clients.delete(res));
      } else {
        sendJson(res, 404, { error: 'not found' });
      }
    };
    route().catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(error) });
      else res.end();
    });
  });

  // Pushes an update to every open page whenever any run's state changes (only while pages are open).
  const poll = setInterval(() => {
    if (clients.size === 0) return;
    void runsList(store, finishedTotals).then(async (runs) => {
      const state = JSON.stringify(
        await Promise.all(
          runs.map(async (r) => [
            r.runId,
            r.status,
            r.totals.succeeded,
            r.totals.failed,
            r.totals.costUsd,
            r.status === 'running' ? await toolProgress(store, r.runId) : '',
          ]),
        ),
      );
      if (state === lastState) return;
      lastState = state;
      for (const client of clients) client.write(`event: update\ndata: ${JSON.stringify({ at: Date.now() })}\n\n`);
    });
  }, options.pollMs ?? 500);
  poll.unref();

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address();
  const port = address && typeof address === 'object' ? address.port : options.port;
  return {
    url: `http://${host}:${port}/`,
    close: async () => {
      clearInterval(poll);
      for (const client of clients) client.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
