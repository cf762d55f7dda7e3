import { hostname } from 'node:os';
import {
  agentEnvironment,
  continuationPrompt,
  runWithRetries,
  sessionTranscriptExists,
  type AgentResult,
  type AgentRuntime,
  type AgentSpec,
  type AttemptInfo,
  type AttemptOutcome,
  type RetryHooks,
  type RetryOptions,
  type TimeoutSetting,
} from '../agents/index.js';
import { ApprovalDesk } from '../approvals/index.js';
import {
  addUsage,
  emptyUsage,
  ErrorCodes,
  estimatedCostOf,
  systemClock,
  type Clock,
  type ModelTurn,
  type ToolCall,
} from '../core/index.js';
import type { SharedMcpTimeouts } from '../mcp/index.js';
import type { AttemptRecord, Store } from '../store/index.js';
import type { RunEventMap } from './events.js';
import { closeLostAttempts, spendAdded } from './lost-attempts.js';
import { agentRedactor, streamRecorder } from './tool-call-records.js';

/**
 * One agent to run, as plain data: what the orchestrator hands to whoever executes it — itself, or
 * a `baton worker` on another machine (then it travels as a BullMQ job).
 */
export interface AgentJob {
  runId: string;
  /** The agent's phase: named in the events its attempts, turns and tool calls become. */
  phaseId: string;
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
  /** The timeout as configured and where (named in its error): `timeoutMs` is what preparing the agent left of it. */
  timeoutSetting?: TimeoutSetting;
  /**
   * A further turn of a finished agent's session (`baton sessions resume|fork`): the spec says how
   * the session starts, and the agent's earlier attempts are numbered past, not continued or summed.
   */
  followUp?: boolean;
  /** MCP servers of the spec (stdio, `scope: run`) the executor serves through its own gateway, one process per run. */
  sharedMcpServers?: string[];
  /**
   * What the caller added to the environment (the library's `run({ env })`), for the shared servers an
   * executor elsewhere starts: they inherit it on top of that executor's own, as a local run's do.
   */
  sharedMcpEnv?: Record<string, string>;
  /** The run's directory: where those shared servers start, as they would in the orchestrator's gateway. */
  sharedMcpCwd?: string;
  /** The run's MCP timeouts, which the executor's gateway applies to those shared servers. */
  sharedMcpTimeouts?: SharedMcpTimeouts;
  /**
   * The env and header values of the servers an executor's gateway serves in the spec's place, set
   * where it swaps them: what the agent's tool calls are redacted of, though its spec no longer holds them.
   */
  servedMcpSecrets?: string[];
  /** W3C trace context of the agent's span, when the run is traced: a worker's spans join the run's trace. */
  traceparent?: string;
}

/** What an executor tells the orchestrator while a job runs; `attempt` numbers count the agent's earlier attempts. */
export interface AgentJobHooks {
  attemptStarted?(info: AttemptInfo): void;
  /** The attempt's agent process started in this process (executors that start it here). */
  processStarted?(info: AttemptInfo): void;
  attemptFinished?(info: AttemptInfo, outcome: AttemptOutcome): void;
  /** Money and tokens spent: after each attempt where the executor sees attempts, else once when the job ends. */
  spent?(costUsd: number, tokens: number): void;
  /** A tool call started or ended, previews redacted (executors that see the agent's stream). */
  toolCall?(info: AttemptInfo, call: ToolCall): void;
  /** A model turn started or ended (executors that see the agent's stream). */
  modelTurn?(info: AttemptInfo, turn: ModelTurn): void;
  /** An earlier attempt, left running by a process that died, was closed as lost (`BATON_ORCHESTRATOR_LOST`). */
  attemptLost?(lost: RunEventMap['agent.attempt.lost']): void;
}

/**
 * The one seam between the orchestrator and whoever runs its agents: this process (LocalExecutor)
 * or `baton worker`s through a queue (QueueExecutor). The orchestrator never asks which it has.
 */
