import { randomUUID } from 'node:crypto';
import type { AgentRuntime } from '../agents/index.js';
import { agentEnvironment } from '../agents/index.js';
import type { Usage } from '../core/index.js';
import type { BatonCallPurpose } from '../store/index.js';

/** What one of Baton's own model calls spent, answered or not. */
export interface OneTurnSpend {
  purpose: BatonCallPurpose;
  /** The call's Claude session id. */
  sessionId: string;
  model?: string;
  usage: Usage;
  costUsd: number;
  durationMs: number;
}

/** One of Baton's own model calls, as it starts. */
export type OneTurnStart = Pick<OneTurnSpend, 'purpose' | 'sessionId' | 'model'>;

/** A Claude Code agent with no tools that answers in one turn: how the summarizer and re-ranker ask. */
export interface OneTurnAgentOptions {
  runtime: AgentRuntime;
  /** Environment for the agent (ANTHROPIC_* pass through). */
  env: NodeJS.ProcessEnv;
  cwd: string;
  model?: string;
  /** What the call may spend (what is left of the run's budget); undefined for no cap. */
  maxBudgetUsd?: () => number | undefined;
  /** Told of each call before it asks, so a call whose process dies with Baton's is still known. */
  onStart?: (call: OneTurnStart) => void | Promise<void>;
  /** Told what each call spent, answered or not, so the run's budget counts it and the store keeps it. */
  onSpend?: (spend: OneTurnSpend) => void | Promise<void>;
}

/** The agent id each purpose asks as, in the runtime's logs and the model server's view. */
const agentIds: Record<BatonCallPurpose, string> = { summary: 'context-summarizer', rerank: 'context-reranker' };

/** Asks once and returns the agent's non-empty answer; throws, naming the asking agent, when there is none. */
export async function askOneTurn(
  options: OneTurnAgentOptions,
  purpose: BatonCallPurpose,
  prompt: string,
  signal: AbortSignal,
): Promise<string> {
  const agentId = agentIds[purpose];
  const sessionId = randomUUID();
  await options.onStart?.({ purpose, sessionId, ...(options.model ? { model: options.model } : {}) });
  const outcome = await options.runtime.execute(
    {
      agentId,
      sessionId,
      prompt,
      cwd: options.cwd,
      env: agentEnvironment(options.env),
      model: options.model,
      allowedTools: [],
      maxTurns: 1,
      maxBudgetUsd: options.maxBudgetUsd?.(),
    },
    signal,
  );
  const { usage, costUsd, durationMs } = outcome;
  await options.onSpend?.({
    purpose,
    sessionId,
    ...(options.model ? { model: options.model } : {}),
    usage,
    costUsd,
    durationMs,
  });
  if (outcome.status !== 'succeeded' || !outcome.output?.text.trim()) {
    throw new Error(`${agentId} agent failed: ${outcome.error?.message ?? 'empty answer'}`);
  }
  return outcome.output.text.trim();
}
