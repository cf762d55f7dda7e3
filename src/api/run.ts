import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { ClaudeRuntime } from '../agents/index.js';
import {
  untilOnlyPeopleLeft,
  watchNewRequests,
  webhookNotificationsSettled,
  type SlotsWaitedFor,
} from '../approvals/index.js';
import { sessionPoolSize, type BatonConfig } from '../config/index.js';
import { BatonError, checkTenantName, ErrorCodes } from '../core/index.js';
import { newGatewayToken, startMcp, untilWorkersStopServers } from '../mcp/index.js';
import {
  createLogger,
  logEvents,
  pruneToolCalls,
  redactingStore,
  RunTracing,
  SecretRedactor,
} from '../observability/index.js';
import {
  AgentScheduler,
  resumeElsewhereWarning,
  RunEvents,
  runWorkflow,
  type RunSummary,
} from '../orchestrator/index.js';
import type { QueueExecutor } from '../queue/index.js';
import {
  diskFullError,
  markInterrupted,
  reserveDiskSpace,
  scheduleBackups,
  storeDamagedError,
  TenantScope,
  type Store,
} from '../store/index.js';
import type { Workflow } from '../workflow/index.js';
import { workflowSource } from './workflow.js';
import { asBatonEvent, eventStream, type BatonEvent } from './events.js';
import {
  auditTrail,
  checkRunnable,
  loadRunToResume,
  loadWorkflowWithMcp,
  openConfiguredStore,
  resolveRunConfig,
  serveMetrics,
  tenantQuota,
  workflowSecrets,
  workflowWithMcp,
  type ConfigOption,
} from './setup.js';

/** Options of `run` and `resume`; every one has a default, documented in docs/api.md. */
export interface RunOptions {
  /** A config file, or the settings themselves (validated like baton.config.yaml). Default: baton.config.* in `cwd` and BATON_* variables. */
  config?: ConfigOption;
  /** Overrides the config's data_dir. */
  dataDir?: string;
  /** A store you opened (and close); default: the one the config names, opened and closed by the run. */
  store?: Store;
  /** Who the run is for (default "default"): usage, daily budgets and concurrency limits add up per tenant. */
  tenant?: string;
  /** Overrides the workflow's priority. */
  priority?: number;
  /** When the tenant's daily quota is used up: fail (default) or wait for 00:00 UTC. */
  onQuota?: 'wait' | 'fail';
  /** Extra environment for agents, on top of this process's (e.g. ANTHROPIC_BASE_URL of a scripted model). */
  env?: Record<string, string>;
  /** Directory relative paths of a workflow defined in code resolve against (default: `cwd`). */
  workflowDir?: string;
  /** Where baton.config.* and `.mcp.json` are looked for (default: process.cwd()). */
  cwd?: string;
  /** Aborting it cancels the run: every agent is stopped, and the result says `cancelled`. */
  signal?: AbortSignal;
  /** Called with every event, in order, as it happens. */
  onEvent?: (event: BatonEvent) => void;
  /** Human-readable notices (waiting for a quota, where metrics are served); default: dropped. */
  onNotice?: (message: string) => void;
  /** Told the secret values the run found (MCP env and headers, literal agent env), to hide them from your own output. */
  onSecrets?: (values: string[]) => void;
  /** With `resume`: the phases whose worktree branches are merged again (`baton merge`); a succeeded run may be given. */
  redoMerge?: string[];
  /**
   * Stop once everything left waits for a person (approvals): agents are stopped, requests stay open,
   * and the result has `detached: true`; `resume` later picks up the answers.
   */
  detachOnWait?: boolean;
}

/** A run's summary; `detached` when `detachOnWait` stopped it to wait for a person. */
export type RunResult = RunSummary & { detached?: true };

/** A run in progress: its events (to iterate or subscribe to) and its result. */
export interface RunHandle extends AsyncIterable<BatonEvent> {
  /** The run's typed event emitter, for `events.on('agent.finished', …)`. */
  readonly events: RunEvents;
  /** The summary once the run has ended (also when agents failed; rejects on bad input). */
  readonly result: Promise<RunResult>;
}

/** Runs a workflow: one defined in code (`defineWorkflow`) or a workflow file's path. */
export function run(workflow: Workflow | string, options: RunOptions = {}): RunHandle {
  return start({ workflow }, options);
}

