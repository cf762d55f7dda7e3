import { ExponentialBackoff, handleWhenResult, retry, type RetryPolicy } from 'cockatiel';
import {
  addUsage,
  BatonError,
  emptyUsage,
  ErrorCodes,
  estimatedCostOf,
  type AgentOutput,
  type AgentTotals,
  type ErrorInfo,
  type ModelTurn,
  type ToolCall,
} from '../core/index.js';
import { abortError } from './classify.js';
import type { AgentRuntime, AgentSpec, AttemptOutcome } from './runtime.js';
import type { ToolGate } from './tool-gate.js';

export interface RetryOptions {
  /** Retries after the first attempt, for transient failures only. */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryOptions: RetryOptions = { maxRetries: 2, baseDelayMs: 1000, maxDelayMs: 30_000 };

export interface AttemptInfo {
  /** 1-based. */
  attempt: number;
  resumed: boolean;
  startedAt: number;
}

/** Plain hooks for the one layer above (runJob), which turns them into stored attempts and run events. */
export interface RetryHooks {
  attemptStarted?(info: AttemptInfo): void | Promise<void>;
  /** The attempt's process started: where to find it if the orchestrator dies. */
  processStarted?(info: AttemptInfo, pid: number): void | Promise<void>;
  attemptFinished?(info: AttemptInfo, outcome: AttemptOutcome): void | Promise<void>;
  /** A tool call of the attempt started or finished. */
  toolCall?(info: AttemptInfo, call: ToolCall): void | Promise<void>;
  /** A model turn of the attempt started or ended. */
  modelTurn?(info: AttemptInfo, turn: ModelTurn): void;
}

export interface RunWithRetriesOptions {
  runtime: AgentRuntime;
  retry?: RetryOptions;
  /** The whole agent, all attempts and backoff included, is killed after this long. */
  timeoutMs?: number;
  /** The timeout as configured and where, for its error: `timeoutMs` may be less (what preparing left of it). */
  timeoutSetting?: TimeoutSetting;
  /** Aborting it cancels the agent (the run's kill switch). */
  signal?: AbortSignal;
  hooks?: RetryHooks;
  /** Decides each tool call (passed on to the runtime). */
  toolGate?: ToolGate;
}

export type AgentResultStatus = 'succeeded' | 'failed' | 'cancelled';

export interface AgentResult extends AgentTotals {
  status: AgentResultStatus;
  output?: AgentOutput;
  error?: ErrorInfo;
}

/** The prompt for a retry that resumes the session: the original task is already in the conversation. */
export function continuationPrompt(error: ErrorInfo | undefined): string {
  const why = error ? ` (${error.code}: ${error.message})` : '';
  return `Your previous attempt at this task was interrupted${why}. Continue from where you left off and finish the task.`;
}

function retryPolicy(options: RetryOptions): RetryPolicy {
  return retry(
    handleWhenResult((outcome) => {
      const o = outcome as AttemptOutcome | undefined;
      return o?.status === 'failed' && o.error?.transient === true;
    }),
    {
      maxAttempts: options.maxRetries,
      backoff: new ExponentialBackoff({ initialDelay: options.baseDelayMs, maxDelay: options.maxDelayMs }),
    },
    // A cancelled agent's pending backoff timer must not keep the process alive.
  ).dangerouslyUnref();
}

/** An agent's timeout as its user set it, and the setting to change for a longer one. */
export interface TimeoutSetting {
  ms: number;
  /** e.g. `agent_timeout_ms in the Baton config`. */
  field: string;
}

/** What a timeout's error says: the timeout the user set and where to raise it, when known. */
const timedOutMessage = (agentId: string, timeoutMs: number, setting: TimeoutSetting | undefined): string =>
  setting
    ? `agent ${agentId} timed out after ${setting.ms} ms and was killed; to give it longer, raise ${setting.field}`
    : `agent ${agentId} timed out after ${timeoutMs} ms and was killed`;

/**
 * A signal that aborts when the caller's does, or with BATON_AGENT_TIMEOUT after timeoutMs of the
 * agent's own time: `hold` stops the clock while a tool call waits for a person (until the returned
 * release), as a wait for a slot does not count either — an answer may take up to approvalTimeoutMs.
 */
function agentSignal(
  parent: AbortSignal | undefined,
  { timeoutMs, timeoutSetting }: Pick<RunWithRetriesOptions, 'timeoutMs' | 'timeoutSetting'>,
  agentId: string,
): { signal: AbortSignal; hold: () => () => void; dispose: () => void } {
  const controller = new AbortController();
  const onParentAbort = (): void => controller.abort(parent?.reason);
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  const expire = (): void =>
    controller.abort(new BatonError(ErrorCodes.agentTimeout, timedOutMessage(agentId, timeoutMs ?? 0, timeoutSetting)));
  let left = timeoutMs;
  let since = Date.now();
  let timer = left === undefined ? undefined : setTimeout(expire, left);
  let holds = 0;
  const hold = (): (() => void) => {
    if (left !== undefined && holds++ === 0) {
      clearTimeout(timer);
      left -= Date.now() - since;
    }
    let released = false;
    return () => {
      if (left === undefined || released) return;
      released = true;
      if (--holds > 0 || controller.signal.aborted) return;
      since = Date.now();
      timer = setTimeout(expire, Math.max(0, left));
    };
  };
  return {
    signal: controller.signal,
    hold,
    dispose: () => {
      clearTimeout(timer);
      holds = Number.POSITIVE_INFINITY; // a late release starts no timer
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/** The tool gate with the agent's clock stopped while it decides (a person may take a while). */
function gateOffTheClock(gate: ToolGate | undefined, hold: () => () => void): ToolGate | undefined {
  if (!gate) return undefined;
  return async (call, signal) => {
    const release = hold();
    try {
      return await gate(call, signal);
    } finally {
      release();
    }
  };
}

/**
 * What is left of the agent's maxBudgetUsd and maxTurns after its earlier attempts: each attempt is a
 * new `claude` process that counts its own spend and turns only, so a retry is given the rest, never
 * the whole allowance again.
 */
function limitsLeft(spec: AgentSpec, outcomes: AttemptOutcome[]): Pick<AgentSpec, 'maxBudgetUsd' | 'maxTurns'> {
  const spentUsd = outcomes.reduce((sum, o) => sum + o.costUsd, 0);
  const turns = outcomes.reduce((sum, o) => sum + o.turns, 0);
  return {
    ...(spec.maxBudgetUsd !== undefined ? { maxBudgetUsd: spec.maxBudgetUsd - spentUsd } : {}),
    ...(spec.maxTurns !== undefined ? { maxTurns: spec.maxTurns - turns } : {}),
  };
}

/** Why no further attempt may start: the attempts so far used up the agent's budget or turns. */
function limitReached(left: Pick<AgentSpec, 'maxBudgetUsd' | 'maxTurns'>): ErrorInfo | undefined {
  if (left.maxBudgetUsd !== undefined && left.maxBudgetUsd <= 0)
    return {
      code: ErrorCodes.agentBudgetExceeded,
      message: 'the agent spent its USD budget (maxBudgetUsd) over its attempts',
    };
  if (left.maxTurns !== undefined && left.maxTurns <= 0)
    return { code: ErrorCodes.agentMaxTurns, message: 'the agent used all its turns (maxTurns) over its attempts' };
  return undefined;
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/**
 * Runs one agent to completion, one attempt (one `claude` process) at a time: retries transient
 * failures with exponential backoff and jitter, resumes the agent's Claude session on a retry when
 * the failed attempt had started it (so work done before the failure is not lost), and enforces the
 * timeout and the kill switch.
 */
export async function runWithRetries(spec: AgentSpec, options: RunWithRetriesOptions): Promise<AgentResult> {
  const startedAt = Date.now();
  const { signal, hold, dispose } = agentSignal(options.signal, options, spec.agentId);
  const toolGate = gateOffTheClock(options.toolGate, hold);
  const outcomes: AttemptOutcome[] = [];
  let attemptInFlight: Promise<unknown> = Promise.resolve();

  const runAttempt = async (): Promise<AttemptOutcome | undefined> => {
    // Cockatiel's backoff wait ignores the signal, so a retry may still fire after cancellation.
    if (signal.aborted) return undefined;
    const left = limitsLeft(spec, outcomes);
    if (limitReached(left)) return undefined;
    const previous = outcomes.at(-1);
    const resumed = spec.resume === true || previous?.sessionStarted === true;
    const info: AttemptInfo = { attempt: outcomes.length + 1, resumed, startedAt: Date.now() };
    await options.hooks?.attemptStarted?.(info);
    const attemptSpec: AgentSpec = {
      ...spec,
      ...(previous?.sessionStarted === true ? { resume: true, prompt: continuationPrompt(previous.error) } : {}),
      ...left,
    };
    const recorded: Array<Promise<void>> = [];
    const execution = options.runtime
      .execute(attemptSpec, signal, {
        spawned: (pid) => recorded.push(Promise.resolve(options.hooks?.processStarted?.(info, pid))),
        ...(toolGate ? { toolGate } : {}),
        toolCall: (call) => recorded.push(Promise.resolve(options.hooks?.toolCall?.(info, call))),
        modelTurn: (turn) => options.hooks?.modelTurn?.(info, turn),
      })
      .then(async (outcome) => {
        await Promise.all(recorded); // the pid and tool calls are stored before the attempt's end, never after
        return outcome;
      });
    attemptInFlight = execution;
    const outcome = await execution;
    outcomes.push(outcome);
    await options.hooks?.attemptFinished?.(info, outcome);
    return outcome;
  };

  try {
    // On abort, stop waiting for backoff but let a running attempt finish killing its process.
    await Promise.race([
      retryPolicy(options.retry ?? defaultRetryOptions).execute(runAttempt, signal),
      aborted(signal).then(() => attemptInFlight),
    ]);
  } finally {
    dispose();
  }
  const last = outcomes.at(-1);

  const usage = outcomes.reduce((sum, o) => addUsage(sum, o.usage), emptyUsage());
  const costUsd = outcomes.reduce((sum, o) => sum + o.costUsd, 0);
  const turns = outcomes.reduce((sum, o) => sum + o.turns, 0);
  const base = {
    usage,
    costUsd,
    ...estimatedCostOf(outcomes),
    turns,
    attempts: outcomes.length,
    durationMs: Date.now() - startedAt,
  };

  if (last?.status === 'succeeded') return { ...base, status: 'succeeded', output: last.output };
  // A transient failure is not retried once the attempts so far used up the budget or the turns.
  // Nor is an agent started whose spec had nothing left (a resumed agent whose earlier attempts used it up).
  const reached =
    last === undefined || last.error?.transient === true ? limitReached(limitsLeft(spec, outcomes)) : undefined;
  const error = signal.aborted ? abortError(signal) : (reached ?? last?.error);
  const status: AgentResultStatus = error?.code === ErrorCodes.cancelled ? 'cancelled' : 'failed';
  return {
    ...base,
    status,
    error: error
      ? { code: error.code, message: error.message }
      : { code: ErrorCodes.agentFailed, message: 'the agent did not run' },
  };
}
