import { dirname, join, resolve } from 'node:path';
import { ClaudeRuntime } from '../agents/index.js';
import { preloadTokenizer } from '../context/index.js';
import { loadConfig, type BatonConfig } from '../config/index.js';
import { BatonError, ErrorCodes } from '../core/index.js';
import {
  catalogFor,
  formatRunHealth,
  mcpSecretValues,
  newGatewayToken,
  readRunHealth,
  runHealthPath,
  startMcp,
  type McpEvents,
  type McpServerEntry,
  type McpSetupOptions,
} from '../mcp/index.js';
import {
  AuditTrail,
  BatonMetrics,
  createLogger,
  logEvents,
  parseDuration,
  redactingStore,
  remainingTenantQuota,
  SecretRedactor,
  startMetricsServer,
  usageDimensions,
  usageReport,
  type UsageDimension,
} from '../observability/index.js';
import { loadScript, startModelServer } from '../model-server/index.js';
import {
  requestRunCancel,
  resumableRun,
  RunEvents,
  runWorkflow,
  summarizeRun,
  type RunSummary,
} from '../orchestrator/index.js';
import type { QueueExecutor } from '../queue/index.js';
import { openStore, type Store } from '../store/index.js';
import { loadWorkflow, parseWorkflow, type LoadedWorkflow } from '../workflow/index.js';
import { formatSummary, printProgress } from './progress.js';

export interface StoreOptions {
  config?: string;
  dataDir?: string;
}

