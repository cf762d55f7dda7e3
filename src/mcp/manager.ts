import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BrokenCircuitError,
  ExponentialBackoff,
  handleWhen,
  noJitterGenerator,
  retry,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import { z } from 'zod';
import {
  BatonError,
  ErrorCodes,
  systemClock,
  toErrorInfo,
  TypedEmitter,
  type Clock,
  type ErrorInfo,
  type ServerRunHealth,
} from '../core/index.js';
import {
  gatewayTokenHeader,
  launchConfig,
  templateConfig,
  type CatalogServer,
  type McpCatalog,
  type McpLaunchConfig,
  type McpScope,
  type MockTool,
} from './catalog.js';
import type { GatewayCall, McpGateway } from './gateway.js';
import type { MockMcpHost } from './mock.js';
import { listedTools, McpProbeTimeout, probeServer, withinDeadline, type McpProbe } from './probe.js';
import {
  breakerOpen,
  breakerState,
  countCrash,
  countsAgainstBreaker,
  serverBreaker,
  throughBreaker,
  type BreakerState,
  type LifecycleEvent,
} from './server-breaker.js';
import { analyzeRequirements, kindOf } from './requirements.js';
import { ServerTraffic } from './run-health.js';
import { serverEnvironment } from './upstream.js';

/** What preflight found out about one server. */
export interface ServerHealth {
  name: string;
  status: 'up' | 'down';
  latencyMs: number;
  tools: MockTool[];
  attempts: number;
  /** Answered from the cache of recent healthy checks. */
  cached: boolean;
  breaker: BreakerState;
  error?: ErrorInfo;
}

export interface McpEventMap extends Record<string, unknown> {
  'mcp.checked': {
    server: string;
    status: 'up' | 'down';
    latencyMs: number;
    attempts: number;
    cached: boolean;
    error?: ErrorInfo;
  };
  'mcp.breaker': { server: string; state: BreakerState };
  /** A request an agent sent through the gateway (real traffic, not a probe). */
  'mcp.call': GatewayCall;
  /** A shared server's process exited unexpectedly, was restarted, or stayed down after its restarts. */
  'mcp.lifecycle': LifecycleEvent;
}

export class McpEvents extends TypedEmitter<McpEventMap> {}

export interface McpManagerOptions {
  catalog: McpCatalog;
  /** The agents' environment: `${VAR}` in server entries is expanded from it, and stdio servers inherit it. */
  env: NodeJS.ProcessEnv;
  /** `mcp_timeout_ms`: one server's whole preflight, retries included. */
  timeoutMs: number;
  /** `mcp_call_timeout_ms`: how long an agent's MCP tool call may go unanswered (see `mcpToolTimeoutEnv`). */
  callTimeoutMs?: number;
  maxAttempts?: number;
  retryBaseDelayMs?: number;
  /** Healthy results are reused this long. */
  cacheTtlMs?: number;
  /** Consecutive failed attempts that open a server's breaker. */
  breakerThreshold?: number;
  breakerHalfOpenAfterMs?: number;
  /** How often the health monitor re-probes servers whose breaker is not closed. */
  monitorIntervalMs?: number;
  /** Working directory for stdio servers. */
  cwd?: string;
  /** Where each server's last tools/list is recorded (mock mode replays it). */
  snapshotDir?: string;
  /** `use_mock_mcp`: every server is replaced by a mock served from this host. */
  mock?: MockMcpHost;
  probe?: McpProbe;
  /** Baton's MCP gateway: stdio servers of `scope: run` are started once in it and shared by agents. */
  gateway?: McpGateway;
  /** Calls through the gateway are saved for `baton status` at most this often (default 2 s). */
  reportEveryMs?: number;
  events?: McpEvents;
  clock?: Clock;
}

/** What to do when an MCP server an agent needs stays down. */
export const mcpUnavailablePolicySchema = z.enum(['fail', 'degrade', 'wait']);
export type McpUnavailablePolicy = z.output<typeof mcpUnavailablePolicySchema>;

