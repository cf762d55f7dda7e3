import { setTimeout as sleep } from 'node:timers/promises';
import { emptyUsage, type ModelTurn, type ToolCall, type Usage } from '../core/index.js';
import { abortError } from './classify.js';
import type { AgentRuntime, AgentSpec, AttemptError, AttemptObserver, AttemptOutcome } from './runtime.js';

/** What the fake agent does on one execution. */
export interface FakeStep {
  text?: string;
  structured?: unknown;
  error?: AttemptError;
  /** How long the "agent" works; an abort during it ends the attempt. */
  delayMs?: number;
  /** The "agent" works until this settles (a test's gate, instead of guessing a delay); an abort ends it. */
  until?: Promise<unknown>;
  usage?: Partial<Usage>;
  costUsd?: number;
  /** Whether a failed attempt had created its session (so a retry resumes). Default true. */
  sessionStarted?: boolean;
  /** Tool calls the "agent" reports, as they would come from its message stream. */
  toolCalls?: ToolCall[];
  /** Model turns the "agent" reports (each as it ends), before its tool calls. */
  turns?: ModelTurn[];
}

export type FakeBehaviour = (spec: AgentSpec, call: number) => FakeStep;

/**
 * An in-process AgentRuntime for unit tests of the layers above the runtime: no process, no model.
 * Integration tests use ClaudeRuntime with the real binary instead.
 */
export class FakeRuntime implements AgentRuntime {
  readonly name = 'fake';
  readonly calls: AgentSpec[] = [];

  constructor(private readonly behaviour: FakeBehaviour = (spec) => ({ text: `done: ${spec.prompt}` })) {}

  async close(): Promise<void> {}

  async execute(spec: AgentSpec, signal: AbortSignal, observer?: AttemptObserver): Promise<AttemptOutcome> {
    this.calls.push(spec);
    const step = this.behaviour(spec, this.calls.length);
    const startedAt = Date.now();
    const usage = { ...emptyUsage(), ...step.usage };
    const toolCalls = step.toolCalls ?? [];
    for (const turn of step.turns ?? []) observer?.modelTurn?.(turn);
    for (const call of toolCalls) observer?.toolCall?.(call);
    const base = {
      usage,
      costUsd: step.costUsd ?? 0,
      turns: 1,
      sessionStarted: step.sessionStarted ?? true,
      toolCalls,
    };
    try {
      if (step.delayMs) await sleep(step.delayMs, undefined, { signal });
      if (step.until) await settledOrAborted(step.until, signal);
    } catch {
      // aborted while working
    }
    const durationMs = Date.now() - startedAt;
    if (signal.aborted) return { ...base, status: 'failed', durationMs, error: abortError(signal) };
    if (step.error) return { ...base, status: 'failed', durationMs, error: step.error };
    return {
      ...base,
      status: 'succeeded',
      durationMs,
      output: { text: step.text ?? '', ...(step.structured !== undefined ? { structured: step.structured } : {}) },
    };
  }
}

async function settledOrAborted(gate: Promise<unknown>, signal: AbortSignal): Promise<void> {
  let onAbort = (): void => {};
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve;
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([gate, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
