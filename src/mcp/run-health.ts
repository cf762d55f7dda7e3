import { hostname } from 'node:os';
import { processAlive, type ServerRunHealth } from '../core/index.js';
import type { GatewayCall } from './gateway.js';
import type { LifecycleEvent } from './server-breaker.js';

/** What one gateway saw of a shared server over a run: the orchestrator's manager and each worker keep one. */
export class ServerTraffic {
  private readonly latencies: number[] = [];
  private failures = 0;
  private crashes = 0;
  private restarts = 0;
  private lastError?: string;

  /** Tool calls are what `calls`, `failures` and p50 count; any other request (tools/list, …) that fails still leaves its error. */
  recordCall(call: GatewayCall): void {
    if (!call.ok) this.lastError = call.error;
    if (call.method !== 'tools/call') return;
    this.latencies.push(call.latencyMs);
    if (!call.ok) this.failures++;
  }

  /** A preflight that found the server down: why, for whoever reads the run's health. */
  recordDown(error: string): void {
    this.lastError = error;
  }

  recordLifecycle(event: LifecycleEvent): void {
    if (event.state === 'crashed') this.crashes++;
    if (event.state === 'restarted') this.restarts++;
    if (event.error) this.lastError = event.error;
  }

  health(name: string, scope: ServerRunHealth['scope'], breaker: ServerRunHealth['breaker']): ServerRunHealth {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      name,
      scope,
      breaker,
      calls: sorted.length,
      failures: this.failures,
      crashes: this.crashes,
      restarts: this.restarts,
      ...(sorted.length ? { p50Ms: sorted[Math.floor((sorted.length - 1) / 2)] } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}

/** A server's health over a run added up over every source that reported it (the orchestrator, each worker). */
export interface MergedServerHealth extends ServerRunHealth {
  /** `orchestrator` and/or workers as `host:pid`, in the order given. */
  sources: string[];
}

const breakerSeverity: Record<ServerRunHealth['breaker'], number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * One line per server, whichever gateways it ran behind: counts are summed, the breaker is the worst
 * any source saw, p50 the slowest source's (medians do not add up), the last error that of the last
 * source listed that has one. Input in the store's order (source, then name); output by server name.
 */
export function mergeRunHealth(records: Array<ServerRunHealth & { source: string }>): MergedServerHealth[] {
  const merged = new Map<string, MergedServerHealth>();
  // Whether a worker still hosts the server is a fact of the moment, not of the run's health.
  for (const { source, running: _running, ...health } of records) {
    const seen = merged.get(health.name);
    merged.set(health.name, seen ? addHealth(seen, health, source) : { ...health, sources: [source] });
  }
  return [...merged.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function addHealth(seen: MergedServerHealth, health: ServerRunHealth, source: string): MergedServerHealth {
  const p50s = [seen.p50Ms, health.p50Ms].filter((p): p is number => p !== undefined);
  const lastError = health.lastError ?? seen.lastError;
  return {
    name: seen.name,
    // A worker shares only `scope: run` servers; the orchestrator's word on the scope wins otherwise.
    scope: seen.scope === 'run' ? health.scope : seen.scope,
    breaker: breakerSeverity[health.breaker] > breakerSeverity[seen.breaker] ? health.breaker : seen.breaker,
    calls: seen.calls + health.calls,
    failures: seen.failures + health.failures,
    crashes: seen.crashes + health.crashes,
    restarts: seen.restarts + health.restarts,
    ...(p50s.length ? { p50Ms: Math.max(...p50s) } : {}),
    ...(lastError ? { lastError } : {}),
    sources: [...seen.sources, source],
  };
}

/**
 * Whether a worker (`host:pid`, as `baton worker` names itself) is known to have died: only on its
 * own host can its pid tell. A dead worker never reports again; its reaper has stopped its servers.
 */
export function workerGoneHere(source: string): boolean {
  const colon = source.lastIndexOf(':');
  const pid = Number(source.slice(colon + 1));
  return colon > 0 && source.slice(0, colon) === hostname() && Number.isInteger(pid) && !processAlive(pid);
}

/**
 * At a run's end: waits until no worker's report says it still hosts one of the run's shared servers
 * (each stops them within its poll for the run's end plus the servers' stop), for `timeoutMs` at most.
 * Returns the workers still hosting one then; a worker `gone` says has died is not waited for.
 */
export async function untilWorkersStopServers(
  list: () => Promise<Array<ServerRunHealth & { source: string }>>,
  {
    timeoutMs,
    pollMs = 25,
    gone = workerGoneHere,
  }: { timeoutMs: number; pollMs?: number; gone?: (source: string) => boolean },
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reports = (await list()).filter((h) => h.running);
    const hosting = [...new Set(reports.map((h) => h.source))].filter((source) => !gone(source));
    if (hosting.length === 0 || Date.now() >= deadline) return hosting;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

export function formatRunHealth(health: MergedServerHealth[]): string {
  const lines = health.map((h) => {
    const latency = h.p50Ms === undefined ? '' : `  p50 ${h.p50Ms.toFixed(1)} ms`;
    const trouble = h.crashes ? `  ${h.crashes} crash(es), ${h.restarts} restart(s)` : '';
    const error = h.lastError ? `  last error: ${h.lastError}` : '';
    return `  ${h.name.padEnd(14)} ${h.scope.padEnd(6)} breaker ${h.breaker.padEnd(9)} ${h.calls} call(s), ${h.failures} failed${latency}${trouble}${error}  (${h.sources.join(', ')})`;
  });
  return ['MCP servers:', ...lines].join('\n');
}