export interface AgentExecutor {
  /**
   * What an agent's record shows once its job is handed over: `running` where the agent starts at once,
   * `queued` where it waits for a worker (which marks it `running` when it takes the job).
   */
  readonly startStatus: 'running' | 'queued';
  /** How many more agents `prewarm` would take now; 0 when this executor cannot start agents ahead. */
  readonly warmCapacity: number;
  /** Starts a job's agent process while it waits for its slot; false when it could not. */
  prewarm(job: AgentJob): boolean;
  /** Runs a job to its end (all attempts); never rejects for an agent's own failure. */
  runJob(job: AgentJob, signal: AbortSignal, hooks?: AgentJobHooks): Promise<AgentResult>;
  /**
   * The agents of a run whose job a live process still runs for this executor (a `baton worker`
   * renewing its job's lock): a resumed orchestrator leaves their running attempts open.
   */
  agentsHeld(runId: string): Promise<Set<string>>;
  close(): Promise<void>;
}

/** The spec an agent process starts with: the job's, in the environment built once here from the executor's own. */
export const jobSpec = (job: AgentJob, baseEnv: NodeJS.ProcessEnv): AgentSpec => ({
  ...job.spec,
  env: agentEnvironment(baseEnv, job.env),
});

interface RunJobDeps {
  store: Store;
  runtime: AgentRuntime;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  hooks?: AgentJobHooks;
  clock?: Clock;
}

/**
 * Runs a job to its end in this process and records every attempt in the store. Attempts an earlier
 * executor left unfinished (an orchestrator or worker that died) are closed as lost (their open tool
 * calls as failed), what they left
 * running on this host is stopped, and the agent continues its own Claude session when it has a
 * transcript. Totals include those earlier attempts, so a re-run job reports what the agent cost in all.
 */
export async function runJobHere(job: AgentJob, deps: RunJobDeps): Promise<AgentResult> {
  const clock = deps.clock ?? systemClock;
  const earlier = await earlierAttempts(job, deps, clock);
  const spec = await startingSpec(job, earlier, deps);
  const result = await runWithRetries(spec, {
    runtime: deps.runtime,
    retry: job.retry,
    timeoutMs: job.timeoutMs,
    ...(job.timeoutSetting ? { timeoutSetting: job.timeoutSetting } : {}),
    signal: deps.signal,
    // Summaries in requests and the audit trail are redacted of the agent's secrets here, where the
    // job runs: a worker writes to the store directly, with no run-wide redactor in between.
    toolGate: ApprovalDesk.forJob(deps.store, job, clock, agentRedactor(job, spec)),
    hooks: {
      ...attemptRecorder(job, earlier.length, deps, clock),
      ...streamRecorder(job, spec, earlier.length, deps),
    },
  });
  if (earlier.length === 0 || job.followUp) return result;
  return {
    ...result,
    usage: earlier.reduce((sum, a) => addUsage(sum, a.usage), result.usage),
    costUsd: earlier.reduce((sum, a) => sum + a.costUsd, result.costUsd),
    ...estimatedCostOf([...earlier, result]),
    attempts: earlier.length + result.attempts,
  };
}

/**
 * The agent's attempts before this job. A worker that took up the job of one that died finds its attempt
 * running (a resumed orchestrator closed its own): it is closed as lost, priced from the session's
 * transcript, and that estimate is reported as spent.
 */
async function earlierAttempts(job: AgentJob, deps: RunJobDeps, clock: Clock): Promise<AttemptRecord[]> {
  const stored = await deps.store.listAttempts(job.runId, job.agentId);
  const agent = { runId: job.runId, id: job.agentId, sessionId: job.spec.sessionId };
  const transcript = { cwd: job.spec.cwd, env: jobSpec(job, deps.env).env };
  const earlier = await closeLostAttempts(deps.store, { ...agent, transcript }, stored, clock, (lost) =>
    deps.hooks?.attemptLost?.(lost),
  );
  const added = spendAdded(stored, earlier);
  if (added.usd > 0) deps.hooks?.spent?.(added.usd, added.tokens);
  return earlier;
}

/** What a resumed agent that asked a person is told: its stopped call's answer waits in the store. */
const ASKED_BEFORE =
  "A tool call you made waited for a person's approval when you were stopped; make that same call again to get their answer.";

/**
 * A job run again after earlier attempts continues the agent's session when its transcript exists,
 * told why it stopped (the last attempt's error: a detach, a cancel; one left running died with its
 * process) and, when it had asked a person, to make that call again: the answer is found by the call.
 */
