import { randomUUID } from 'node:crypto';
import type { AgentRuntime } from '../agents/index.js';
import { agentEnvironment } from '../agents/index.js';

/** A Claude Code agent with no tools that answers in one turn: how the summarizer and re-ranker ask. */
export interface OneTurnAgentOptions {
  runtime: AgentRuntime;
  /** Environment for the agent (ANTHROPIC_* pass through). */
  env: NodeJS.ProcessEnv;
  cwd: string;
  model?: string;
  /** What the call may spend (what is left of the run's budget); undefined for no cap. */
  maxBudgetUsd?: () => number | undefined;
  /** Told what each call spent, answered or not, so the run's budget counts it like an agent's. */
  onSpend?: (costUsd: number, tokens: number) => void;
}

/** Asks once and returns the agent's non-empty answer; throws, naming `agentId`, when there is none. */
export async function askOneTurn(
  options: OneTurnAgentOptions,
  agentId: string,
  prompt: string,
  signal: AbortSignal,
): Promise<string> {
  const outcome = await options.runtime.execute(
    {
      agentId,
      sessionId: randomUUID(),
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
  options.onSpend?.(outcome.costUsd, outcome.usage.inputTokens + outcome.usage.outputTokens);
  if (outcome.status !== 'succeeded' || !outcome.output?.text.trim()) {
    throw new Error(`${agentId} agent failed: ${outcome.error?.message ?? 'empty answer'}`);
  }
  return outcome.output.text.trim();
}
