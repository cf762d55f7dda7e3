import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import type { AgentResult, AgentRuntime } from '../agents/index.js';
import type { BatonConfig } from '../config/index.js';
import { BatonError, ErrorCodes, systemClock, type Clock } from '../core/index.js';
import type { RunRecord, SessionRecord, Store } from '../store/index.js';
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
  const { run, resolved, entry } = await agentOfSession(store, session);
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
  if (mode === 'fork') await createSession(store, owner, clock.now());
  await activateSession(store, owner, clock.now());
  const timeout = agentTimeout(config, resolved, entry);
  const job: AgentJob = {
    runId: session.runId,
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
      maxBudgetUsd: resolved.maxBudgetUsd,
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
  return { sessionId, result };
}

export async function storedSession(
  store: Store,
  id: string,
  scope: Pick<Store, 'getSession'> = store, // a TenantScope: another tenant's session reads as no session
): Promise<SessionRecord> {
  const session = await scope.getSession(id);
  if (!session)
    throw new BatonError(ErrorCodes.sessionNotFound, `No session ${id}. List sessions with: baton sessions list`);
  return session;
}

/** The run and the workflow entry (as written and resolved) of a session's agent, from the workflow the run stored. */
async function agentOfSession(
  store: Store,
  session: SessionRecord,
): Promise<{ run: RunRecord; entry: AgentEntry; resolved: ResolvedAgent }> {
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
  return { run, entry, resolved: resolveAgent(workflow.data, phase, entry, dirname(run.workflowPath)) };
}