export interface Output {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The config with --data-dir applied, and where it came from. */
export function loadEffectiveConfig(options: StoreOptions): { config: BatonConfig; sources: string[] } {
  const { config, sources } = loadConfig({ file: options.config, cwd: process.cwd(), env: process.env });
  return options.dataDir
    ? { config: { ...config, data_dir: resolve(options.dataDir) }, sources: [...sources, '--data-dir'] }
    : { config, sources };
}

export const effectiveConfig = (options: StoreOptions): BatonConfig => loadEffectiveConfig(options).config;

/** The audit trail of a store, with the configured retention. */
export const auditTrail = (store: Store, config: BatonConfig): AuditTrail =>
  new AuditTrail(store, { retentionMs: config.audit_retention_days * 86_400_000 });

/** The store the config names: Redis when redis_url is set, else SQLite in data_dir. */
export const openConfiguredStore = (config: BatonConfig): Promise<Store> =>
  openStore({ dataDir: config.data_dir, ...(config.redis_url ? { redisUrl: config.redis_url } : {}) });

export async function withStore<T>(
  options: StoreOptions,
  fn: (store: Store, config: BatonConfig) => Promise<T>,
): Promise<T> {
  const config = effectiveConfig(options);
  const store = await openConfiguredStore(config);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

/** Exit code of a finished run: 0 only when every agent succeeded. */
export const runExitCode = (summary: RunSummary): number => (summary.status === 'succeeded' ? 0 : 1);

export interface RunCommandOptions extends StoreOptions {
  json?: boolean;
  tenant?: string;
  /** Continue this stored run instead of starting a new one. */
  resume?: string;
  priority?: number;
  /** When the tenant's daily quota is used up: fail at once (default) or wait for the next UTC day. */
  onQuota?: 'wait' | 'fail';
  /** Extra environment for agents on top of Baton's own (the demo points them at its scripted model). */
  agentEnv?: Record<string, string>;
}

/** The MCP setup for a config: servers from baton.config, the `.mcp.json` of `projectDirs`, and a workflow's. */
export function mcpSetup(
  config: BatonConfig,
  projectDirs: string[],
  cwd: string,
  workflowServers?: Record<string, McpServerEntry>,
): McpSetupOptions {
  return {
    configServers: config.mcp_servers,
    projectDirs,
    ...(workflowServers ? { workflowServers } : {}),
    env: process.env,
    timeoutMs: config.mcp_timeout_ms,
    useMock: config.use_mock_mcp,
    dataDir: config.data_dir,
    cwd,
  };
}

/**
 * Loads a workflow with the MCP servers declared around it (baton.config, `.mcp.json` in the working
 * directory and the workflow's), so agents may name any of them.
 */
export function loadWorkflowWithMcp(workflowPath: string, config: BatonConfig) {
  const projectDirs = [process.cwd(), dirname(resolve(workflowPath))];
  const external = catalogFor({ configServers: config.mcp_servers, projectDirs });
  return withMcpSetup(
    loadWorkflow(workflowPath, { externalMcpServers: new Set(external.keys()) }),
    config,
    projectDirs,
  );
}

function withMcpSetup(loaded: LoadedWorkflow, config: BatonConfig, projectDirs: string[]) {
  const mcpOptions = mcpSetup(config, projectDirs, loaded.dir, loaded.workflow.mcpServers);
  return { ...loaded, mcpOptions, catalog: catalogFor(mcpOptions) };
}

/** The workflow a stored run was started with, for `baton run --resume`: the file may have changed since. */
async function loadRunToResume(store: Store, runId: string, config: BatonConfig) {
  const run = await resumableRun(store, runId);
  const dir = run.workflowPath ? dirname(run.workflowPath) : process.cwd();
  const projectDirs = [process.cwd(), dir];
  const external = catalogFor({ configServers: config.mcp_servers, projectDirs });
  const workflow = parseWorkflow(JSON.stringify(run.workflow), `run ${runId}`, {
    externalMcpServers: new Set(external.keys()),
  });
  return { run, ...withMcpSetup({ workflow, path: run.workflowPath ?? '', dir }, config, projectDirs) };
}

/** Serves Prometheus metrics of this process's run while it goes. */
async function serveMetrics(port: number, events: RunEvents, mcpEvents: McpEvents | undefined, output: Output) {
  const metrics = new BatonMetrics();
  metrics.observeRun(events);
  if (mcpEvents) metrics.observeMcp(mcpEvents);
  const server = await startMetricsServer(metrics, port);
  output.stderr.write(`Metrics at ${server.url}\n`);
  return server;
}

/** `baton run` takes a workflow file or `--resume <runId>`, not both. */
function checkRunArguments(workflowPath: string | undefined, options: RunCommandOptions): void {
  if (!workflowPath && !options.resume)
    throw new BatonError(
      ErrorCodes.usage,
      'Give a workflow file to run, or --resume <runId> to continue a stored run.',
    );
  if (workflowPath && options.resume)
    throw new BatonError(
      ErrorCodes.usage,
      '--resume continues a run with the workflow it started with; leave out the workflow file.',
    );
}

/** Cancels the run on SIGINT and SIGTERM, saying so; `dispose` stops listening. */
function cancelOnSignals(output: Output): { signal: AbortSignal; dispose: () => void } {
  const cancel = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (cancel.signal.aborted) return;
    output.stderr.write(`\n${signal}: cancelling the run, stopping its agents…\n`);
    cancel.abort(new BatonError(ErrorCodes.cancelled, `run cancelled by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: cancel.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * With Redis, agents go to `baton worker`s through the queue instead of running here. Loaded only
 * then: BullMQ is not needed on one machine.
 */
/**
 * The run's MCP servers: shared through the gateway (not when agents go to workers, which may run on
 * other hosts, where its loopback URL does not reach), their health kept for `baton status`.
 */
async function startRunMcp(
  loaded: Awaited<ReturnType<typeof whatToRun>>,
  config: BatonConfig,
  gateway: { token: string },
  events: RunEvents,
): Promise<Awaited<ReturnType<typeof startMcp>> | undefined> {
  if (loaded.catalog.size === 0) return undefined;
  const mcp = await startMcp({ ...loaded.mcpOptions, ...(config.redis_url ? {} : { gateway }) });
  events.on('run.started', (e) => mcp.manager.reportHealthTo(runHealthPath(config.data_dir, e.runId)));
  return mcp;
}

async function openQueueExecutor(
  config: BatonConfig,
  store: Store,
  output: Output,
): Promise<QueueExecutor | undefined> {
  if (!config.redis_url) return undefined;
  const { QueueExecutor } = await import('../queue/index.js');
  const executor = await QueueExecutor.open({ redisUrl: config.redis_url, store });
  output.stderr.write('Agents go to baton workers through the Redis queue (redis_url).\n');
  return executor;
}

/** What is left of the tenant's daily budgets (tenant_daily_budget_usd, tenant_daily_token_budget) for this run. */
const tenantQuota = (
  store: Store,
  config: BatonConfig,
  tenant: string,
  onQuota: 'wait' | 'fail',
  signal: AbortSignal,
  output: Output,
) =>
  remainingTenantQuota(store, {
    tenant,
    dailyUsd: config.tenant_daily_budget_usd[tenant],
    dailyTokens: config.tenant_daily_token_budget[tenant],
    onQuota,
    signal,
    waiting: (message) => output.stderr.write(`${message}\n`),
  });

/** The workflow `baton run` runs and for which tenant: a file, or the stored run `--resume` continues. */
async function whatToRun(
  workflowPath: string | undefined,
  options: RunCommandOptions,
  store: Store,
  config: BatonConfig,
): Promise<ReturnType<typeof loadWorkflowWithMcp> & { tenant: string }> {
  if (!options.resume) return { ...loadWorkflowWithMcp(workflowPath!, config), tenant: options.tenant ?? 'default' };
  const resumable = await loadRunToResume(store, options.resume, config);
  return { ...resumable, tenant: resumable.run.tenant };
}

/** `baton run`: runs a workflow until it finishes or is cancelled (SIGINT, SIGTERM, `baton cancel`). */
export async function runCommand(
  workflowPath: string | undefined,
  options: RunCommandOptions,
  output: Output,
): Promise<number> {
  const { config, sources } = loadEffectiveConfig(options);
  checkRunArguments(workflowPath, options);
  const rawStore = await openConfiguredStore(config);
  let loaded: Awaited<ReturnType<typeof whatToRun>>;
  try {
    loaded = await whatToRun(workflowPath, options, rawStore, config);
  } catch (error) {
    await rawStore.close();
    throw error;
  }
  const { tenant } = loaded;
  const agentEnv = { ...process.env, ...options.agentEnv };
  // Secrets (API keys, tokens, MCP env and headers) never reach the store or the logs.
  const gateway = { token: newGatewayToken() };
  const redactor = SecretRedactor.fromEnvironment(agentEnv, [
    ...mcpSecretValues(loaded.catalog, agentEnv),
    gateway.token,
  ]);
  const store = redactingStore(rawStore, redactor);
  const events = new RunEvents();
  const logger = createLogger({
    debug: config.enable_debug_logging,
    file: join(config.data_dir, 'logs', 'baton.log'),
    redactor,
  });
  const audit = auditTrail(store, config);
  const runtime = new ClaudeRuntime({ claudePath: config.claude_path, poolSize: config.session_pool_size });
  const cancel = cancelOnSignals(output);
  // Whatever was started is stopped again, however far start-up got.
  let mcp: Awaited<ReturnType<typeof startMcp>> | undefined;
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  let executor: QueueExecutor | undefined;
  try {
    const quota = await tenantQuota(rawStore, config, tenant, options.onQuota ?? 'fail', cancel.signal, output);
    await audit.prune();
    await audit.recordConfig(config, sources);
    audit.watchRun(events);
    if (!options.json || output.stderr.isTTY) printProgress(events, output.stderr);
    mcp = await startRunMcp(loaded, config, gateway, events);
    metrics = config.enable_metrics
      ? await serveMetrics(config.metrics_port, events, mcp?.manager.events, output)
      : undefined;
    logEvents(logger, events, mcp?.manager.events);
    // Off the critical path: the tokenizer loads while the first agent works, not after it finishes.
    events.on('agent.attempt', preloadTokenizer);
    executor = await openQueueExecutor(config, store, output);

    const summary = await runWorkflow({
      workflow: loaded.workflow,
      workflowDir: loaded.dir,
      ...(loaded.path ? { workflowPath: loaded.path } : {}),
      config,
      store,
      runtime,
      mcp: mcp?.manager,
      tenant,
      ...(options.resume ? { runId: options.resume, resume: true } : {}),
      ...(options.priority !== undefined ? { priority: options.priority } : {}),
      ...(executor ? { executor } : {}),
      ...quota,
      env: agentEnv,
      signal: cancel.signal,
      events,
    });
    output.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`);
    return runExitCode(summary);
  } finally {
    await executor?.close();
    await runtime.close();
    await mcp?.close();
    await metrics?.close();
    await audit.flush();
    logger.flush();
    cancel.dispose();
    await rawStore.close();
  }
}

export async function statusCommand(
  runId: string | undefined,
  options: StoreOptions & { json?: boolean },
  output: Output,
): Promise<number> {
  return withStore(options, async (store, config) => {
    const id = runId ?? (await store.listRuns({ limit: 1 }))[0]?.id;
    if (!id) throw new BatonError(ErrorCodes.usage, 'No runs yet. Start one with: baton run <workflow.yaml>');
    const summary = await summarizeRun(store, id);
    const mcpHealth = readRunHealth(config.data_dir, id);
    output.stdout.write(
      options.json
        ? `${JSON.stringify({ ...summary, ...(mcpHealth ? { mcpHealth } : {}) })}\n`
        : `${formatSummary(summary)}\n${mcpHealth ? `${formatRunHealth(mcpHealth)}\n` : ''}`,
    );
    return 0;
  });
}

export async function runsCommand(
  options: StoreOptions & { json?: boolean; limit?: number },
  output: Output,
): Promise<number> {
  return withStore(options, async (store) => {
    const runs = await store.listRuns({ limit: options.limit ?? 20 });
    if (options.json) {
      const rows = runs.map((r) => ({
        runId: r.id,
        workflow: r.workflowName,
        status: r.status,
        createdAt: new Date(r.createdAt).toISOString(),
        finishedAt: r.finishedAt ? new Date(r.finishedAt).toISOString() : null,
      }));
      output.stdout.write(`${JSON.stringify(rows)}\n`);
    } else if (runs.length === 0) {
      output.stdout.write('No runs yet.\n');
    } else {
      for (const r of runs)
        output.stdout.write(
          `${r.id}  ${r.status.padEnd(9)}  ${new Date(r.createdAt).toISOString()}  ${r.workflowName}\n`,
        );
    }
    return 0;
  });
}

export async function cancelCommand(runId: string, options: StoreOptions, output: Output): Promise<number> {
  return withStore(options, async (store, config) => {
    const run = await requestRunCancel(store, runId);
    await auditTrail(store, config).record('run.cancel_requested', runId, { status: run.status });
    const note = run.status === 'running' ? 'its agents are being stopped' : `it had already ended (${run.status})`;
    output.stdout.write(`Cancel requested for run ${runId}: ${note}.\n`);
    return 0;
  });
}

export async function configCheckCommand(
  options: { config?: string; json?: boolean },
  output: Output,
): Promise<number> {
  const { config, sources } = loadConfig({ file: options.config, cwd: process.cwd(), env: process.env });
  if (options.json) output.stdout.write(`${JSON.stringify({ config, sources })}\n`);
  else {
    output.stdout.write(`Config OK (from: ${sources.join(', ')})\n`);
    for (const [key, value] of Object.entries(config)) output.stdout.write(`  ${key}: ${JSON.stringify(value)}\n`);
  }
  return 0;
}

/** `baton model-server`: the scripted model, standalone, until SIGINT/SIGTERM. */
export async function modelServerCommand(
  options: { script: string; port?: number; host?: string; log?: string },
  output: Output,
): Promise<number> {
  const script = loadScript(options.script);
  const { server, url } = await startModelServer({
    script,
    port: options.port,
    host: options.host,
    logFile: options.log,
  });
  output.stdout.write(`Scripted model listening on ${url}\nexport ANTHROPIC_BASE_URL=${url}\n`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await server.close();
  return 0;
}

/** `baton usage`: tokens and cost of recent runs, grouped by model, workflow, run or phase. */
export async function usageCommand(
  options: StoreOptions & { since?: string; by?: string; json?: boolean },
  output: Output,
): Promise<number> {
  const by = (options.by ?? 'model') as UsageDimension;
  if (!usageDimensions.includes(by))
    throw new BatonError(ErrorCodes.usage, `--by ${options.by} is not one of: ${usageDimensions.join(', ')}.`);
  const sinceMs = parseDuration(options.since ?? '7d');
  return withStore(options, async (store) => {
    const report = await usageReport(store, { sinceMs, by, now: Date.now() });
    if (options.json) {
      output.stdout.write(`${JSON.stringify(report)}\n`);
      return 0;
    }
    output.stdout.write(`Usage since ${report.since}, by ${by}:\n`);
    for (const row of [...report.rows, { key: 'total', ...report.totals }]) {
      output.stdout.write(
        `  ${row.key.padEnd(38)} ${String(row.agents).padStart(5)} agents ${String(row.inputTokens).padStart(10)} in ${String(row.outputTokens).padStart(8)} out ${String(row.cacheReadTokens).padStart(9)} cache-read ${String(row.cacheCreationTokens).padStart(9)} cache-write  $${row.costUsd.toFixed(4)}\n`,
      );
    }
    return 0;
  });
}

/** `baton audit`: the audit trail, oldest first. */
export async function auditCommand(
  options: StoreOptions & { since?: string; action?: string; json?: boolean },
  output: Output,
): Promise<number> {
  const sinceMs = parseDuration(options.since ?? '30d');
  return withStore(options, async (store, config) => {
    await auditTrail(store, config).prune();
    const events = await store.listAuditEvents({ since: Date.now() - sinceMs, action: options.action });
    if (options.json) output.stdout.write(`${JSON.stringify(events)}\n`);
    else if (events.length === 0) output.stdout.write('No audit events in that period.\n');
    else {
      for (const e of events) {
        const details = Object.entries(e.details)
          .filter(([k]) => k !== 'config')
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(' ');
        output.stdout.write(
          `${new Date(e.at).toISOString()}  ${e.actor.padEnd(20)}  ${e.action.padEnd(22)}  ${e.target ?? ''}  ${details}\n`,
        );
      }
    }
    return 0;
  });
}

/** `baton dashboard [runId]`: the run's box, redrawn live until it ends (or once, with --once). */
export async function dashboardCommand(
  runId: string | undefined,
  options: StoreOptions & { once?: boolean; interval?: number },
  output: Output,
): Promise<number> {
  const [{ createElement }, { render }, { Dashboard, watchRun }] = await Promise.all([
    import('react'),
    import('ink'),
    import('../dashboard/index.js'),
  ]);
  return withStore(options, async (store, config) => {
    const id = runId ?? (await store.listRuns({ limit: 1 }))[0]?.id;
    if (!id) throw new BatonError(ErrorCodes.usage, 'No runs yet. Start one with: baton run <workflow.yaml>');
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once('SIGINT', onSignal);
    let app: ReturnType<typeof render> | undefined;
    try {
      const last = await watchRun(
        store,
        id,
        (snapshot) => {
          const view = createElement(Dashboard, { snapshot });
          if (app) app.rerender(view);
          else app = render(view, { stdout: output.stdout as NodeJS.WriteStream, patchConsole: false });
          if (options.once) stop.abort();
        },
        { intervalMs: options.interval ?? 500, contextLimitBytes: config.context_size_limit, signal: stop.signal },
      );
      if (!last) throw new BatonError(ErrorCodes.runNotFound, `No run with id ${id}. List runs with: baton runs`);
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      app?.unmount();
    }
  });
}

/** `baton serve`: the web dashboard, until SIGINT/SIGTERM. */
export async function serveCommand(
  options: StoreOptions & { port?: number; host?: string },
  output: Output,
): Promise<number> {
  const { startWebDashboard } = await import('../dashboard/index.js');
  return withStore(options, async (store) => {
    const dashboard = await startWebDashboard({ store, port: options.port ?? 8080, host: options.host });
    output.stdout.write(`Baton dashboard at ${dashboard.url}\n`);
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    await dashboard.close();
    return 0;
  });
}
