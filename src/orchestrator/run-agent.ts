import { toErrorInfo } from '../core/index.js';
import type { AgentRecord, AgentWorkspace } from '../store/index.js';
import { resolveAgent, type PhaseSpec } from '../workflow/index.js';
import { prepareAgent, type PreparedAgent } from './prepare-agent.js';
import { finishedStatuses, type InstanceContext, type RunContext } from './run-context.js';
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
  /** Waiting agents being prepared for a prewarm: executor room they will take once prewarmed. */
  let warming = 0;

  return async (instance, where) => {
    const record = await ctx.records.pending(instance, where);
    if (finishedStatuses.has(record.status)) return ctx.records.reused(record);
    if (ctx.stop.stopped) return ctx.records.finish({ ...record, status: 'cancelled', error: ctx.stop.error() });
    ctx.events.emit('agent.queued', { runId: ctx.runId, phaseId: where.phase.id, agentId: record.id });
    const resolved = resolveAgent(ctx.workflow, where.phase, instance.entry, ctx.workflowDir);
    const prepare = (): Promise<PreparedAgent | AgentRecord> =>
      prepareOrFail(ctx, { entry: instance.entry, resolved, record }, where);
    const run = ctx.run();
    // An agent that has to wait for a slot gets its process started meanwhile, while the executor has room.
    // Room is counted as taken while the agent is prepared, so a long queue does not prepare every agent.
    const warmUp = ctx.executor.warmCapacity > warming && !ctx.scheduler.hasFreeSlot(run.tenant) && !ctx.budget.limited;
    const slot = ctx.scheduler.acquire({ tenant: run.tenant, priority: run.priority ?? 0, signal: ctx.stop.signal });
    let prepared: PreparedAgent | AgentRecord | undefined;
    let release: () => void;
    try {
      if (warmUp) {
        warming++;
        try {
          prepared = await prepare();
          if ('job' in prepared && !ctx.stop.stopped) ctx.executor.prewarm(prepared.job);
        } finally {
          warming--;
        }
      }
      release = await slot;
    } catch (error) {
      slot.then(
        (r) => r(),
        () => undefined,
      );
      if (ctx.stop.stopped) return ctx.records.finish({ ...record, status: 'cancelled', error: ctx.stop.error() });
      throw error;
    }
    try {
      prepared ??= await prepare();
      return 'job' in prepared ? await runPreparedAgent(ctx, prepared, where.phase) : prepared;
    } finally {
      release();
    }
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
    return ctx.records.finish({
      ...agent.record,
      status: 'failed',
      model: agent.resolved.model,
      startedAt,
      error: toErrorInfo(error),
    });
  }
}

/** Hands a prepared agent to the executor and records how it ended; attempts and spend come back as hooks. */
async function runPreparedAgent(ctx: RunContext, prepared: PreparedAgent, phase: PhaseSpec): Promise<AgentRecord> {
  const { started } = prepared;
  const { runId, events } = ctx;
  if (ctx.stop.stopped) return ctx.records.finish({ ...started, status: 'cancelled', error: ctx.stop.error() });
  await ctx.records.started(started, prepared.inherited);
  // Neither a wait for a slot (a prewarmed agent is prepared before it) nor the time between a crash and
  // `--resume` counts against the agent's timeout; its own preparation does.
  const job = { ...prepared.job, timeoutMs: prepared.job.timeoutMs - prepared.prepareMs };
  const result = await ctx.executor.runJob(job, ctx.stop.signal, {
    attemptStarted: (info) =>
      events.emit('agent.attempt', { runId, agentId: started.id, attempt: info.attempt, resumed: info.resumed }),
    attemptFinished: (info, outcome) =>
      events.emit('agent.attempt.finished', {
        runId,
        agentId: started.id,
        attempt: info.attempt,
        status: outcome.status,
        ...(outcome.startupMs !== undefined ? { startupMs: outcome.startupMs } : {}),
        ...(outcome.error ? { errorCode: outcome.error.code } : {}),
      }),
    spent: (costUsd, tokens) => ctx.budget.spend(costUsd, tokens),
    toolCall: (info, call) => events.emit('agent.tool', { runId, agentId: started.id, attempt: info.attempt, call }),
  });
  const workspace =
    started.workspace && phase.workspace === 'worktree' ? await committedWorkspace(ctx, started) : started.workspace;
  return ctx.records.finish({ ...started, ...result, ...(workspace ? { workspace } : {}) });
}

/** Commits a worktree agent's changes; a failure to do so is reported, and the agent's result stands. */
async function committedWorkspace(ctx: RunContext, started: AgentRecord): Promise<AgentWorkspace> {
  const workspace = started.workspace!;
  return finishWorktree(workspace, started.id).catch((error: unknown) => {
    ctx.events.emit('agent.workspace.failed', { runId: ctx.runId, agentId: started.id, error: toErrorInfo(error) });
    return workspace;
  });
}
