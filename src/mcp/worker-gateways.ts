import type { CircuitBreakerPolicy } from 'cockatiel';
import type { ServerRunHealth } from '../core/index.js';
import type { McpLaunchConfig } from './catalog.js';
import type { McpGateway } from './gateway.js';
import type { SharedMcpTimeouts } from './manager.js';
import { ServerTraffic } from './run-health.js';
import {
  breakerState,
  countCrash,
  countsAgainstBreaker,
  serverBreaker,
  throughBreaker,
  type ServerBreakerOptions,
} from './server-breaker.js';

/**
 * How often an idle run's gateway asks whether its run has ended: a cheap read (one run record), and
 * how long a finished run's servers may outlive `baton run` on this worker.
 */
const RUN_END_POLL_MS = 50;
/** How long a run's gateway stays up with none of its agents on this worker, when the run has not ended. */
const DEFAULT_IDLE_MS = 60_000;
/** Calls are reported at most this often; crashes, restarts, an agent's end and the gateway's stop at once. */
const DEFAULT_REPORT_EVERY_MS = 2000;

export interface WorkerGatewaysOptions {
  /** Whether a run has ended (finished or cancelled): its gateway is stopped once none of its agents run here. */
  runEnded: (runId: string) => Promise<boolean>;
  idleMs?: number;
  pollMs?: number;
  /** Saves what this worker's gateway saw of a run's servers (for `baton status`); failures are ignored. */
  reportHealth?: (runId: string, health: ServerRunHealth[]) => Promise<void>;
  reportEveryMs?: number;
  /**
   * `mcp_timeout_ms`: how long a shared server's start may take, and a request wait for it; for a job
   * that does not carry its run's (`started.timeouts` of `lease`).
   */
  startTimeoutMs?: number;
  /** `mcp_call_timeout_ms`: how long an agent's request may wait for its answer; the same. */
  callTimeoutMs?: number;
  /** Each shared server's circuit breaker on this worker (default: 3 failures in a row, open 5 s). */
  breaker?: ServerBreakerOptions;
}

/** What a job says of how its run starts its shared servers. */
export interface SharedMcpStart {
  /** The run's caller's additions to the environment the servers inherit. */
  env?: Record<string, string>;
  /** The run's directory. */
  cwd?: string;
  /** The run's MCP timeouts: its gateway here applies them, as the orchestrator's would. */
  timeouts?: SharedMcpTimeouts;
}

/**
 * A job's MCP servers, with the shared ones pointed at this worker's gateway for the run; `release`
 * when the job ends (it resolves once the run's servers are stopped, if the run has ended).
 */
export interface SharedMcpLease {
  servers: Record<string, McpLaunchConfig>;
  release: () => Promise<void>;
}

interface RunGateway {
  gateway: Promise<McpGateway>;
  jobs: number;
  /** Each shared server's calls, failures, crashes and restarts through this gateway. */
  traffic: Map<string, ServerTraffic>;
  /** Each shared server's circuit breaker, which the agents' requests pass and its crashes count against. */
  breakers: Map<string, CircuitBreakerPolicy>;
  stopWatching?: () => void;
  /** A report of recent calls, due within `reportEveryMs`. */
  reportDue?: NodeJS.Timeout;
  /** Set once the gateway and its servers have stopped: every report from then on says so. */
  stopped?: boolean;
}

/**
 * The MCP gateways of one `baton worker`: the stdio servers of `scope: run` start once per (worker,
 * run), as this worker's children, and the run's agents on this worker share them. Each run's
 * gateway has its own secret, made here: it never travels through the queue. A run's gateway stops
 * when none of its agents run here and the run has ended, or after `idleMs` without one. Each run's
 * gateway reports its servers' health while it lives (`running: true`) and once more when it has
 * stopped them (`running: false`), which the run's orchestrator waits for before it exits.
 */
export class WorkerGateways {
  private readonly runs = new Map<string, RunGateway>();
  private closed = false;

  constructor(private readonly options: WorkerGatewaysOptions) {}

  /**
   * Points the job's shared servers at the run's gateway on this worker, starting it on first use.
   * A server started here runs in `started.cwd` (the run's directory) and inherits this worker's
   * environment with `started.env` (the run's caller's additions) on top, as a local run's would.
   * The run's gateway bounds starts and calls by `started.timeouts`, the run's own (else the worker's).
   */
  async lease(
    runId: string,
    servers: Record<string, McpLaunchConfig>,
    shared: string[],
    started: SharedMcpStart = {},
  ): Promise<SharedMcpLease> {
    const stdio = shared.filter((name) => 'command' in (servers[name] ?? {}));
    if (stdio.length === 0 || this.closed) return { servers, release: async () => undefined };
    const run = this.join(runId, started.timeouts);
    let released: Promise<void> | undefined;
    const release = () => (released ??= this.leave(runId, run));
    try {
      const gateway = await run.gateway;
      const pointed = { ...servers };
      for (const name of stdio) {
        const config = servers[name] as Extract<McpLaunchConfig, { command: string }>;
        gateway.upstream(name, config, started.cwd, { ...process.env, ...started.env });
        trafficOf(run, name);
        pointed[name] = gateway.launchConfig(name);
      }
      void this.report(runId, run);
      return { servers: pointed, release };
    } catch (error) {
      await release();
      throw error;
    }
  }

