/**
 * Value types every part of Baton passes around (the runtime reports them, the orchestrator adds
 * them up, the store keeps them). They live here, in the lowest layer, so no part has to import the
 * store to speak of what an agent used or produced.
 */

/** Token counts as the model reported them. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}

export const emptyUsage = (): Usage => ({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheCreationTokens: 0,
});

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheCreationTokens: a.cacheCreationTokens + b.cacheCreationTokens,
  };
}

/** What an agent produced. */
export interface AgentOutput {
  text: string;
  /** Present when the agent was asked for a JSON schema. */
  structured?: unknown;
}

/** What running an agent added up to, over all its attempts. */
export interface AgentTotals {
  /** Summed over all attempts: a failed attempt still cost tokens. */
  usage: Usage;
  costUsd: number;
  turns: number;
  attempts: number;
  durationMs: number;
}
