import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import type { AgentResult, AgentRuntime } from '../agents/index.js';
import type { BatonConfig } from '../config/index.js';
import { addUsage, BatonError, ErrorCodes, formatUsd, systemClock, type Clock } from '../core/index.js';
import { DynamicContextAccumulator, extractContext } from '../context/index.js';
import type { AgentRecord, RunRecord, SessionRecord, Store } from '../store/index.js';
import { resolveAgent, workflowSchema, type AgentEntry, type ResolvedAgent } from '../workflow/index.js';
import { LocalExecutor, type AgentJob } from './execute.js';
import { agentTimeout, agentToolRules, retryOptions } from './prepare-agent.js';
import { activateSession, closeSession, createSession, type SessionOwner } from './session-status.js';
import { currentRunStatus } from './resume.js';

export interface ContinueSessionOptions {
  /** `resume` continues the session in place; `fork` starts a new session from its conversation. */
  mode: 'resume' | 'fork';
  sessionId: string;
  prompt: string;
  /** Where attempts and session changes are recorded (the CLI gives a redacting store). */
  store: Store;
  runtime: AgentRuntime;
  /** Base environment of the agent process; Baton's agent defaults are added by the executor. */
  env: NodeJS.ProcessEnv;
  config: BatonConfig;
  signal?: AbortSignal;
  clock?: Clock;
}

/**
 * `baton sessions resume|fork`: one more turn of a finished agent's session, on the same path as a
 * run's agents — a job through LocalExecutor (agent environment, attempts recorded, retries), with
 * the session's status moved by session-status.ts. Runs in the agent's original working directory.
 */
export async function continueSession(
  options: ContinueSessionOptions,
): Promise<{ sessionId: string; result: AgentResult }> {
  const { store, config, mode } = options;
  const clock = options.clock ?? systemClock;
  const session = await storedSession(store, options.sessionId);
  const { run, resolved, entry, phaseId } = await agentOfSession(store, session);
  // The session of an agent its run may still start or be running: continuing it would start that
  // agent beside itself, and the stale attempt the new one closes would be the live agent's (killed).
  if (session.status !== 'completed' && session.status !== 'failed' && currentRunStatus(run) === 'running')
    throw new BatonError(
      ErrorCodes.runNotResumable,
      `Session ${session.id} belongs to agent ${session.agentId} of run ${session.runId}, which is still running; ${mode} it once the run has ended.`,
    );
  const sessionId = mode === 'fork' ? randomUUID() : session.id;
  const owner: SessionOwner =
    mode === 'fork'
      ? {
          id: sessionId,
          runId: session.runId,
          agentId: session.agentId,
          phaseId: session.phaseId,
          parentId: session.id,
        }
      : session;
  const agent = await store.getAgent(session.runId, session.agentId);
  const budgetLeft = remainingBudget(resolved.maxBudgetUsd, agent?.costUsd ?? 0, session.agentId);
  if (mode === 'fork') await createSession(store, owner, clock.now());
  await activateSession(store, owner, clock.now());
  const timeout = agentTimeout(config, resolved, entry);
  const job: AgentJob = {
    runId: session.runId,
    phaseId,
    agentId: session.agentId,
    tenant: run.tenant,
    priority: run.priority ?? 0,
    spec: {
      agentId: session.agentId,
      sessionId,
      ...(mode === 'fork' ? { forkFrom: session.id } : { resume: true }),
      prompt: options.prompt,
      cwd: resolved.cwd,
      model: resolved.model,
      // The agent's own rules and limits: a follow-up may do and spend no more than the agent could.
      ...agentToolRules(config, resolved, []),
      ...(budgetLeft !== undefined ? { maxBudgetUsd: budgetLeft } : {}),
      maxTurns: resolved.maxTurns,
    },
    env: resolved.env,
    retry: retryOptions(config),
    timeoutMs: timeout.ms,
    timeoutSetting: timeout,
    followUp: true,
  };
  const executor = new LocalExecutor({ store, runtime: options.runtime, env: options.env, clock });
  const result = await executor.runJob(job, options.signal ?? new AbortController().signal);
  await closeSession(store, owner, result.status === 'succeeded', clock.now(), config.session_ttl_ms);
  const source = {
    runId: session.runId,
    sessionId,
    agentId: session.agentId,
    phaseId: session.phaseId ?? agent?.phaseId,
  };
  await recordFollowUp(store, source, agent, result, clock);
  return { sessionId, result };
}