/**
 * Continues a stored run whose orchestrator stopped: finished agents are kept, the others run. `runId`
 * may be a unique start of the id (8 characters or more), as on the command line.
 */
export function resume(runId: string, options: RunOptions = {}): RunHandle {
  return start({ resume: runId }, options);
}

/** A workflow to run, or the id of a stored run to resume. */
interface RunTarget {
  workflow?: Workflow | string;
  resume?: string;
}

/**
 * The caller's `onEvent`, kept from breaking the run: it is called inside the orchestrator's emit, so
 * a throw would fail the run midway (agents left `running` in the store). Its error is told instead.
 */
function callerListener(onEvent: (event: BatonEvent) => void, onNotice: RunOptions['onNotice']) {
  const tell = onNotice ?? ((message: string) => process.emitWarning(message));
  return (type: string, payload: unknown): void => {
    try {
      onEvent(asBatonEvent(type, payload));
    } catch (error) {
      tell(`onEvent threw on ${type}: ${error instanceof Error ? error.message : String(error)} (the run goes on)`);
    }
  };
}

function start(what: RunTarget, options: RunOptions): RunHandle {
  const events = new RunEvents();
  if (options.onEvent) events.onAny(callerListener(options.onEvent, options.onNotice));
  const result = execute(what, options, events);
  const stream = eventStream(events, result);
  return { events, result, [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator]() };
}

type Loaded = ReturnType<typeof loadWorkflowWithMcp> & { tenant?: string };

/** The new run's workflow and what surrounds it (its directory, MCP setup): needs no store. */
function prepareNew(what: RunTarget, config: BatonConfig, options: RunOptions): Loaded {
  const cwd = options.cwd ?? process.cwd();
  if (typeof what.workflow === 'string') return loadWorkflowWithMcp(resolve(cwd, what.workflow), config, cwd);
  if (!what.workflow) throw new BatonError(ErrorCodes.usage, 'Give a workflow to run, or a run id to resume.');
  const dir = resolve(cwd, options.workflowDir ?? '.');
  return workflowWithMcp(what.workflow, workflowSource(what.workflow), { dir, cwd }, config);
}

/** The stored run to resume, with the workflow it was started with. */
async function prepareResume(runId: string, config: BatonConfig, store: Store, options: RunOptions): Promise<Loaded> {
  await checkResumedTenant(store, runId, options.tenant);
  const cwd = options.cwd ?? process.cwd();
  const resumable = await loadRunToResume(store, runId, config, cwd, options.redoMerge !== undefined);
  const warning = resumeElsewhereWarning(resumable.run);
  if (warning) options.onNotice?.(warning);
  return { ...resumable, tenant: resumable.run.tenant };
}

/** The run to resume by its full id: `resume` takes a unique start of one too, as the CLI does. */
async function withFullRunId(what: RunTarget, store: Store, tenant: string | undefined): Promise<RunTarget> {
  if (what.resume === undefined) return what;
  return { ...what, resume: await new TenantScope(store, tenant).resolveRunId(what.resume) };
}

/** A run resumed for a tenant must be that tenant's: another tenant's run reads as no run, as for every read. */
async function checkResumedTenant(store: Store, runId: string, tenant: string | undefined): Promise<void> {
  if (tenant === undefined) return;
  const run = await store.getRun(runId);
  if (run && run.tenant !== tenant)
    throw new BatonError(
      ErrorCodes.runNotFound,
      `No run ${runId} for tenant ${tenant}. List them with: baton runs --tenant ${tenant}`,
    );
}

/**
 * A new run's workflow is loaded and checked before the store is opened, and a resumed run's store
 * must exist: bad input (exit 2) leaves data_dir as it was, with no store, backups or logs made in it.
 */
