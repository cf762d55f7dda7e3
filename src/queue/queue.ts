import { DelayedError, Queue, QueueEvents, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AgentResult, AgentRuntime } from '../agents/index.js';
import { webhookNotificationsSettled, type JobOwner, type WorkerSlots } from '../approvals/index.js';
import { BatonError, emptyUsage, ErrorCodes, isBatonError, type ErrorCode, type Usage } from '../core/index.js';
import { runJobHere, type AgentExecutor, type AgentJob, type AgentJobHooks } from '../orchestrator/index.js';
import { launchSecretValues, type WorkerGateways } from '../mcp/index.js';
import { createRedisClient, type Store } from '../store/index.js';
import { openJob, sealJob, type SealedAgentJob } from './job-seal.js';
import { TenantSlots } from './tenant-slots.js';

export interface QueueExecutorOptions {
  redisUrl: string;
  store: Store;
  /** Seals each job's secrets (see `jobKey()`; workers need the same). */
  jobKey: Buffer;
  /** The trace context a job carries to its worker, when the run is traced. */
  traceparent?: (job: AgentJob) => string | undefined;
  /**
   * A resumed run's agent whose job (sent by the orchestrator that died, queued at `queuedAt`) is taken
   * up again: the worker's spans hang from the `traceparent` that job carries, not from this run's.
   */
  keptTraceparent?: (job: AgentJob, traceparent: string, queuedAt: number) => void;
  /**
   * Environment every job's agent gets on top of its worker's, under the workflow's own `env` (the
   * library's `run({ env })`, e.g. the scripted model of `baton run --model-script`); sealed like it.
   */
  env?: Record<string, string>;
}

/** The BullMQ queue agents wait in for a worker. */
export const AGENT_QUEUE = 'baton-agents';
/** How long finished jobs are kept, so a duplicated or re-sent job returns the stored result instead of running again. */
const KEEP_FINISHED_S = 7 * 24 * 3600;
/** How often a worker checks whether the run of its job was cancelled. */
const CANCEL_POLL_MS = 500;
/** How long a cancelled run waits for a worker to stop its agent: the cancel poll, the SIGTERM-to-SIGKILL second, slack. */
const WORKER_STOP_WAIT_MS = 5000;
/** How long a job of a tenant at its limit waits before a worker tries it again. */
const TENANT_RETRY_MS = 1000;
/** How long a stopping worker waits to hand its jobs back before it stops anyway (Redis unreachable). */
const STOP_GRACE_MS = 5000;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * The job id of an agent: `<runId>|<agentId>|g<generation>|i<index>`. The same agent of the same
 * run always gets the same id, so a job sent twice (a resumed orchestrator) is one job. BullMQ
 * reserves `:` in ids, hence `|`.
 */
export const agentJobId = (job: AgentJob): string =>
  `${job.runId}|${job.agentId}|g${job.generation ?? 0}|i${job.index ?? 0}`;

/** BullMQ runs lower numbers first (1 is the highest); Baton's priority is higher-first, -1000…1000. */
export const bullPriority = (priority: number): number => 1001 - Math.max(-1000, Math.min(1000, priority));

/** A Redis connection for BullMQ, which needs blocking commands never to give up. */
const connect = (redisUrl: string): Redis => createRedisClient({ url: redisUrl, blocking: true });

const resultWithoutRun = (status: 'failed' | 'cancelled', code: ErrorCode, message: string): AgentResult => ({
  status,
  usage: emptyUsage(),
  costUsd: 0,
  turns: 0,
  attempts: 0,
  durationMs: 0,
  error: { code, message },
});

/**
 * Sends agents to `baton worker`s through BullMQ and waits for their results. Cancelling a run
 * sets its cancel flag in the store, which workers watch; jobs still waiting are removed.
 */
export class QueueExecutor implements AgentExecutor, WorkerSlots {
  /** Agents start on workers, which keep their own pools: nothing to start ahead here. */
  readonly warmCapacity = 0;
  /** Until a worker takes the job: `baton status` and the dashboards tell waiting from working. */
  readonly startStatus = 'queued';

  private constructor(
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    /** BullMQ leaves connections it was given open; they are closed with the executor. */
    private readonly connections: Redis[],
    private readonly options: QueueExecutorOptions,
  ) {}

