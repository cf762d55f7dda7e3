import type { AgentResult } from '../agents/index.js';
import { preloadTokenizer } from '../context/index.js';
import { ErrorCodes, toErrorInfo } from '../core/index.js';
import type { AgentRecord, AgentWorkspace } from '../store/index.js';
import { resolveAgent, type PhaseSpec } from '../workflow/index.js';
import { prepareAgent, type PreparedAgent } from './prepare-agent.js';
import { isFinished, type InstanceContext, type RunContext } from './run-context.js';
import type { AgentInstance } from './swarm.js';
import { finishWorktree } from './worktree.js';

/** Runs one agent of the run to its final record. */
export type RunAgent = (instance: AgentInstance, where: InstanceContext) => Promise<AgentRecord>;

/**
 * The one path of an agent in a run: its record (a finished one of a resumed run is reused), a slot
 * under parallel_limit, preparation (prepare-agent.ts), the executor's `runJob`, its worktree's
 * commit, and its final record (agent-records.ts). Local or queued, every agent takes this path.
 */
export function createAgentRunner(ctx: RunContext): RunAgent {
  const pool = sessionPoolFiller(ctx);

  return async (instance, where) => {
    const record = await ctx.records.pending(instance, where);
    if (isFinished(record)) return ctx.records.reused(record);
    if (ctx.stop.stopped) return ctx.records.finish({ ...record, status: 'cancelled', error: ctx.stop.error() });
    ctx.events.emit('agent.queued', { runId: ctx.runId, phaseId: where.phase.id, agentId: record.id });
    const resolved = resolveAgent(ctx.workflow, where.phase, instance.entry, ctx.workflowDir);
    const prepare = (): Promise<PreparedAgent | AgentRecord> =>
      prepareOrFail(ctx, { entry: instance.entry, resolved, record }, where);
    const run = ctx.run();
    const waits = !ctx.scheduler.hasFreeSlot(run.tenant) && !ctx.budget.limited;
    const slot = ctx.scheduler.acquire({ tenant: run.tenant, priority: run.priority ?? 0, signal: ctx.stop.signal });
    // An agent that has to wait for a slot gets its process started meanwhile: now if the pool has room,
    // else as soon as a spare is taken.
    const waiting = waits ? pool.wait(prepare) : undefined;
    let release: () => void;
    try {
      release = await slot;
    } catch (error) {
      const warmed = waiting?.cancel();
      slot.then(
        (r) => r(),
        () => undefined,
      );
      if (!ctx.stop.stopped) throw error;
      const prepared = await warmed;
      return prepared && 'job' in prepared
        ? cancelPrepared(ctx, prepared)
        : ctx.records.finish({ ...record, status: 'cancelled', error: ctx.stop.error() });
    }
    try {
      const prepared = (await waiting?.take()) ?? (await prepare());
      return 'job' in prepared ? await runPreparedAgent(ctx, prepared, where.phase) : prepared;
    } finally {
      release();
      pool.refill(0);
    }
  };
}

/**
 * The session pool, kept full: agents waiting for a slot are prepared and prewarmed while the
 * executor has room, in the order they queued; each time a waiting agent takes its slot (and its
 * spare), the next waiting agent is prewarmed in its place. Room is counted as taken while an agent
 * is prepared, so a long queue does not prepare every agent.
 */
function sessionPoolFiller(ctx: RunContext) {
  let warming = 0;
  /** Agents waiting for a slot whose process is not started, in the order they queued. */
  const cold: Array<() => void> = [];
  const leave = (warm: () => void) => {
    const at = cold.indexOf(warm);
    if (at >= 0) cold.splice(at, 1);
  };
  const refill = (freed: number) => {
    let room = ctx.executor.warmCapacity - warming + freed;
    for (const warm of [...cold]) {
      if (room-- <= 0) break;
      warm();
    }
  };
  return {
    refill,
    wait(prepare: () => Promise<PreparedAgent | AgentRecord>) {
      let warmed: Promise<PreparedAgent | AgentRecord> | undefined;
      let taken = false;
      // Offers the prepared job to the pool; a full pool (its spare not yet taken) is asked again at the
      // next refill, in the agent's place in the queue.
      const offer = (prepared: PreparedAgent | AgentRecord) => {
        if (taken || !('job' in prepared) || ctx.stop.stopped) return;
        if (ctx.executor.prewarm(prepared.job)) leave(warm);
      };
      const warm = (): void => {
        if (!warmed) {
          warming++;
          warmed = prepare().finally(() => warming--);
        }
        void warmed.then(offer);
      };
      cold.push(warm);
      if (ctx.executor.warmCapacity > warming) warm();
      return {
        /** The agent has its slot: its preparation, if it was prewarmed; its spare makes room for the next. */
        take: async () => {
          taken = true;
          leave(warm);
          if (!warmed) return undefined;
          const prepared = await warmed;
          refill(1);
          return prepared;
        },
        /** The agent will not run: what was prepared for it, if anything, for the caller to put away. */
        cancel: (): Promise<PreparedAgent | AgentRecord | undefined> => {
          taken = true;
          leave(warm);
          return warmed?.catch(() => undefined) ?? Promise.resolve(undefined);
        },
      };
    },
  };
}