async function execute(what: RunTarget, options: RunOptions, events: RunEvents): Promise<RunResult> {
  if (options.tenant !== undefined) checkTenantName(options.tenant, 'tenant');
  const { config, sources } = resolveRunConfig(options.config, options.dataDir, options.cwd ?? process.cwd());
  const notice = options.onNotice ?? (() => undefined);
  const newRun = what.resume === undefined ? prepareNew(what, config, options) : undefined;
  if (newRun) await checkBeforeAgents(newRun, config, { what, options, notice });
  const rawStore = options.store ?? (await openConfiguredStore(config, { create: newRun !== undefined }));
  try {
    const target = await withFullRunId(what, rawStore, options.tenant);
    const loaded = newRun ?? (await prepareResume(target.resume!, config, rawStore, options));
    if (!newRun) await checkBeforeAgents(loaded, config, { what, options, notice });
    return await executeLoaded({ what: target, options, events, config, sources, rawStore, loaded, notice });
  } catch (error) {
    // SQLite's "database disk image is malformed" says what to do: baton doctor, baton restore.
    throw storeDamagedError(error, config.data_dir) ?? error;
  } finally {
    if (!options.store) await rawStore.close();
  }
}

/** What a run's steps share once its config, store and workflow are known. */
interface RunSetup {
  what: RunTarget;
  options: RunOptions;
  events: RunEvents;
  config: BatonConfig;
  sources: ReturnType<typeof resolveRunConfig>['sources'];
  /** The store as opened, without redaction. */
  rawStore: Store;
  loaded: Loaded;
  notice: (message: string) => void;
}

/** What a run starts besides its agents; each is undefined until started. */
interface RunServices {
  mcp?: Awaited<ReturnType<typeof startMcp>>;
  metrics?: Awaited<ReturnType<typeof serveMetrics>>;
  tracing?: RunTracing;
  executor?: QueueExecutor;
  /** Aborted when the run ends: stops telling its events about new approval requests. */
  watching: AbortController;
}

/** What is checked before any agent starts: a problem is refused naming its field (exit 2), a doubt noted. */
async function checkBeforeAgents(
  loaded: Loaded,
  config: BatonConfig,
  { what, options, notice }: Pick<RunSetup, 'what' | 'options' | 'notice'>,
): Promise<void> {
  const notes = await checkRunnable(loaded, config, { newRun: what.resume === undefined });
  // The note is about agents' branches starting at HEAD: `baton merge` starts none.
  if (options.redoMerge === undefined) for (const note of notes) notice(`note: ${note}\n`);
}

async function executeLoaded(setup: RunSetup): Promise<RunResult> {
  const { what, options, events, config, loaded, notice } = setup;
  const tenant = loaded.tenant ?? options.tenant ?? 'default';
  const { agentEnv, gateway, redactor } = runSecrets(loaded, options);
  const store = redactingStore(setup.rawStore, redactor);
  const logger = createLogger({
    debug: config.enable_debug_logging,
    file: join(config.data_dir, 'logs', 'baton.log'),
    redactor,
  });
  const audit = auditTrail(store, config);
  const runtime = new ClaudeRuntime({
    claudePath: config.claude_path,
    poolSize: sessionPoolSize(config),
    streamIdleTimeoutMs: config.stream_idle_timeout_ms,
  });
  const stopBackups = startBackups(config, notice);
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const runId = what.resume ?? randomUUID();
  // Whatever was started is stopped again, however far start-up got.
  const services: RunServices = { watching: new AbortController() };
  try {
    const onQuota = options.onQuota ?? 'fail';
    const quota = await tenantQuota(setup.rawStore, config, tenant, onQuota, signal, notice, what.resume);
    await audit.prune();
    await pruneToolCalls(store, config.tool_call_retention_days);
    await audit.recordConfig(config, setup.sources);
    audit.watchRun(events);
    await startServices(services, setup, { agentEnv, gateway, logger, store, tenant });
    // Shared with the detach watcher: agents waiting for a slot that waiting agents hold wait for a person too.
    const scheduler = new AgentScheduler({
      limit: config.parallel_limit,
      tenantLimits: config.tenant_max_concurrent_agents,
    });
    const slotsTaken = (): boolean => !scheduler.hasFreeSlot(tenant);
    const detached = options.detachOnWait
      ? detachWhenOnlyPeopleLeft({ store, runId, stop, notice, slots: { slotsTaken, workers: services.executor } })
      : undefined;
    void watchNewRequests(store, runId, {
      signal: AbortSignal.any([services.watching.signal, signal]),
      onRequest: (request) => events.emit('approval.requested', { runId, request }),
    });
    const summary = await runWorkflow({
      workflow: loaded.workflow,
      workflowDir: loaded.dir,
      ...(loaded.path ? { workflowPath: loaded.path } : {}),
      config,
      store,
      runtime,
      mcp: services.mcp?.manager,
      tenant,
      runId,
      ...(what.resume ? { resume: true } : {}),
      ...(options.redoMerge ? { redoMerge: options.redoMerge } : {}),
      ...(options.priority !== undefined ? { priority: options.priority } : {}),
      ...(services.executor ? { executor: services.executor } : {}),
      scheduler,
      ...quota,
      env: agentEnv,
      signal,
      events,
    }).catch((error: unknown) => stopOnFullDisk(error, setup.rawStore, config, runId));
    return (await detached?.stop()) ? { ...summary, detached: true } : summary;
  } finally {
    services.watching.abort();
    stopBackups();
    if (services.executor) await untilWorkersStop(store, runId, notice);
    await services.executor?.close();
    await runtime.close();
    await webhookNotificationsSettled();
    await services.mcp?.close();
    await services.metrics?.close();
    const untraced = await services.tracing?.shutdown();
    if (untraced) notice(`warning: ${untraced}\n`);
    await audit.flush();
    logger.flush();
  }
}