export interface AgentMcpRequest {
  agentId: string;
  task: string;
  /** Servers the workflow named for the agent; undefined lets the task analysis choose. */
  requested?: string[];
  policy: McpUnavailablePolicy;
  signal?: AbortSignal;
}

/** The MCP servers an agent starts with, why, and what it has to do without. */
export interface AgentMcpPlan {
  servers: Record<string, McpLaunchConfig>;
  chosen: Array<{ name: string; reasons: string[] }>;
  available: Array<{ name: string; tools: number }>;
  missing: Array<{ name: string; error: ErrorInfo }>;
  /** Stdio servers of `scope: run` given as commands because this process has no gateway: a worker shares them. */
  shared?: string[];
  /** The run's directory, where a worker starts the shared servers (as this process's gateway would). */
  sharedCwd?: string;
  /** The run's `mcp_timeout_ms` and `mcp_call_timeout_ms`, which a worker's gateway applies to them. */
  sharedTimeouts?: SharedMcpTimeouts;
  /** What the agent's environment needs for its servers (claude's own tool-call bound); the workflow's env wins. */
  env?: Record<string, string>;
}

/** How long a shared server's start may take (`mcp_timeout_ms`), and a request wait for its answer (`mcp_call_timeout_ms`). */
export interface SharedMcpTimeouts {
  startMs: number;
  callMs?: number;
}

interface ServerState {
  breaker: CircuitBreakerPolicy;
  policy: IPolicy;
  healthy?: { health: ServerHealth; expiresAt: number };
  inFlight?: Promise<ServerHealth>;
  traffic: ServerTraffic;
}

/**
 * The `wait` policy's schedule: re-check servers that are down after 0.5 s, doubling to 10 s. Only
 * cockatiel's backoff, not its retry policy: the policy's delay cannot be cut short by the agent's
 * signal, and a delay left running would hold the process up to 10 s after a cancel.
 */
const waitBackoff = new ExponentialBackoff({ initialDelay: 500, maxDelay: 10_000, generator: noJitterGenerator });

const isDown = (health: ServerHealth): boolean => health.status === 'down';

/** How much later than the gateway claude's own timeout fires: a shared server's call gets the gateway's error. */
const GATEWAY_FIRST_MS = 5000;

/**
 * Claude's own bound on an agent's MCP tool calls (`MCP_TOOL_TIMEOUT`), unless the environment sets
 * one: `mcp_call_timeout_ms`, so its own (`scope: agent`) and remote servers are bounded as the gateway
 * bounds shared ones, which answer first with an error naming the server and the key.
 */
const mcpToolTimeoutEnv = (callTimeoutMs: number, env: NodeJS.ProcessEnv): Record<string, string> =>
  env.MCP_TOOL_TIMEOUT ? {} : { MCP_TOOL_TIMEOUT: String(callTimeoutMs + GATEWAY_FIRST_MS) };

/** A server's scope (see `McpManager.scope`). */
export function scopeOf(server: CatalogServer): McpScope | 'remote' {
  if (!('command' in server.entry)) return 'remote';
  if (server.source === 'built-in') return 'agent';
  if (server.entry.scope) return server.entry.scope;
  const kind = kindOf(server);
  return kind === 'filesystem' || kind === 'git' ? 'agent' : 'run';
}

/**
 * Knows, before an agent starts, that each MCP server it needs is up and which tools it offers:
 * probes all of a request's servers in parallel (initialize + tools/list), retries with backoff,
 * caches healthy answers, trips a breaker per server, and re-probes broken ones in the background.
 */
export class McpManager {
  readonly events: McpEvents;
  private readonly states = new Map<string, ServerState>();
  private readonly probe: McpProbe;
  private readonly clock: Clock;
  private monitor?: NodeJS.Timeout;
  private saveRunHealth?: (health: ServerRunHealth[]) => Promise<void>;
  /** Aborted by `close`: probes still waiting for a server end (a run cancelled during preflight stops at once). */
  private readonly closing = new AbortController();
  /** A save of recent calls, due within `reportEveryMs`. */
  private saveDue?: NodeJS.Timeout;

