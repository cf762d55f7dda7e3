import { join } from 'node:path';
import { promClient } from './prom.js';
import { BatonError, ErrorCodes } from '../core/index.js';
import { ensureTokenFile, startHttpServer } from '../http/index.js';
import type { McpEvents } from '../mcp/index.js';
import type { RunEvents } from '../orchestrator/index.js';
import type { BatonCallRecord } from '../store/index.js';
import { batonCallSamples, breakerValues, declaredPhase, histogramBuckets, seriesNames } from './store-metrics.js';

/** Whatever serves Prometheus text: a run's own metrics, or the store's. */
export interface MetricsSource {
  text(): Promise<string>;
  readonly contentType: string;
}

const seconds = (ms: number): number => ms / 1000;

/**
 * Baton's Prometheus metrics, fed by run and MCP events. Labels stay bounded: statuses, phase ids,
 * models, MCP server names, token kinds — never run, agent or session ids.
 */
export class BatonMetrics {
  private readonly prom = promClient();
  readonly registry = new this.prom.Registry();

  private readonly agentSpawn = new this.prom.Histogram({
    name: 'baton_agent_spawn_seconds',
    help: 'Time from starting an agent process until it is ready',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  private readonly agentDuration = new this.prom.Histogram({
    name: 'baton_agent_duration_seconds',
    help: 'Agent run time, all attempts included',
    labelNames: ['status'],
    buckets: histogramBuckets.agentDuration,
    registers: [this.registry],
  });
  private readonly agents = new this.prom.Counter({
    name: 'baton_agents_total',
    help: 'Agents that finished, by status',
    labelNames: ['status'],
    registers: [this.registry],
  });
  private readonly attempts = new this.prom.Counter({
    name: 'baton_agent_attempts_total',
    help: 'Agent attempts, by outcome and error code',
    labelNames: ['status', 'code'],
    registers: [this.registry],
  });
  private readonly retries = new this.prom.Counter({
    name: 'baton_agent_retries_total',
    help: 'Agent attempts after the first',
    registers: [this.registry],
  });
  private readonly tokens = new this.prom.Counter({
    name: 'baton_tokens_total',
    help: "Model tokens used: agents' by phase and kind, Baton's own calls' by purpose and kind",
    labelNames: ['phase', 'kind', 'purpose'],
    registers: [this.registry],
  });
  private readonly cost = new this.prom.Counter({
    name: 'baton_cost_usd_total',
    help: "Cost in USD: agents' by model, Baton's own calls' by model and purpose",
    labelNames: ['model', 'purpose'],
    registers: [this.registry],
  });
  private readonly contextTokens = new this.prom.Histogram({
    name: 'baton_context_inherited_tokens',
    help: 'Tokens of inherited context given to an agent',
    buckets: histogramBuckets.inheritedTokens,
    registers: [this.registry],
  });
  private readonly contextDepth = new this.prom.Histogram({
    name: 'baton_context_inheritance_depth',
    help: 'Phases an agent inherits context from',
    buckets: [0, 1, 2, 3, 5, 8, 13],
    registers: [this.registry],
  });
  private readonly contextQuery = new this.prom.Histogram({
    name: 'baton_context_query_seconds',
    help: "Time to select an agent's inherited context",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  private readonly contextEntries = new this.prom.Counter({
    name: 'baton_context_entries_total',
    help: 'Context entries agents produced',
    registers: [this.registry],
  });
  private readonly mcpCheck = new this.prom.Histogram({
    name: 'baton_mcp_check_seconds',
    help: 'MCP preflight time of a server (cache hits excluded)',
    labelNames: ['server'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [this.registry],
  });
  private readonly mcpChecks = new this.prom.Counter({
    name: 'baton_mcp_checks_total',
    help: 'MCP preflight checks, by server and result',
    labelNames: ['server', 'status'],
    registers: [this.registry],
  });
  private readonly mcpRetries = new this.prom.Counter({
    name: 'baton_mcp_retries_total',
    help: 'MCP preflight attempts after the first, by server',
    labelNames: ['server'],
    registers: [this.registry],
  });
  private readonly mcpBreaker = new this.prom.Gauge({
    name: 'baton_mcp_breaker_state',
    help: 'Circuit breaker per MCP server: 0 closed, 1 half-open, 2 open',
    labelNames: ['server'],
    registers: [this.registry],
  });
  private readonly mcpCalls = new this.prom.Histogram({
    name: 'baton_mcp_call_seconds',
    help: "Agents' requests through the MCP gateway, by server, method and result",
    labelNames: ['server', 'method', 'status'],
    buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 2, 10],
    registers: [this.registry],
  });
  private readonly mcpRestarts = new this.prom.Counter({
    name: 'baton_mcp_lifecycle_total',
    help: 'Shared MCP server crashes, restarts and give-ups, by server',
    labelNames: ['server', 'state'],
    registers: [this.registry],
  });
  private readonly activeAgents = new this.prom.Gauge({
    name: 'baton_active_agents',
    help: 'Agents running now',
    registers: [this.registry],
  });
  private readonly queueDepth = new this.prom.Gauge({
    name: 'baton_queue_depth',
    help: 'Agents ready to run, waiting for a slot under parallel_limit or for a worker',
    registers: [this.registry],
  });
  private readonly runs = new this.prom.Counter({
    name: 'baton_runs_total',
    help: 'Runs that finished, by status',
    labelNames: ['status'],
    registers: [this.registry],
  });

  constructor() {
    // Process memory, CPU and event-loop lag, under Baton's prefix.
    this.prom.collectDefaultMetrics({ register: this.registry, prefix: 'baton_' });
  }

  /** Subscribes to a run's events; returns the unsubscribe function. */
  observeRun(events: RunEvents): () => void {
    const queued = new Set<string>();
    const running = new Set<string>();
    const key = (e: { runId: string; agentId: string }): string => `${e.runId}/${e.agentId}`;
    const leaveQueue = (k: string): void => {
      if (queued.delete(k)) this.queueDepth.dec();
    };
    const offs = [
      events.on('agent.queued', (e) => {
        queued.add(key(e));
        this.queueDepth.inc();
      }),
      events.on('agent.started', (e) => {
        // One handed to `baton worker`s waits on in their queue until a worker starts its attempt.
        if (!e.queued) leaveQueue(key(e));
        running.add(key(e));
        this.activeAgents.inc();
        this.contextTokens.observe(e.inherited.tokens);
        this.contextDepth.observe(e.inherited.phases);
        this.contextQuery.observe(seconds(e.inherited.queryMs));
      }),
      events.on('agent.attempt', (e) => leaveQueue(key(e))),
      events.on('agent.attempt.finished', (e) => {
        this.attempts.inc({ status: e.status, code: e.errorCode ?? '' });
        if (e.attempt > 1) this.retries.inc();
        if (e.startupMs !== undefined) this.agentSpawn.observe(seconds(e.startupMs));
      }),
      events.on('agent.finished', (e) => {
        leaveQueue(key(e));
        if (running.delete(key(e))) this.activeAgents.dec();
        this.agents.inc({ status: e.status });
        this.agentDuration.observe({ status: e.status }, seconds(e.durationMs));
        const phase = declaredPhase(e.phaseId);
        this.tokens.inc({ phase, kind: 'input' }, e.usage.inputTokens);
        this.tokens.inc({ phase, kind: 'output' }, e.usage.outputTokens);
        this.tokens.inc({ phase, kind: 'cache_read' }, e.usage.cacheReadTokens);
        this.tokens.inc({ phase, kind: 'cache_write' }, e.usage.cacheCreationTokens);
        this.cost.inc({ model: e.model ?? 'default' }, e.costUsd);
      }),
      events.on('context.added', (e) => this.contextEntries.inc(e.entries)),
      events.on('context.model_call', ({ call }) => this.countBatonCall(call)),
      events.on('run.finished', (e) => this.runs.inc({ status: e.status })),
    ];
    return () => offs.forEach((off) => off());
  }

  /** One of Baton's own model calls, in the agents' token and cost counters with its `purpose` (and no phase). */
  private countBatonCall(call: BatonCallRecord): void {
    const samples = batonCallSamples(call);
    for (const [labels, n] of samples.tokens) this.tokens.inc(labels, n);
    this.cost.inc(...samples.cost);
  }

  /** Subscribes to MCP preflight, breaker, gateway traffic and restart events; returns the unsubscribe function. */
  observeMcp(events: McpEvents): () => void {
    const offs = [
      events.on('mcp.checked', (e) => {
        if (e.cached) return;
        this.mcpChecks.inc({ server: e.server, status: e.status });
        this.mcpCheck.observe({ server: e.server }, seconds(e.latencyMs));
        if (e.attempts > 1) this.mcpRetries.inc({ server: e.server }, e.attempts - 1);
      }),
      events.on('mcp.breaker', (e) => this.mcpBreaker.set({ server: e.server }, breakerValues[e.state])),
      events.on('mcp.call', (e) =>
        this.mcpCalls.observe(
          { server: e.server, method: e.method, status: e.ok ? 'ok' : 'error' },
          seconds(e.latencyMs),
        ),
      ),
      events.on('mcp.lifecycle', (e) => this.mcpRestarts.inc({ server: e.server, state: e.state })),
    ];
    return () => offs.forEach((off) => off());
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Names of every exported series (histograms as their _bucket/_sum/_count series). */
  seriesNames(): Promise<Set<string>> {
    return seriesNames(this.registry);
  }
}

/** The token of `baton run`'s and `baton worker`'s `/metrics`: one per data_dir, for Prometheus's `credentials_file`. */
export const metricsTokenFile = (dataDir: string): string => join(dataDir, 'metrics.token');

/** The metrics token of a data_dir (made 0600 on first use) and where it is, for `startMetricsServer`. */
export function metricsAccess(dataDir: string): { token: string; tokenHint: string } {
  const file = metricsTokenFile(dataDir);
  const token = ensureTokenFile(file);
  if (token === undefined) throw new BatonError(ErrorCodes.usage, `Cannot read the metrics token in ${file}.`);
  return { token, tokenHint: `it is in ${file}` };
}

export interface MetricsServerOptions {
  port: number;
  /** Required as `Authorization: Bearer <token>` (see `metricsAccess`). */
  token: string;
  /** Where the token is, for the 401 message. */
  tokenHint?: string;
  /** Default: loopback. */
  host?: string;
}

/** Serves `/metrics` (Prometheus text format) until closed, to holders of the token. */
export async function startMetricsServer(
  metrics: MetricsSource,
  { port, token, tokenHint, host = '127.0.0.1' }: MetricsServerOptions,
): Promise<{ url: string; close: () => Promise<void> }> {
  const http = await startHttpServer({
    host,
    port,
    access: { token, ...(tokenHint ? { tokenHint } : {}) },
    routes: [
      {
        method: 'GET',
        path: '/metrics',
        handle: async ({ res }) => {
          const text = await metrics.text();
          res.writeHead(200, { 'content-type': metrics.contentType }).end(text);
        },
      },
    ],
    listenError: (cause) =>
      new BatonError(
        ErrorCodes.configInvalid,
        `Cannot serve metrics on ${host}:${port} (metrics_port): ${cause.code ?? cause.message}. Set another metrics_port, or 0 for a free one.`,
        { cause },
      ),
  });
  return { url: `${http.url}/metrics`, close: () => http.close() };
}