async function startingSpec(job: AgentJob, earlier: AttemptRecord[], deps: RunJobDeps): Promise<AgentSpec> {
  const spec = jobSpec(job, deps.env);
  if (earlier.length === 0 || job.followUp || !(await sessionTranscriptExists(spec.sessionId, spec.cwd, spec.env)))
    return spec;
  const last = earlier.at(-1)!;
  const why = last.error ?? { code: ErrorCodes.orchestratorLost, message: 'the process running it stopped' };
  // Still open, or answered after the last attempt stopped waiting: the agent has not had the answer. An
  // attempt closed as lost ended when its process died, which nobody saw: its finishedAt is when it was
  // found lost, so any answer to what it asked went unheard.
  const lost = last.error?.code === ErrorCodes.orchestratorLost;
  const unheard = (await deps.store.listApprovals({ runId: job.runId })).some(
    (request) =>
      request.kind === 'tool' &&
      request.agentId === job.agentId &&
      (request.status === 'pending' ||
        (lost
          ? request.answer !== undefined && request.requestedAt >= last.startedAt
          : (request.answer?.at ?? 0) >= (last.finishedAt ?? last.startedAt))),
  );
  return { ...spec, resume: true, prompt: `${continuationPrompt(why)}${unheard ? ` ${ASKED_BEFORE}` : ''}` };
}

/** Turns each attempt's start, process and end into its stored record and the caller's hooks. */
function attemptRecorder(job: AgentJob, offset: number, deps: RunJobDeps, clock: Clock): RetryHooks {
  const { store, hooks } = deps;
  const numbered = (info: AttemptInfo): AttemptInfo => ({ ...info, attempt: offset + info.attempt });
  const running = (info: AttemptInfo): AttemptRecord => ({
    runId: job.runId,
    agentId: job.agentId,
    attempt: offset + info.attempt,
    resumed: info.resumed,
    startedAt: info.startedAt,
    status: 'running',
    usage: emptyUsage(),
    costUsd: 0,
    durationMs: 0,
  });
  return {
    attemptStarted: async (info) => {
      await store.saveAttempt(running(info));
      hooks?.attemptStarted?.(numbered(info));
    },
    processStarted: async (info, pid) => {
      await store.saveAttempt({ ...running(info), pid, host: hostname() });
      hooks?.processStarted?.(numbered(info));
    },
    attemptFinished: async (info, outcome) => {
      await store.saveAttempt({
        ...running(info),
        status: outcome.status,
        finishedAt: clock.now(),
        usage: outcome.usage,
        costUsd: outcome.costUsd,
        ...(outcome.estimatedCostUsd !== undefined ? { estimatedCostUsd: outcome.estimatedCostUsd } : {}),
        durationMs: outcome.durationMs,
        ...(outcome.error ? { error: { code: outcome.error.code, message: outcome.error.message } } : {}),
      });
      hooks?.attemptFinished?.(numbered(info), outcome);
      hooks?.spent?.(outcome.costUsd, outcome.usage.inputTokens + outcome.usage.outputTokens);
    },
  };
}

/** Runs agents in this process, with the runtime it was given; its session pool prewarms them. */
export class LocalExecutor implements AgentExecutor {
  readonly startStatus = 'running';

  constructor(private readonly deps: { store: Store; runtime: AgentRuntime; env: NodeJS.ProcessEnv; clock?: Clock }) {}

  get warmCapacity(): number {
    return this.deps.runtime.prewarm ? (this.deps.runtime.warmCapacity ?? 0) : 0;
  }

  prewarm(job: AgentJob): boolean {
    return this.deps.runtime.prewarm?.(jobSpec(job, this.deps.env)) ?? false;
  }

  runJob(job: AgentJob, signal: AbortSignal, hooks?: AgentJobHooks): Promise<AgentResult> {
    return runJobHere(job, { ...this.deps, signal, ...(hooks ? { hooks } : {}) });
  }

  /** Agents run in this process only: whatever ran a run's agents before it is dead. */
  agentsHeld(): Promise<Set<string>> {
    return Promise.resolve(new Set());
  }

  async close(): Promise<void> {}
}