  constructor(private readonly options: McpManagerOptions) {
    this.events = options.events ?? new McpEvents();
    this.probe = options.probe ?? probeServer;
    this.clock = options.clock ?? systemClock;
  }

  get catalog(): McpCatalog {
    return this.options.catalog;
  }

  /** The config an agent gets for a server: the real one, or its mock's URL in mock mode. */
  launch(name: string): McpLaunchConfig {
    const server = this.server(name);
    if (this.options.gateway && this.shared(name)) return this.options.gateway.launchConfig(name);
    if (this.options.mock) return this.options.mock.serve(name, this.mockTools(name), server.entry.mock?.results ?? {});
    const config = launchConfig(server, this.options.env);
    // Marked like the gateway's own servers, so a leftover process can be told apart; with the compile cache.
    return 'command' in config ? { ...config, env: serverEnvironment(name, config.env) } : config;
  }

  /** Whether this is Baton's own server (`baton mcp-server`), not one a user declared. */
  isBuiltIn(name: string): boolean {
    return this.options.catalog.get(name)?.source === 'built-in';
  }

  /** The same, with `${VAR}` references unexpanded: safe to print or write to disk. */
  describe(name: string): McpLaunchConfig {
    if (this.options.gateway && this.shared(name)) {
      return {
        type: 'http',
        url: this.options.gateway.url(name),
        headers: { [gatewayTokenHeader]: '<per-run secret>' },
      };
    }
    return this.options.mock ? this.launch(name) : templateConfig(this.server(name).entry);
  }

  /**
   * A stdio server's scope: as declared, else `run` — one process shared by every agent of the run —
   * except for servers that act on the agent's working directory (filesystem, git), which would see
   * the run's directory instead of the agent's worktree when shared. Baton's own server is always
   * per agent: it is scoped to the agent's run and tenant through its environment (tenant isolation).
   */
  scope(name: string): McpScope | 'remote' {
    return scopeOf(this.server(name));
  }

  /** Served from the gateway: a stdio server of scope `run`, when there is a gateway (never in mock mode). */
  private shared(name: string): boolean {
    return !this.options.mock && this.scope(name) === 'run';
  }

  private server(name: string): CatalogServer {
    const server = this.options.catalog.get(name);
    if (!server)
      throw new BatonError(
        ErrorCodes.mcpConfigInvalid,
        `Unknown MCP server "${name}". Known: ${[...this.options.catalog.keys()].join(', ') || 'none'}.`,
      );
    return server;
  }

  breakerState(name: string): BreakerState {
    const state = this.states.get(name);
    return state ? breakerState(state.breaker) : 'closed';
  }

  /**
   * Checks servers, all in parallel. An aborted `signal` stops the wait (rejecting with its reason);
   * the probes go on for other agents that wait for the same servers, until `close`.
   */
  check(names: string[], signal?: AbortSignal): Promise<ServerHealth[]> {
    const checks = Promise.all(names.map((name) => this.checkOne(name)));
    if (!signal) return checks;
    let stopWaiting = (): void => undefined;
    const aborted = new Promise<never>((_, reject) => {
      stopWaiting = () =>
        reject(
          signal.reason instanceof Error
            ? signal.reason
            : new BatonError(ErrorCodes.cancelled, 'stopped while waiting for its MCP servers'),
        );
      if (signal.aborted) stopWaiting();
      signal.addEventListener('abort', stopWaiting, { once: true });
    });
    return Promise.race([checks, aborted]).finally(() => signal.removeEventListener('abort', stopWaiting));
  }

