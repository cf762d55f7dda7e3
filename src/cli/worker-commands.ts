import { hostname } from 'node:os';
import { ClaudeRuntime } from '../agents/index.js';
import { BatonError, ErrorCodes } from '../core/index.js';
import { WorkerGateways } from '../mcp/index.js';
import { currentRunStatus } from '../orchestrator/index.js';
import type { Store } from '../store/index.js';
import {
  metricsAccess,
  metricsTokenFile,
  RunTracing,
  startMetricsServer,
  StoreMetrics,
} from '../observability/index.js';
import { type Output } from './commands.js';
import { openConfiguredStore, loadEffectiveConfig, type StoreOptions } from '../api/index.js';

/** How long closing the store may take once the worker has stopped. */
const CLOSE_WAIT_MS = 2000;

export interface WorkerCommandOptions extends StoreOptions {
  concurrency?: number;
  /** Port of the worker's `/metrics` (default: metrics_port, else a free one). */
  metricsPort?: number;
}

/**
 * `baton worker`: takes agents of every run off the Redis queue and runs them here until
 * SIGINT/SIGTERM. Agents get this machine's environment (API key, HOME) plus their workflow's env.
 */
export async function workerCommand(options: WorkerCommandOptions, output: Output): Promise<number> {
  const { config } = loadEffectiveConfig(options);
  if (!config.redis_url) {
    throw new BatonError(
      ErrorCodes.configInvalid,
      'baton worker needs redis_url: the Redis server that holds the queue and the store (set it in baton.config or BATON_REDIS_URL).',
    );
  }
  // Agents' attempts and tool calls join their run's trace when the worker traces too. First: a refused
  // OTLP protocol (BATON_CONFIG_INVALID) stops the worker before a Redis connection would keep it alive.
  const tracing = await RunTracing.configured(config.otel_endpoint, process.env);
  const store = await openConfiguredStore(config);
  const runtime = new ClaudeRuntime({
    claudePath: config.claude_path,
    streamIdleTimeoutMs: config.stream_idle_timeout_ms,
  });
  const concurrency = options.concurrency ?? config.worker_concurrency;
  // How `baton status` names this worker's view of a run's MCP servers.
  const workerId = `${hostname()}:${process.pid}`;
  const { jobKey, startAgentWorker } = await import('../queue/index.js');
  // The store's totals for as long as the worker lives: runs, agents, tokens, cost, tool calls. Served
  // before any job is taken; a worker that cannot start lets go of Redis, which would keep it alive.
  const metrics = await startMetricsServer(new StoreMetrics(store, currentRunStatus), {
    port: options.metricsPort ?? config.metrics_port ?? 0,
    ...metricsAccess(config.data_dir),
  }).catch(async (error: unknown) => {
    await closeStore(store);
    throw error;
  });
  let onWrongKey: (error: BatonError) => void = () => undefined;
  const wrongKey = new Promise<BatonError>((resolve) => (onWrongKey = resolve));
  const worker = await startAgentWorker({
    redisUrl: config.redis_url,
    store,
    jobKey: jobKey(config.job_secret, config.data_dir),
    runtime,
    env: process.env,
    concurrency,
    stallTimeoutMs: config.worker_stall_timeout_ms,
    tenantLimits: config.tenant_max_concurrent_agents,
    // A run's shared MCP servers stop once none of its agents run here and the run has ended.
    mcpGateways: new WorkerGateways({
      runEnded: async (runId) => (await store.getRun(runId))?.status !== 'running' || store.isCancelRequested(runId),
      reportHealth: (runId, health) => store.saveMcpHealth(runId, workerId, health),
      startTimeoutMs: config.mcp_timeout_ms,
      callTimeoutMs: config.mcp_call_timeout_ms,
    }),
    ...(tracing ? { observeJob: (job) => tracing.jobHooks(job) } : {}),
    onJob: (e) =>
      output.stderr.write(
        `${e.status === 'started' ? '▶' : e.status === 'succeeded' ? '✓' : '✗'} ${e.agentId} (run ${e.runId.slice(0, 8)}) ${e.status}\n`,
      ),
    onWrongJobKey: (error) => onWrongKey(error),
  }).catch(async (error: unknown) => {
    await Promise.all([metrics.close(), closeStore(store)]);
    throw error;
  });
  output.stderr.write(
    `Worker ${workerId} ready: up to ${concurrency} agents at once from the Redis queue. Metrics at ${metrics.url} (Authorization: Bearer <${metricsTokenFile(config.data_dir)}>)\n`,
  );
  const misconfigured = await new Promise<BatonError | undefined>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      output.stderr.write(`${signal}: stopping; running agents are cancelled and their jobs go back to the queue.\n`);
      resolve(undefined);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    void wrongKey.then(resolve);
  });
  if (misconfigured)
    output.stderr.write(
      `error ${misconfigured.code}: ${misconfigured.message} The job went back to the queue; this worker stops.\n`,
    );
  await worker.stop();
  await metrics.close();
  const untraced = await tracing?.shutdown();
  if (untraced) output.stderr.write(`warning: ${untraced}\n`);
  await closeStore(store);
  // Once the agents have exited, nothing may keep the worker alive past its stop timeout.
  setTimeout(() => process.exit(misconfigured ? 2 : 0), CLOSE_WAIT_MS).unref();
  return misconfigured ? 2 : 0;
}

/** With Redis gone its client keeps reconnecting: closing the store is bounded. */
const closeStore = (store: Store): Promise<unknown> =>
  Promise.race([store.close(), new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