/**
 * The longest a worker may take to stop a run's shared servers once the run has ended: its poll for
 * the end, then each server's stdin closed, SIGTERM and SIGKILL, 2 s of grace each.
 */
const WORKER_SERVERS_STOP_MS = 10_000;

/**
 * A run whose agents ran on workers ends once the workers have stopped its shared servers: nothing of
 * it outlives `baton run`. A run still `running` (interrupted, to be resumed) keeps them.
 */
async function untilWorkersStop(store: Store, runId: string, notice: (message: string) => void): Promise<void> {
  const run = await store.getRun(runId).catch(() => undefined);
  if (!run || run.status === 'running') return;
  const hosting = await untilWorkersStopServers(() => store.listMcpHealth(runId), {
    timeoutMs: WORKER_SERVERS_STOP_MS,
  }).catch(() => []);
  for (const worker of hosting)
    notice(
      `warning: worker ${worker} had not reported this run's shared MCP servers stopped ${WORKER_SERVERS_STOP_MS / 1000} s after the run ended\n`,
    );
}

/**
 * A full disk ends the run as `interrupted` (resumable) with BATON_DISK_FULL; a damaged store file is
 * BATON_STORE saying how to restore it; other errors pass through.
 */
async function stopOnFullDisk(error: unknown, store: Store, config: BatonConfig, runId: string): Promise<never> {
  const full = diskFullError(error, config.data_dir, runId);
  if (!full) throw storeDamagedError(error, config.data_dir) ?? error;
  await markInterrupted(store, config.data_dir, runId, { code: full.code, message: full.message });
  throw full;
}

/** The agents' environment, the gateway's token, and the redactor that hides every secret value of the run. */
function runSecrets(loaded: RunSetup['loaded'], options: RunOptions) {
  const agentEnv = { ...process.env, ...options.env };
  // Secrets (API keys, tokens, MCP env and headers) never reach the store or the logs.
  const gateway = { token: newGatewayToken() };
  const secrets = [...workflowSecrets(loaded, agentEnv), gateway.token];
  options.onSecrets?.(secrets);
  return { agentEnv, gateway, redactor: SecretRedactor.fromEnvironment(agentEnv, secrets) };
}

/** Scheduled backups of the data directory, and its disk reserve; returns the function that stops the backups. */
function startBackups(config: BatonConfig, notice: (message: string) => void): () => void {
  // Only the SQLite store is Baton's to back up; Redis has its own persistence.
  if (config.redis_url) return () => undefined;
  // Room for marking the run interrupted should the disk fill up (see stopOnFullDisk).
  reserveDiskSpace(config.data_dir);
  return scheduleBackups(config.data_dir, {
    keep: config.backup_keep,
    intervalMs: config.backup_interval_ms,
    onError: (error) => notice(`warning: scheduled backup failed: ${error.message}\n`),
  });
}