  /** Process ids of the shared servers running on this worker now. */
  async pids(): Promise<number[]> {
    const gateways = await Promise.all([...this.runs.values()].map((r) => r.gateway.catch(() => undefined)));
    return gateways.flatMap((g) => g?.pids() ?? []);
  }

  /** Stops every run's gateway and its servers (the worker is shutting down). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.runs.keys()].map((runId) => this.stop(runId)));
  }

  private join(runId: string, timeouts: SharedMcpTimeouts | undefined): RunGateway {
    let run = this.runs.get(runId);
    if (!run) {
      run = this.startGateway(runId, timeouts);
      this.runs.set(runId, run);
    }
    run.stopWatching?.();
    run.stopWatching = undefined;
    run.jobs++;
    return run;
  }

  private startGateway(runId: string, timeouts: SharedMcpTimeouts | undefined): RunGateway {
    const breakerOf = (server: string) => {
      let breaker = run.breakers.get(server);
      if (!breaker) run.breakers.set(server, (breaker = serverBreaker(this.options.breaker)));
      return breaker;
    };
    const run: RunGateway = {
      jobs: 0,
      traffic: new Map(),
      breakers: new Map(),
      // Loaded on first use: a worker whose agents share no server never loads the SDK's server side.
      gateway: import('./gateway.js').then(({ McpGateway }) =>
        McpGateway.start({
          startTimeoutMs: timeouts?.startMs ?? this.options.startTimeoutMs,
          callTimeoutMs: timeouts ? timeouts.callMs : this.options.callTimeoutMs,
          guard: (server, request) => throughBreaker(breakerOf(server), server, request),
          onCall: (call) => {
            trafficOf(run, call.server).recordCall(call);
            this.reportSoon(runId, run);
          },
          onLifecycle: (event) => {
            trafficOf(run, event.server).recordLifecycle(event);
            if (countsAgainstBreaker(event)) countCrash(breakerOf(event.server), event.server);
            void this.report(runId, run);
          },
        }),
      ),
    };
    return run;
  }

  private reportSoon(runId: string, run: RunGateway): void {
    if (run.reportDue || !this.options.reportHealth) return;
    run.reportDue = setTimeout(
      () => void this.report(runId, run),
      this.options.reportEveryMs ?? DEFAULT_REPORT_EVERY_MS,
    );
    run.reportDue.unref();
  }

  /** What this worker's gateway saw of each shared server, its breaker here included. */
  private async report(runId: string, run: RunGateway): Promise<void> {
    clearTimeout(run.reportDue);
    run.reportDue = undefined;
    const breaker = (name: string) => {
      const here = run.breakers.get(name);
      return here ? breakerState(here) : 'closed';
    };
    const running = !run.stopped;
    const health = [...run.traffic].map(([name, traffic]) => ({
      ...traffic.health(name, 'run', breaker(name)),
      running,
    }));
    await this.options.reportHealth?.(runId, health).catch(() => undefined);
  }

  /**
   * One of the run's agents is done here. The last one stops the run's servers at once if the run
   * has ended (a cancelled run's last job ends before the run does), else watches for its end.
   */
  private async leave(runId: string, run: RunGateway): Promise<void> {
    void this.report(runId, run); // what it did shows now
    run.jobs--;
    if (run.jobs > 0 || this.runs.get(runId) !== run) return;
    run.stopWatching = this.watchIdle(runId);
    const ended = await this.options.runEnded(runId).catch(() => false);
    // The agent's job has run: a server that will not stop cleanly must not fail it.
    if (ended) await this.stopIdle(runId).catch(() => undefined);
  }

  /** While none of the run's agents run here: stop its gateway once the run ends, or after the idle time. */
  private watchIdle(runId: string): () => void {
    const { idleMs = DEFAULT_IDLE_MS, pollMs = RUN_END_POLL_MS, runEnded } = this.options;
    const idle = setTimeout(() => void this.stopIdle(runId), idleMs);
    const poll = setInterval(() => {
      runEnded(runId).then(
        (ended) => ended && void this.stopIdle(runId),
        () => undefined, // the store is briefly unreachable: ask again
      );
    }, pollMs);
    idle.unref();
    poll.unref();
    return () => {
      clearTimeout(idle);
      clearInterval(poll);
    };
  }

  /** An agent of the run may have started here while the run's end was asked about: then it stays. */
  private async stopIdle(runId: string): Promise<void> {
    if (this.runs.get(runId)?.jobs === 0) await this.stop(runId);
  }

  private async stop(runId: string): Promise<void> {
    const run = this.runs.get(runId);
    if (!run) return;
    this.runs.delete(runId);
    run.stopWatching?.();
    const gateway = await run.gateway.catch(() => undefined);
    await gateway?.close();
    run.stopped = true;
    await this.report(runId, run);
  }
}

function trafficOf(run: RunGateway, server: string): ServerTraffic {
  let traffic = run.traffic.get(server);
  if (!traffic) run.traffic.set(server, (traffic = new ServerTraffic()));
  return traffic;
}
