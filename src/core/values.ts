/**
 * Value types every part of Baton passes around (the runtime reports them, the orchestrator adds
 * them up, the store keeps them). They live here, in the lowest layer, so no part has to import the
 * store to speak of what an agent used or produced.
 */
import { z } from 'zod';

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
  /** The part of `costUsd` Baton estimated at list price: attempts cut off before Claude Code reported their cost. */
  estimatedCostUsd?: number;
  turns: number;
  attempts: number;
  durationMs: number;
}

/** The estimated part of these costs added up, as a field to spread: none when nothing was estimated. */
export function estimatedCostOf(items: ReadonlyArray<{ estimatedCostUsd?: number }>): { estimatedCostUsd?: number } {
  const estimated = items.reduce((sum, item) => sum + (item.estimatedCostUsd ?? 0), 0);
  return estimated > 0 ? { estimatedCostUsd: estimated } : {};
}

/** A permission decision on one tool call, when one was asked for (approvals, permission prompts). */
export interface ToolPermission {
  decision: 'allow' | 'deny';
  /** Who or what decided: a policy, a person, a hook. */
  by?: string;
}

/**
 * One tool call of an agent as its message stream shows it: the assistant's `tool_use` up to the
 * matching `tool_result`. Previews are capped; whoever stores or publishes them redacts them first.
 */
export interface ToolCall {
  /** 1-based position among the attempt's tool calls, in the order the agent asked for them. */
  seq: number;
  /** The model's id of the call (`toolu_…`). */
  toolUseId: string;
  /** The tool as the agent named it (`Bash`, `mcp__memory__create_entities`). */
  name: string;
  /** The MCP server, for `mcp__<server>__<tool>` names. */
  server?: string;
  /** Which model turn (1-based assistant message) asked for it. */
  turn: number;
  startedAt: number;
  finishedAt?: number;
  durationMs?: number;
  /** `running` until its result arrives; an attempt that ends first leaves it `error`. */
  status: 'running' | 'ok' | 'error';
  inputPreview: string;
  outputPreview?: string;
  permission?: ToolPermission;
}

/**
 * One model turn of an agent as its streamed message events show it: one model response (one
 * assistant message), from when its request went out to the end of the response.
 */
export interface ModelTurn {
  /** 1-based, in the attempt; a tool call names the turn that asked for it (`ToolCall.turn`). */
  index: number;
  /** The response's id (`msg_…`). */
  messageId: string;
  /** The model the agent asked for (its spec's `model`), when it named one. */
  requestModel?: string;
  /** The model that answered, as the response names it. */
  responseModel?: string;
  startedAt: number;
  finishedAt?: number;
  /** `running` until the response ends; one its attempt ended first is left `incomplete`. */
  status: 'running' | 'done' | 'incomplete';
  /** What the response reported; output tokens are final only once it is `done`. */
  usage: Usage;
  /** Why the model stopped (`end_turn`, `tool_use`, `max_tokens`, …). */
  stopReason?: string;
}

/** One MCP server's health over a run, as one gateway (the orchestrator's or a worker's) saw it. */
export const serverRunHealthSchema = z.object({
  name: z.string(),
  scope: z.enum(['run', 'agent', 'remote']),
  breaker: z.enum(['closed', 'open', 'half-open']),
  calls: z.number(),
  failures: z.number(),
  crashes: z.number(),
  restarts: z.number(),
  p50Ms: z.number().optional(),
  lastError: z.string().optional(),
  /**
   * A worker's report only: `true` while its gateway for the run hosts the server, `false` once it
   * stopped it (the orchestrator waits for that at a run's end; its own gateway stops with it).
   */
  running: z.boolean().optional(),
});
export type ServerRunHealth = z.output<typeof serverRunHealthSchema>;