/** Prepares the agent; one that cannot start (MCP servers down, no worktree) is finished as failed. */
async function prepareOrFail(
  ctx: RunContext,
  agent: Parameters<typeof prepareAgent>[1],
  where: InstanceContext,
): Promise<PreparedAgent | AgentRecord> {
  const startedAt = ctx.clock.now();
  try {
    return await prepareAgent(ctx, agent, where);
  } catch (error) {
    // Stopped while it was being prepared (waiting for its MCP servers, say): cancelled, not failed.
    const stopped = ctx.stop.stopped;
    return ctx.records.finish({
      ...agent.record,
      status: stopped ? 'cancelled' : 'failed',
      model: agent.resolved.model,
      startedAt,
      error: stopped ? ctx.stop.error() : toErrorInfo(error),
    });
  }
}

/** Hands a prepared agent to the executor and records how it ended; attempts and spend come back as hooks. */
async function runPreparedAgent(ctx: RunContext, prepared: PreparedAgent, phase: PhaseSpec): Promise<AgentRecord> {
  const { started } = prepared;
  const { runId, events } = ctx;
  if (ctx.stop.stopped) return cancelPrepared(ctx, prepared);
  await ctx.records.started(started, prepared.inherited);
  // Neither a wait for a slot (a prewarmed agent is prepared before it) nor the time between a crash and
  // `--resume` counts against the agent's timeout; its own preparation does.
  const job = { ...prepared.job, timeoutMs: prepared.job.timeoutMs - prepared.prepareMs };
  // Every event of the agent's attempts names its phase, as agent.started and agent.finished do.
  const ids = { runId, phaseId: started.phaseId, agentId: started.id };
  const result = await ctx.executor.runJob(job, ctx.stop.signal, {
    attemptStarted: (info) => events.emit('agent.attempt', { ...ids, attempt: info.attempt, resumed: info.resumed }),
    // This process is idle while the agent works: the tokenizer loads then, not in front of the first
    // spawn (≈ 0.2 s there) nor once the first result needs it.
    processStarted: () => preloadTokenizer(),
    attemptFinished: (info, outcome) =>
      events.emit('agent.attempt.finished', {
        ...ids,
        attempt: info.attempt,
        status: outcome.status,
        ...(outcome.startupMs !== undefined ? { startupMs: outcome.startupMs } : {}),
        ...(outcome.error ? { errorCode: outcome.error.code } : {}),
      }),
    spent: (costUsd, tokens) => ctx.budget.spend(costUsd, tokens),
    toolCall: (info, call) => events.emit('agent.tool', { ...ids, attempt: info.attempt, call }),
    modelTurn: (info, turn) => events.emit('agent.turn', { ...ids, attempt: info.attempt, turn }),
    attemptLost: (lost) => events.emit('agent.attempt.lost', lost),
  });
  reportAgentBudgetStop(ctx, started.id, prepared.job.spec.maxBudgetUsd, result);
  const workspace =
    started.workspace && phase.workspace === 'worktree' ? await committedWorkspace(ctx, started) : started.workspace;
  // The error of an earlier attempt (a stop, a detach) is not this run's: only the result's own stays.
  const { error: _earlier, ...record } = started;
  // Stopped with the run: its error says why the run stopped, as known now (a `baton cancel` behind a SIGTERM).
  const stopError = result.status === 'cancelled' && ctx.stop.stopped ? { error: ctx.stop.error() } : {};
  return ctx.records.finish({ ...record, ...result, ...stopError, ...(workspace ? { workspace } : {}) });
}

/** An agent stopped by its own USD cap is a budget stop too (audited as the run's are); the run goes on. */
function reportAgentBudgetStop(
  ctx: RunContext,
  agentId: string,
  capUsd: number | undefined,
  result: AgentResult,
): void {
  if (result.error?.code !== ErrorCodes.agentBudgetExceeded || capUsd === undefined) return;
  ctx.events.emit('budget.exceeded', {
    runId: ctx.runId,
    limit: 'agent',
    agentId,
    spentUsd: result.costUsd,
    spentTokens: result.usage.inputTokens + result.usage.outputTokens,
    budgetUsd: capUsd,
  });
}

/**
 * A prepared agent that will not run (the run stopped while it waited): cancelled, its worktree, made
 * as it was prepared, put away as a stopped agent's is (removed, its branch kept for a resume).
 */
async function cancelPrepared(ctx: RunContext, { started }: PreparedAgent): Promise<AgentRecord> {
  const workspace = started.workspace ? await committedWorkspace(ctx, started) : undefined;
  const { error: _earlier, ...record } = started;
  return ctx.records.finish({
    ...record,
    status: 'cancelled',
    error: ctx.stop.error(),
    ...(workspace ? { workspace } : {}),
  });
}

/** Commits a worktree agent's changes; a failure to do so is reported, and the agent's result stands. */
async function committedWorkspace(ctx: RunContext, started: AgentRecord): Promise<AgentWorkspace> {
  const workspace = started.workspace!;
  return finishWorktree(workspace, started.id).catch((error: unknown) => {
    ctx.events.emit('agent.workspace.failed', { runId: ctx.runId, agentId: started.id, error: toErrorInfo(error) });
    return workspace;
  });
}