  async checkOne(name: string): Promise<ServerHealth> {
    const state = this.state(name);
    if (state.healthy && state.healthy.expiresAt > this.clock.now()) {
      return { ...state.healthy.health, cached: true, latencyMs: 0 };
    }
    // Agents starting together share one probe of a server instead of each starting it; no caller
    // can cancel it for the others, and mcp_timeout_ms bounds it.
    state.inFlight ??= this.probeNow(name, state).finally(() => {
      state.inFlight = undefined;
    });
    return state.inFlight;
  }

  private async probeNow(name: string, state: ServerState): Promise<ServerHealth> {
    const started = performance.now();
    const deadline = this.clock.now() + this.options.timeoutMs;
    let attempts = 0;
    try {
      const probe = this.probeFor(name);
      const tools = await state.policy.execute(() => {
        attempts++;
        return probe(Math.max(1, deadline - this.clock.now()));
      });
      const health: ServerHealth = {
        name,
        status: 'up',
        latencyMs: performance.now() - started,
        tools,
        attempts,
        cached: false,
        breaker: this.breakerState(name),
      };
      state.healthy = { health, expiresAt: this.clock.now() + (this.options.cacheTtlMs ?? 60_000) };
      if (!this.options.mock) this.recordSnapshot(name, tools);
      this.events.emit('mcp.checked', {
        server: name,
        status: 'up',
        latencyMs: health.latencyMs,
        attempts,
        cached: false,
      });
      return health;
    } catch (cause) {
      state.healthy = undefined;
      const error =
        cause instanceof BrokenCircuitError
          ? {
              code: ErrorCodes.mcpUnavailable,
              message: breakerOpen(name),
            }
          : cause instanceof McpProbeTimeout
            ? // The last attempt only had what was left of the deadline; the user set the whole of it.
              {
                code: ErrorCodes.mcpUnavailable,
                message: `MCP server "${name}" did not answer initialize + tools/list within ${this.options.timeoutMs} ms (mcp_timeout_ms)`,
              }
            : toErrorInfo(cause);
      // An open breaker says only that it failed before: the reason stays the one it failed with.
      if (!(cause instanceof BrokenCircuitError)) state.traffic.recordDown(error.message);
      const health: ServerHealth = {
        name,
        status: 'down',
        latencyMs: performance.now() - started,
        tools: [],
        attempts,
        cached: false,
        breaker: this.breakerState(name),
        error,
      };
      this.events.emit('mcp.checked', {
        server: name,
        status: 'down',
        latencyMs: health.latencyMs,
        attempts,
        cached: false,
        error,
      });
      return health;
    }
  }

  /**
   * Decides an agent's servers (the workflow's list, or the task analysis), checks them, and applies
   * the agent's policy to any that stay down: `fail` throws, `degrade` leaves them out, `wait`
   * re-checks until they are up or the signal aborts.
   */
  async prepareAgent(request: AgentMcpRequest): Promise<AgentMcpPlan> {
    const chosen = request.requested
      ? request.requested.map((name) => ({ name, reasons: ['listed for this agent in the workflow'] }))
      : analyzeRequirements(request.task, this.options.catalog).servers.map(({ name, reasons }) => ({ name, reasons }));
    if (chosen.length === 0) return { servers: {}, chosen, available: [], missing: [] };

    const names = chosen.map((c) => c.name);
    const health =
      request.policy === 'wait'
        ? await this.checkUntilUp(names, request.signal)
        : await this.check(names, request.signal);

    const down = health.filter((h) => h.status === 'down');
    if (down.length > 0 && request.policy !== 'degrade') {
      const detail = down.map((h) => `${h.name}: ${h.error?.message ?? 'down'}`).join('; ');
      throw new BatonError(
        ErrorCodes.mcpUnavailable,
        `Agent ${request.agentId} needs MCP servers that are not up (${detail}).`,
      );
    }
    const up = health.filter((h) => h.status === 'up');
    const { callTimeoutMs, env } = this.options;
    return {
      servers: Object.fromEntries(up.map((h) => [h.name, this.launch(h.name)])),
      ...(up.length > 0 && callTimeoutMs ? { env: mcpToolTimeoutEnv(callTimeoutMs, env) } : {}),
      ...this.sharedElsewhere(up.map((h) => h.name)),
      chosen,
      available: up.map((h) => ({ name: h.name, tools: h.tools.length })),
      missing: down.map((h) => ({
        name: h.name,
        error: h.error ?? { code: ErrorCodes.mcpUnavailable, message: 'down' },
      })),
    };
  }