  static async open(options: QueueExecutorOptions): Promise<QueueExecutor> {
    const connections = [connect(options.redisUrl), connect(options.redisUrl)];
    const queue = new Queue(AGENT_QUEUE, { connection: connections[0]! });
    const events = new QueueEvents(AGENT_QUEUE, { connection: connections[1]! });
    // BullMQ re-emits its connections' errors; with no listener it prints each with its stack. The
    // connections themselves report an outage once (`connect`), and commands wait for Redis.
    queue.on('error', () => undefined);
    events.on('error', () => undefined);
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return new QueueExecutor(queue, events, connections, options);
  }

  prewarm(): boolean {
    return false;
  }

  /**
   * A worker tells nothing until the job ends, so the spend is reported once, with the result. A job run
   * again (a resumed run) reports the agent's earlier attempts in its totals too; the run's budget counted
   * those already, so only what was added since is reported.
   */
  async runJob(job: AgentJob, signal: AbortSignal, hooks?: AgentJobHooks): Promise<AgentResult> {
    const earlier = job.followUp ? [] : await this.options.store.listAttempts(job.runId, job.agentId);
    const result = await this.sendAndWait(job, signal);
    const tokens = (u: Usage): number => u.inputTokens + u.outputTokens;
    const earlierUsd = earlier.reduce((sum, a) => sum + a.costUsd, 0);
    const earlierTokens = earlier.reduce((sum, a) => sum + tokens(a.usage), 0);
    hooks?.spent?.(Math.max(0, result.costUsd - earlierUsd), Math.max(0, tokens(result.usage) - earlierTokens));
    return result;
  }