/** Starts MCP, metrics, logging, tracing and the queue executor, recording each in `services` as it starts. */
async function startServices(
  services: RunServices,
  { config, events, loaded, notice, options }: RunSetup,
  run: {
    agentEnv: NodeJS.ProcessEnv;
    gateway: { token: string };
    logger: ReturnType<typeof createLogger>;
    store: Store;
    tenant: string;
  },
): Promise<void> {
  // First: a refused OTLP protocol (BATON_CONFIG_INVALID) stops the run before any MCP server starts.
  services.tracing = await RunTracing.configured(config.otel_endpoint, process.env);
  services.tracing?.observeRun(events, run.tenant);
  services.mcp = await startRunMcp(loaded, config, run, events);
  services.metrics = await serveMetrics(config, events, services.mcp?.manager.events, notice);
  logEvents(run.logger, events, services.mcp?.manager.events);
  services.executor = await openQueueExecutor(config, run.store, notice, services.tracing, options.env);
}

/**
 * The run's MCP servers: shared through the gateway, their health kept for `baton status`. When agents
 * go to workers (other hosts, where this loopback URL does not reach), each worker shares them instead.
 */
async function startRunMcp(
  loaded: ReturnType<typeof loadWorkflowWithMcp>,
  config: BatonConfig,
  { agentEnv, gateway, store }: { agentEnv: NodeJS.ProcessEnv; gateway: { token: string }; store: Store },
  events: RunEvents,
): Promise<Awaited<ReturnType<typeof startMcp>> | undefined> {
  if (loaded.catalog.size === 0) return undefined;
  // Servers see the agents' environment (`${VAR}` too), shared or not: claude gives its own servers that.
  const mcp = await startMcp({ ...loaded.mcpOptions, env: agentEnv, ...(config.redis_url ? {} : { gateway }) });
  events.on('run.started', (e) => {
    // A resumed run's orchestrator counts from zero: under a source of its own, it adds to what the one
    // before it saw instead of overwriting it.
    const source = e.resumed ? `resumed orchestrator ${hostname()}:${process.pid}` : 'orchestrator';
    mcp.manager.reportHealthTo((health) => store.saveMcpHealth(e.runId, source, health));
  });
  return mcp;
}

/**
 * With Redis, agents go to `baton worker`s through the queue instead of running here. Loaded only
 * then: BullMQ is not needed on one machine.
 */
async function openQueueExecutor(
  config: BatonConfig,
  store: Store,
  notice: (message: string) => void,
  tracing?: RunTracing,
  env?: Record<string, string>,
): Promise<QueueExecutor | undefined> {
  if (!config.redis_url) return undefined;
  const { jobKey, QueueExecutor } = await import('../queue/index.js');
  const executor = await QueueExecutor.open({
    redisUrl: config.redis_url,
    store,
    jobKey: jobKey(config.job_secret, config.data_dir),
    ...(env ? { env } : {}),
    // Workers' spans join the run's trace.
    ...(tracing
      ? {
          traceparent: (job) => tracing.traceparentOf(job.runId, job.agentId),
          keptTraceparent: (job, traceparent, queuedAt) => tracing.adoptJobSpan(job, traceparent, queuedAt),
        }
      : {}),
  });
  notice('Agents go to baton workers through the Redis queue (redis_url).\n');
  return executor;
}

/**
 * `detachOnWait`: stops the run once all that is left waits for a person. Its agents are stopped
 * like a cancel does; the requests stay open, and a resume picks up their answers.
 */
function detachWhenOnlyPeopleLeft(run: {
  store: Store;
  runId: string;
  stop: AbortController;
  notice: (m: string) => void;
  slots: SlotsWaitedFor;
}) {
  const { store, runId, stop, notice, slots } = run;
  const watching = new AbortController();
  const signal = AbortSignal.any([watching.signal, stop.signal]);
  const found = untilOnlyPeopleLeft(store, runId, { ...slots, signal }).then((only) => {
    if (!only) return false;
    notice(
      `Everything left waits for a person. Answer with baton approvals / approve / deny, then: baton run --resume ${runId}\n`,
    );
    stop.abort(new BatonError(ErrorCodes.waitingForApproval, 'detached while waiting for approval'));
    return true;
  });
  return {
    /** Stops watching; true when the run was detached. */
    stop: async (): Promise<boolean> => {
      watching.abort();
      return found;
    },
  };
}