  /**
   * Without a gateway here (the agent runs on a worker), which of its servers the worker's gateway
   * shares, and how this run would start and bound them: the run's directory and MCP timeouts.
   */
  private sharedElsewhere(names: string[]): Pick<AgentMcpPlan, 'shared' | 'sharedCwd' | 'sharedTimeouts'> {
    const shared = this.options.gateway ? [] : names.filter((name) => this.shared(name));
    if (shared.length === 0) return {};
    const { cwd, timeoutMs: startMs, callTimeoutMs: callMs } = this.options;
    return { shared, ...(cwd ? { sharedCwd: cwd } : {}), sharedTimeouts: { startMs, ...(callMs ? { callMs } : {}) } };
  }

  /**
   * Checks the servers, then re-checks the ones still down on the `wait` schedule until all are up or
   * the signal aborts; returns the latest health of each either way.
   */
  private async checkUntilUp(names: string[], signal?: AbortSignal): Promise<ServerHealth[]> {
    let health = await this.check(names, signal);
    for (let delay = waitBackoff.next(); health.some(isDown); delay = delay.next(undefined)) {
      await sleep(delay.duration, undefined, { signal }).catch(() => undefined);
      if (signal?.aborted) break;
      const again = await this.check(
        health.filter(isDown).map((h) => h.name),
        signal,
      );
      health = health.map((h) => again.find((a) => a.name === h.name) ?? h);
    }
    return health;
  }

  /**
   * How a server is probed: a shared one through the gateway's kept client (started on first use,
   * never closed by the probe), any other by starting it, listing its tools and stopping it.
   */
  private probeFor(name: string): (timeoutMs: number) => Promise<MockTool[]> {
    const config = this.options.gateway && this.shared(name) ? undefined : this.launch(name);
    const stop = this.closing.signal;
    const { cwd, env: inherit } = this.options;
    if (config) return (timeoutMs) => this.probe(name, config, { timeoutMs, cwd, inherit, signal: stop });
    const launch = launchConfig(this.server(name), this.options.env);
    if (!('command' in launch)) throw new BatonError(ErrorCodes.internal, `MCP server "${name}" is not stdio`);
    const upstream = this.options.gateway!.upstream(name, launch, this.options.cwd);
    return (timeoutMs) =>
      withinDeadline(name, timeoutMs, async (signal) => listedTools(await upstream.client(signal), signal), stop);
  }

  /** Runs an agent's request to a shared server through that server's breaker (the gateway's guard). */
  guard<T>(name: string, request: () => Promise<T>): Promise<T> {
    return throughBreaker(this.state(name).breaker, name, request);
  }

  /** Records a request that went through the gateway; `baton status` sees it within `reportEveryMs`. */
  recordCall(call: GatewayCall): void {
    this.state(call.server).traffic.recordCall(call);
    this.events.emit('mcp.call', call);
    if (this.saveDue || !this.saveRunHealth) return;
    this.saveDue = setTimeout(() => this.saveHealth(), this.options.reportEveryMs ?? 2000);
    this.saveDue.unref();
  }

  /**
   * Records a shared server's crash or restart. A crash is one failure to its breaker, however many
   * calls it cut off (they are not counted): three in a row without an answer between open it. A
   * crashed server is re-checked before the next agent starts.
   */
  recordLifecycle(event: McpEventMap['mcp.lifecycle']): void {
    const state = this.state(event.server);
    state.traffic.recordLifecycle(event);
    if (countsAgainstBreaker(event)) {
      state.healthy = undefined;
      countCrash(state.breaker, event.server);
    }
    this.events.emit('mcp.lifecycle', event);
    this.saveHealth();
  }