  private async sendAndWait(job: AgentJob, signal: AbortSignal): Promise<AgentResult> {
    const jobId = agentJobId(job);
    const kept = await this.forgetUnfinishedAttempt(jobId);
    // A resumed run's agent that a worker is still running was just stored queued again: it runs.
    if (kept?.state === 'active') await markRunning(this.options.store, job);
    if (kept?.traceparent) this.options.keptTraceparent?.(job, kept.traceparent, kept.queuedAt);
    const traceparent = this.options.traceparent?.(job);
    // A worker builds the agent's environment from its own: what the caller added must travel with the job.
    const env = { ...this.options.env, ...job.env };
    // So do what the run's shared servers inherit, which the worker's gateway starts (not the workflow's per-agent env).
    const sharedMcpEnv = job.sharedMcpServers && this.options.env;
    const sent = { ...job, env, ...(sharedMcpEnv ? { sharedMcpEnv } : {}), ...(traceparent ? { traceparent } : {}) };
    const data = sealJob(sent, this.options.jobKey);
    const queued = (await this.queue.add('agent', data, {
      jobId,
      priority: bullPriority(job.priority),
      removeOnComplete: { age: KEEP_FINISHED_S },
      removeOnFail: { age: KEEP_FINISHED_S },
    })) as Job<SealedAgentJob, AgentResult>;
    if (kept) await keepPriority(kept.job, kept.state, bullPriority(job.priority));
    const finished = queued.waitUntilFinished(this.events).then(
      (result) => result,
      (error: unknown) =>
        resultWithoutRun(
          'failed',
          ErrorCodes.agentFailed,
          `worker failed the job ${queued.id}: ${error instanceof Error ? error.message : String(error)}`,
        ),
    );
    let onAbort: (() => void) | undefined;
    const cancelled = new Promise<AgentResult>((resolve) => {
      onAbort = (): void => {
        void this.options.store.requestCancel(job.runId).catch(() => undefined);
        const reason: unknown = signal.reason;
        const stopped = resultWithoutRun(
          'cancelled',
          ErrorCodes.cancelled,
          reason instanceof Error ? reason.message : 'run cancelled',
        );
        // A waiting job is removed; one a worker runs (removing it fails) ends there first, as the worker
        // sees the cancel and stops the agent: the run's worktree commit and cleanup then find no claude
        // still at work. Bounded, so an unreachable Redis or worker cannot hold the run's stop.
        const ended = queued.remove().then(
          () => undefined,
          () => finished,
        );
        void Promise.race([ended, delay(WORKER_STOP_WAIT_MS)]).then(() => resolve(stopped));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([finished, cancelled]);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * The orchestrator only sends agents without a final result. A kept job of the same id that ended
   * cancelled (a cancelled run, now resumed) or failed in BullMQ (its workers kept dying) holds no
   * result to reuse: it is removed so the agent runs again instead of returning that end at once.
   * Returns the state of a kept job that stays (the one sending the job again reuses), with its trace context.
   */
  private async forgetUnfinishedAttempt(
    jobId: string,
  ): Promise<
    { job: Job<SealedAgentJob, AgentResult>; state: string; traceparent?: string; queuedAt: number } | undefined
  > {
    const kept: Job<SealedAgentJob, AgentResult> | undefined = await this.queue.getJob(jobId);
    if (!kept) return undefined;
    const state = await kept.getState();
    if (state === 'failed' || (state === 'completed' && kept.returnvalue?.status === 'cancelled')) {
      await kept.remove();
      return undefined;
    }
    const { traceparent } = kept.data;
    return { job: kept, state, queuedAt: kept.timestamp, ...(traceparent ? { traceparent } : {}) };
  }

  /**
   * Who holds the workers' slots (see `WorkerSlots`): the run's agents whose job still waits for a
   * worker (delayed ones wait for their tenant's slots), and the owner of every job a worker runs.
   */
  async holders(runId: string): Promise<{ queued: Set<string>; running: JobOwner[] }> {
    const [queued, running] = await Promise.all([
      this.queue.getJobs(['waiting', 'prioritized', 'delayed']),
      this.queue.getJobs(['active']),
    ]);
    const owner = (job: Job<SealedAgentJob>): JobOwner => ({ runId: job.data.runId, agentId: job.data.agentId });
    return {
      queued: new Set(queued.map(owner).flatMap((job) => (job.runId === runId ? [job.agentId] : []))),
      running: running.map(owner),
    };
  }

  /**
   * The run's agents a live worker runs now: their job is active and its lock is still renewed (a
   * worker that died stops renewing it; after `stallTimeoutMs` BullMQ hands the job to another).
   */
  async agentsHeld(runId: string): Promise<Set<string>> {
    const active = (await this.queue.getJobs(['active'])) as Array<Job<SealedAgentJob>>;
    // The queue's own connection: BullMQ keeps the lock beside the job, at `<job key>:lock`.
    const client = this.connections[0]!;
    const held = await Promise.all(
      active
        .filter((job) => job.data.runId === runId)
        .map(async (job) =>
          (await client.exists(`${this.queue.toKey(job.id ?? '')}:lock`)) ? [job.data.agentId] : [],
        ),
    );
    return new Set(held.flat());
  }

  async close(): Promise<void> {
    await Promise.all([this.events.close(), this.queue.close()]);
    for (const connection of this.connections) connection.disconnect();
  }
}

export interface AgentWorkerOptions {
  redisUrl: string;
  store: Store;
  /** Opens the jobs' sealed secrets: the orchestrators' key (see `jobKey()`). */
  jobKey: Buffer;
  runtime: AgentRuntime;
  /** The worker's environment: its API key, base URL and HOME reach its agents. */
  env: NodeJS.ProcessEnv;
  concurrency: number;
  /**
   * A job whose worker stops renewing its lock for this long (the worker died) goes back to the
   * queue for another worker.
   */
  stallTimeoutMs: number;
  /** Most agents of a tenant running at once across all workers (`tenant_max_concurrent_agents`). */
  tenantLimits?: Record<string, number>;
  onJob?(event: { jobId: string; agentId: string; runId: string; status: 'started' | AgentResult['status'] }): void;
  /**
   * This worker cannot open the jobs' secrets (its job key differs from the orchestrators'): the job
   * it took went back to the queue for a worker that can; this one should stop, since it can run none.
   */
  onWrongJobKey?(error: BatonError): void;
  /** Where the stdio servers of `scope: run` run for this worker's agents, shared per run; stopped with the worker. */
  mcpGateways?: WorkerGateways;
  /** Hooks that observe a job's attempts and tool calls here (tracing); `done` when the job ends. */
  observeJob?(job: AgentJob): { hooks: AgentJobHooks; done: () => void } | undefined;
}

/**
 * A job already queued under this id (an orchestrator that died sent it) is kept as it was by `add`:
 * one still waiting for a worker takes the priority it is sent with now (`--resume --priority`).
 */
async function keepPriority(stored: Job<SealedAgentJob, AgentResult>, state: string, priority: number): Promise<void> {
  if (stored.priority === priority) return;
  if (state === 'waiting' || state === 'prioritized' || state === 'delayed')
    await stored.changePriority({ priority }).catch(() => undefined); // taken by a worker meanwhile
}

/**
 * The job's secrets, opened with this worker's key. A key that differs (a misconfigured worker) must
 * not fail the agent for good: the job goes back to the queue for another worker, and this one is told.
 */
async function openOrHandBack(
  job: Job<SealedAgentJob, AgentResult>,
  token: string | undefined,
  options: AgentWorkerOptions,
): Promise<AgentJob> {
  try {
    return openJob(job.data, options.jobKey);
  } catch (error) {
    // Only a sealed job another key opens is handed back; one queued by an older Baton no worker can open.
    if (!isBatonError(error) || error.code !== ErrorCodes.jobKeyMismatch || typeof job.data.sealed !== 'string')
      throw error;
    await job.moveToDelayed(Date.now() + TENANT_RETRY_MS, token);
    options.onWrongJobKey?.(error);
    throw new DelayedError();
  }
}

/** A running worker; `stop()` hands the jobs it was running back to the queue for other workers. */
export interface AgentWorker {
  stop(): Promise<void>;
}

/** Why a processing stops when another has its job: BullMQ gave the job out again after its lock lapsed. */
const lockLost = (): BatonError =>
  new BatonError(
    ErrorCodes.cancelled,
    "this worker lost the job's lock (Redis was unreachable for longer than worker_stall_timeout_ms) and the job was given out again",
  );

/**
 * A job's kill switch: the worker shutting down, its run cancelled in the store, or its lock no longer
 * this processing's (both polled). The lock check stops a processing that BullMQ gave up on as stalled
 * (an outage longer than the lock): the job runs again elsewhere, and two `claude` processes must not
 * share its session.
 */
function jobCancellation(
  store: Store,
  runId: string,
  shutdown: AbortSignal | undefined,
  holdsLock: () => Promise<boolean>,
): { signal: AbortSignal; stop: (reason: BatonError) => void; stopWatching: () => void } {
  const controller = new AbortController();
  const abort = (reason: BatonError): void => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  shutdown?.addEventListener(
    'abort',
    () => abort(new BatonError(ErrorCodes.cancelled, 'the worker is shutting down')),
    {
      once: true,
    },
  );
  let asking = false; // during an outage the checks wait for Redis: one at a time, not one per tick
  const watch = setInterval(() => {
    if (asking) return;
    asking = true;
    Promise.all([
      store
        .isCancelRequested(runId)
        .then((requested) => requested && abort(new BatonError(ErrorCodes.cancelled, 'run cancelled'))),
      holdsLock().then((held) => held || abort(lockLost())),
    ])
      .catch(() => undefined) // the store is briefly unreachable (Redis restarting): ask again
      .finally(() => (asking = false));
  }, CANCEL_POLL_MS);
  return { signal: controller.signal, stop: abort, stopWatching: () => clearInterval(watch) };
}

/**
 * This worker's processings, by job id. BullMQ may give a job whose lock lapsed back to the worker still
 * running it. The newer processing stops the older one and waits for its end; then it hands the job back
 * to the queue, because BullMQ tracks a job's lock by id and the older processing's end untracked the
 * newer's (its lock would lapse again). The job's next take is tracked afresh.
 */
class Processings {
  private readonly running = new Map<string, { stop: (reason: BatonError) => void; ended: Promise<unknown> }>();

  /** Stops an older processing of the job here, if any, and says whether there was one. */
  async supersede(jobId: string): Promise<boolean> {
    const older = this.running.get(jobId);
    if (!older) return false;
    older.stop(lockLost());
    await older.ended.catch(() => undefined);
    return true;
  }

  /** Runs the processing as the job's current one here. */
  async track<T>(jobId: string, stop: (reason: BatonError) => void, processing: Promise<T>): Promise<T> {
    const entry = { stop, ended: processing };
    this.running.set(jobId, entry);
    try {
      return await processing;
    } finally {
      if (this.running.get(jobId) === entry) this.running.delete(jobId);
    }
  }
}

/** Runs a job with its shared MCP servers pointed at this worker's gateway for its run, held until the job ends. */
async function withSharedMcp(
  job: AgentJob,
  gateways: WorkerGateways | undefined,
  run: (job: AgentJob) => Promise<AgentResult>,
): Promise<AgentResult> {
  if (!gateways || !job.sharedMcpServers || !job.spec.mcpServers) return run(job);
  const started = { env: job.sharedMcpEnv, cwd: job.sharedMcpCwd, timeouts: job.sharedMcpTimeouts };
  const lease = await gateways.lease(job.runId, job.spec.mcpServers, job.sharedMcpServers, started);
  try {
    const servedMcpSecrets = Object.values(job.spec.mcpServers).flatMap(launchSecretValues);
    return await run({ ...job, servedMcpSecrets, spec: { ...job.spec, mcpServers: lease.servers } });
  } finally {
    await lease.release();
  }
}

/** The agent's record turns from queued to running as a worker takes its job (its final record comes from the orchestrator). */
async function markRunning(store: Store, job: AgentJob): Promise<void> {
  const record = await store.getAgent(job.runId, job.agentId);
  if (record?.status === 'queued') await store.saveAgent({ ...record, status: 'running' });
}

/** A job this worker took, with the lock token of this processing and its kill switch. */
interface HeldJob {
  job: Job<SealedAgentJob, AgentResult>;
  token: string | undefined;
  data: AgentJob;
  signal: AbortSignal;
}

/** Runs a job this worker holds the lock of, until it ends or is stopped. */
async function runHeld(
  { job, token, data, signal }: HeldJob,
  options: AgentWorkerOptions,
  stopping: () => boolean,
): Promise<AgentResult> {
  const { store } = options;
  if (await store.isCancelRequested(data.runId))
    return resultWithoutRun('cancelled', ErrorCodes.cancelled, 'run cancelled before the agent started');
  await markRunning(store, data);
  options.onJob?.({ jobId: job.id ?? '', agentId: data.agentId, runId: data.runId, status: 'started' });
  const observed = options.observeJob?.(data);
  const result = await withSharedMcp(data, options.mcpGateways, (shared) =>
    runJobHere(shared, {
      store,
      runtime: options.runtime,
      env: options.env,
      signal,
      ...(observed ? { hooks: observed.hooks } : {}),
    }),
  ).finally(() => observed?.done());
  if (stopping() && result.status === 'cancelled' && !(await store.isCancelRequested(data.runId))) {
    // Stopped by this worker's shutdown, not by the run: another worker continues it.
    await job.moveToWait(token);
    throw new WaitingError();
  }
  options.onJob?.({ jobId: job.id ?? '', agentId: data.agentId, runId: data.runId, status: result.status });
  return result;
}

/** Takes agents off the queue and runs them, `concurrency` at a time, recording every attempt in the store. */
export async function startAgentWorker(options: AgentWorkerOptions): Promise<AgentWorker> {
  const { store } = options;
  let stopping = false;
  const connection = connect(options.redisUrl);
  const slots = new TenantSlots(connection, options.stallTimeoutMs);
  const processings = new Processings();
  const worker = new Worker<SealedAgentJob, AgentResult>(
    AGENT_QUEUE,
    async (job, token, signal) => {
      const data = await openOrHandBack(job, token, options);
      const jobId = job.id ?? agentJobId(data);
      if (await processings.supersede(jobId)) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const tenantLimit = options.tenantLimits?.[data.tenant];
      if (tenantLimit !== undefined && !(await slots.acquire(data.tenant, jobId, tenantLimit))) {
        // The tenant has its fill of agents running on other workers: this job waits its turn.
        await job.moveToDelayed(Date.now() + TENANT_RETRY_MS, token);
        throw new DelayedError();
      }
      const renew =
        tenantLimit === undefined
          ? undefined
          : setInterval(
              () => void slots.acquire(data.tenant, jobId, tenantLimit).catch(() => undefined),
              options.stallTimeoutMs / 3,
            );
      const lockKey = `${job.queueQualifiedName}:${jobId}:lock`;
      const held = async (): Promise<boolean> => (await connection.get(lockKey)) === token;
      const cancellation = jobCancellation(store, data.runId, signal, held);
      try {
        const running = runHeld({ job, token, data, signal: cancellation.signal }, options, () => stopping);
        return await processings.track(jobId, cancellation.stop, running);
      } finally {
        cancellation.stopWatching();
        if (renew) {
          clearInterval(renew);
          await slots.release(data.tenant, jobId).catch(() => undefined);
        }
      }
    },
    {
      connection,
      concurrency: options.concurrency,
      lockDuration: options.stallTimeoutMs,
      stalledInterval: Math.max(1000, Math.floor(options.stallTimeoutMs / 2)),
      // A job may lose its worker a few times (crashes, deploys) before it is given up as failed.
      maxStalledCount: 3,
    },
  );
  worker.on('error', () => undefined); // as the executor's queue: the connection reports an outage once
  await worker.waitUntilReady();
  return {
    async stop() {
      stopping = true;
      worker.cancelAllJobs('the worker is shutting down');
      // With Redis gone, handing jobs back never completes: give it a grace period, then stop anyway
      // (the jobs' locks expire and other workers take them up).
      const closed = worker.close().then(() => true);
      if (!(await Promise.race([closed, delay(STOP_GRACE_MS).then(() => false)]))) void worker.close(true);
      connection.disconnect();
      // Every agent process this worker started has exited before stop() resolves, and so have the MCP servers.
      await options.runtime.close();
      await webhookNotificationsSettled();
      await options.mcpGateways?.close();
    },
  };
}
