import { hostname } from 'node:os';
import {
  agentEnvironment,
  continuationPrompt,
  runAgent,
  sessionTranscriptExists,
  stopLeftoverAgent,
  type AgentResult,
  type AgentRuntime,
  type AgentSpec,
  type AttemptInfo,
  type AttemptOutcome,
  type RetryOptions,
} from '../agents/index.js';
import { ApprovalDesk } from '../approvals/index.js';
import { ErrorCodes, systemClock, type Clock } from '../core/index.js';
import { addUsage, emptyUsage, type Store } from '../store/index.js';

/**
 * One agent to run, as plain data: what the orchestrator hands to whoever executes it — itself, or
 * a `baton worker` on another machine (then it travels as a BullMQ job).
 */
export interface AgentJob {
  runId: string;
  agentId: string;
  tenant: string;
  priority: number;
  /** Planning generation and swarm index: with run and agent id, what makes the job unique. */
  generation?: number;
  index?: number;
  /** The spec without its environment: the executor adds its own (API key, HOME) to `env`. */
  spec: Omit<AgentSpec, 'env'>;
  /** The workflow's per-agent environment additions. */
  env: Record<string, string>;
  retry: RetryOptions;
  /** For all attempts and backoff. */
  timeoutMs: number;
}

/** What the orchestrator hears while an agent runs in this process (a remote worker tells nothing until the end). */
export interface AgentJobHooks {
  attemptStarted?(info: AttemptInfo, attempt: number): void;
  attemptFinished?(info: AttemptInfo, attempt: number, outcome: AttemptOutcome): void;
}

/** Runs agent jobs: in this process by default, or through a queue on workers. */
export interface AgentExecutor {
  /** True when hooks report every attempt as it ends (the orchestrator counts spend from them). */
  readonly local: boolean;
  execute(job: AgentJob, signal: AbortSignal, hooks?: AgentJobHooks): Promise<AgentResult>;
  close(): Promise<void>;
}

/**
 * Runs a job to its end and records every attempt in the store. Attempts an earlier executor left
 * unfinished (an orchestrator or worker that died) are closed as lost, what they left running on
 * this host is stopped, and the agent continues its own Claude session when it has a transcript.
 * Totals include those earlier attempts, so a re-run job reports what the agent cost in all.
 */
export async function executeAgentJob(
  job: AgentJob,
  deps: {
    store: Store;
    runtime: AgentRuntime;
    env: NodeJS.ProcessEnv;
    signal: AbortSignal;
    hooks?: AgentJobHooks;
    clock?: Clock;
  },
): Promise<AgentResult> {
  const { store } = deps;
  const { runId } = job;
  const clock = deps.clock ?? systemClock;
  const host = hostname();
  const env = agentEnvironment(deps.env, job.env);
  const earlier = await store.listAttempts(runId, job.agentId);
  for (const attempt of earlier.filter((a) => a.status === 'running')) {
    if (attempt.pid !== undefined && attempt.host === host) stopLeftoverAgent(attempt.pid, job.spec.sessionId);
    await store.saveAttempt({
      ...attempt,
      status: 'failed',
      finishedAt: clock.now(),
      error: { code: ErrorCodes.orchestratorLost, message: 'the process running this attempt stopped before it ended' },
    });
  }
  const resume = earlier.length > 0 && (await sessionTranscriptExists(job.spec.sessionId, job.spec.cwd, env));
  const spec: AgentSpec = {
    ...job.spec,
    env,
    ...(resume
      ? {
          resume: true,
          prompt: continuationPrompt({ code: ErrorCodes.orchestratorLost, message: 'the process running it stopped' }),
        }
      : {}),
  };
  const offset = earlier.length;
  const attemptRecord = (info: AttemptInfo) => ({
    runId,
    agentId: job.agentId,
    attempt: offset + info.attempt,
    resumed: info.resumed,
    startedAt: info.startedAt,
  });
  const result = await runAgent(spec, {
    runtime: deps.runtime,
    retry: job.retry,
    timeoutMs: job.timeoutMs,
    signal: deps.signal,
    toolGate: ApprovalDesk.forJob(store, job, clock),
    hooks: {
      attemptStarted: async (info) => {
        await store.saveAttempt({
          ...attemptRecord(info),
          status: 'running',
          usage: emptyUsage(),
          costUsd: 0,
          durationMs: 0,
        });
        deps.hooks?.attemptStarted?.(info, offset + info.attempt);
      },
      processStarted: async (info, pid) => {
        await store.saveAttempt({
          ...attemptRecord(info),
          status: 'running',
          usage: emptyUsage(),
          costUsd: 0,
          durationMs: 0,
          pid,
          host,
        });
      },
      attemptFinished: async (info, outcome) => {
        await store.saveAttempt({
          ...attemptRecord(info),
          status: outcome.status,
          finishedAt: clock.now(),
          usage: outcome.usage,
          costUsd: outcome.costUsd,
          durationMs: outcome.durationMs,
          ...(outcome.error ? { error: { code: outcome.error.code, message: outcome.error.message } } : {}),
        });
        deps.hooks?.attemptFinished?.(info, offset + info.attempt, outcome);
      },
    },
  });
  if (offset === 0) return result;
  return {
    ...result,
    usage: earlier.reduce((sum, a) => addUsage(sum, a.usage), result.usage),
    costUsd: earlier.reduce((sum, a) => sum + a.costUsd, result.costUsd),
    attempts: offset + result.attempts,
  };
}

/** Runs agents in this process, with the runtime it was given. */
export class LocalExecutor implements AgentExecutor {
  readonly local = true;

  constructor(private readonly deps: { store: Store; runtime: AgentRuntime; env: NodeJS.ProcessEnv; clock?: Clock }) {}

  execute(job: AgentJob, signal: AbortSignal, hooks?: AgentJobHooks): Promise<AgentResult> {
    return executeAgentJob(job, { ...this.deps, signal, ...(hooks ? { hooks } : {}) });
  }

  async close(): Promise<void> {}
}