  /** Saves the run's MCP health (for `baton status`) now, while calls go through, after each crash or restart, and at close. */
  reportHealthTo(save: (health: ServerRunHealth[]) => Promise<void>): void {
    this.saveRunHealth = save;
    this.saveHealth();
  }

  /** Health is for reading: a store briefly out of reach must not fail the run. */
  private saveHealth(): void {
    clearTimeout(this.saveDue);
    this.saveDue = undefined;
    void this.saveRunHealth?.(this.runHealth()).catch(() => undefined);
  }

  /** Each server's health over the run so far. */
  runHealth(): ServerRunHealth[] {
    return [...this.states].map(([name, { traffic }]) =>
      traffic.health(name, this.options.catalog.has(name) ? this.scope(name) : 'remote', this.breakerState(name)),
    );
  }

  /** Re-probes, in the background, every server whose breaker is not closed. */
  startMonitor(): void {
    if (this.monitor) return;
    this.monitor = setInterval(() => {
      for (const [name, state] of this.states) {
        if (breakerState(state.breaker) !== 'closed') void this.checkOne(name);
      }
    }, this.options.monitorIntervalMs ?? 2000);
    this.monitor.unref();
  }

  close(): void {
    this.closing.abort();
    this.saveHealth();
    if (this.monitor) clearInterval(this.monitor);
    this.monitor = undefined;
  }

  private state(name: string): ServerState {
    const existing = this.states.get(name);
    if (existing) return existing;
    const breaker = serverBreaker({
      threshold: this.options.breakerThreshold,
      halfOpenAfterMs: this.options.breakerHalfOpenAfterMs,
    });
    breaker.onBreak(() => this.events.emit('mcp.breaker', { server: name, state: 'open' }));
    breaker.onHalfOpen(() => this.events.emit('mcp.breaker', { server: name, state: 'half-open' }));
    breaker.onReset(() => this.events.emit('mcp.breaker', { server: name, state: 'closed' }));
    // Each attempt passes the breaker; an open breaker or a timed-out server is not retried.
    const retries = retry(
      handleWhen((error) => !(error instanceof BrokenCircuitError) && !(error instanceof McpProbeTimeout)),
      {
        maxAttempts: (this.options.maxAttempts ?? 3) - 1,
        backoff: new ExponentialBackoff({ initialDelay: this.options.retryBaseDelayMs ?? 100, maxDelay: 1000 }),
      },
    );
    const state: ServerState = {
      breaker,
      policy: wrap(retries, breaker),
      traffic: new ServerTraffic(),
    };
    this.states.set(name, state);
    return state;
  }

  private snapshotPath(name: string): string | undefined {
    return this.options.snapshotDir ? join(this.options.snapshotDir, `${name}.tools.json`) : undefined;
  }

  private recordSnapshot(name: string, tools: MockTool[]): void {
    const path = this.snapshotPath(name);
    if (!path) return;
    // Private as the rest of data_dir, which may itself be shared on purpose.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, `${JSON.stringify(tools, null, 2)}\n`, { mode: 0o600 });
  }

  /** Tools a mock offers: declared in the entry, else the last recorded tools/list. */
  private mockTools(name: string): MockTool[] {
    const declared = this.options.catalog.get(name)?.entry.mock?.tools;
    if (declared) return declared;
    const path = this.snapshotPath(name);
    try {
      if (path) return JSON.parse(readFileSync(path, 'utf8')) as MockTool[];
    } catch {
      // no snapshot yet
    }
    throw new BatonError(
      ErrorCodes.mcpConfigInvalid,
      `Cannot mock MCP server "${name}": it declares no mock.tools and no tools/list was recorded. Run \`baton mcp check\` once with use_mock_mcp off, or declare mock.tools.`,
    );
  }
}