/**
 * What is left of the agent's `maxBudgetUsd` after what it spent in its run and earlier follow-ups:
 * the budget covers the agent, all of its attempts. None left refuses the follow-up.
 */
function remainingBudget(maxBudgetUsd: number | undefined, spent: number, agentId: string): number | undefined {
  if (maxBudgetUsd === undefined) return undefined;
  const left = maxBudgetUsd - spent;
  if (left <= 0)
    throw new BatonError(
      ErrorCodes.agentBudgetExceeded,
      `Agent ${agentId} has spent ${formatUsd(spent)} of its maxBudgetUsd $${maxBudgetUsd}; nothing is left for a follow-up.`,
    );
  return left;
}

/**
 * A follow-up is the agent's own work: its spend is added to the agent's totals (so the run's, and
 * `baton usage`), and the facts it states join the run's context under the session that stated them.
 */
async function recordFollowUp(
  store: Store,
  source: { runId: string; sessionId: string; agentId: string; phaseId?: string | undefined },
  agent: AgentRecord | undefined,
  result: AgentResult,
  clock: Clock,
): Promise<void> {
  if (agent)
    await store.saveAgent({
      ...agent,
      usage: addUsage(agent.usage, result.usage),
      costUsd: agent.costUsd + result.costUsd,
      attempts: agent.attempts + result.attempts,
    });
  if (result.status !== 'succeeded' || !result.output) return;
  const facts = extractContext(result.output);
  if (facts.length === 0) return;
  const { runId, sessionId, agentId, phaseId } = source;
  // Only adds facts: the size limit, which summaries keep to, is for reading the context.
  const accumulator = new DynamicContextAccumulator({ store, runId, sizeLimitBytes: Number.MAX_SAFE_INTEGER });
  await accumulator.add(
    facts,
    { sessionId, agentId, ...(phaseId ? { phaseId } : {}) },
    `${sessionId}:followup-${clock.now()}:fact`,
    clock.now(),
  );
}

export async function storedSession(
  store: Store,
  id: string,
  // A TenantScope: another tenant's session reads as no session.
  scope: Pick<Store, 'getSession'> & { tenant?: string } = store,
): Promise<SessionRecord> {
  const session = await scope.getSession(id);
  const list = `baton sessions list${scope.tenant !== undefined ? ` --tenant ${scope.tenant}` : ''}`;
  if (!session) throw new BatonError(ErrorCodes.sessionNotFound, `No session ${id}. List sessions with: ${list}`);
  return session;
}

/** The run and the workflow entry (as written and resolved) of a session's agent, its phase, from the workflow the run stored. */
async function agentOfSession(
  store: Store,
  session: SessionRecord,
): Promise<{ run: RunRecord; entry: AgentEntry; phaseId: string; resolved: ResolvedAgent }> {
  const run = await store.getRun(session.runId);
  const workflow = workflowSchema.safeParse(run?.workflow);
  const phase = workflow.success
    ? workflow.data.phases.find((p) => p.agents.some((a) => a.id === session.agentId))
    : undefined;
  const entry = phase?.agents.find((a) => a.id === session.agentId);
  if (!run?.workflowPath || !workflow.success || !phase || !entry) {
    throw new BatonError(
      ErrorCodes.runNotFound,
      `Session ${session.id} does not belong to a stored workflow run, so its working directory is unknown.`,
    );
  }
  return {
    run,
    entry,
    phaseId: phase.id,
    resolved: resolveAgent(workflow.data, phase, entry, dirname(run.workflowPath)),
  };
}
