import { createHash } from 'node:crypto';
import { countTokens } from '../context/index.js';
import { priceOf } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { Workflow } from '../workflow/index.js';

/** Claude Code's own system prompt and tool definitions, sent on every turn (measured: ~13.5k tokens). */
export const agentOverheadTokens = 13_500;
/** What one turn writes, at least and at most, for the range. */
const outputTokensPerTurn = { low: 100, high: 2_000 };
/** Turns when the workflow sets no maxTurns: the high end assumes this many. */
const defaultHighTurns = 10;

/** One agent's cost range in USD: one short turn at least; maxTurns long turns with its full context at most. */
export function agentCostRange(agent: {
  prompt: string;
  systemPrompt?: string;
  model?: string;
  maxTurns?: number;
  maxBudgetUsd?: number;
  contextTokens: number;
}): { low: number; high: number } {
  const price = priceOf(agent.model);
  const promptTokens = countTokens(agent.prompt) + countTokens(agent.systemPrompt ?? '');
  const turns = agent.maxTurns ?? defaultHighTurns;
  const usd = (input: number, output: number): number =>
    (input * price.inputPerMTok + output * price.outputPerMTok) / 1_000_000;
  const low = usd(agentOverheadTokens + promptTokens, outputTokensPerTurn.low);
  // Each turn resends the conversation so far; its outputs pile up.
  const perTurnInput = agentOverheadTokens + promptTokens + agent.contextTokens;
  let high = 0;
  for (let turn = 0; turn < turns; turn++)
    high += usd(perTurnInput + turn * outputTokensPerTurn.high, outputTokensPerTurn.high);
  if (agent.maxBudgetUsd !== undefined) high = Math.min(high, agent.maxBudgetUsd);
  return { low: Math.min(low, high), high };
}

/** A stable hash of a validated workflow: runs with the same hash ran exactly this workflow. */
export function workflowHash(workflow: unknown): string {
  return createHash('sha256').update(JSON.stringify(workflow)).digest('hex').slice(0, 16);
}

export interface HistoryEstimate {
  /** `hash`: runs of exactly this workflow; `name`: runs of a workflow with this name (it changed since). */
  match: 'hash' | 'name';
  runs: number;
  low: number;
  high: number;
  /**
   * `name` matches of another shape: each run's cost per agent times this workflow's known agents,
   * from the fewest and most agents those runs had.
   */
  scaled?: { fromAgents: { min: number; max: number }; toAgents: number };
}

/** A run's cost and how many agents it had. */
async function runCost(store: Store, runId: string): Promise<{ usd: number; agents: number }> {
  const agents = await store.listAgents(runId);
  return { usd: agents.reduce((sum, a) => sum + a.costUsd, 0), agents: agents.length };
}

/**
 * The cost range of this workflow's succeeded runs in the store, preferring runs of exactly this
 * version. A failed run's cost says little (agents that failed at once cost $0), so only succeeded
 * runs count. Runs of an earlier version are scaled by agent count to `knownAgents` where it differs.
 * `stored` is the workflow as a run stores it (its secrets hidden): what its runs' copies are compared with.
 */
export async function historyEstimate(
  store: Store,
  workflow: Workflow,
  knownAgents: number,
  stored: unknown = workflow,
  limit = 200,
): Promise<HistoryEstimate | undefined> {
  const succeeded = (await store.listRuns({ limit })).filter(
    (r) => r.workflowName === workflow.name && r.status === 'succeeded',
  );
  const hash = workflowHash(stored);
  const exact = succeeded.filter((r) => workflowHash(r.workflow) === hash);
  const [match, runs] = exact.length > 0 ? (['hash', exact] as const) : (['name', succeeded] as const);
  if (runs.length === 0) return undefined;
  const costs = await Promise.all(runs.map((r) => runCost(store, r.id)));
  const reshaped = match === 'name' && knownAgents > 0 && costs.some((c) => c.agents !== knownAgents);
  const usd = costs.map((c) => (reshaped && c.agents > 0 ? (c.usd / c.agents) * knownAgents : c.usd));
  const agentCounts = costs.map((c) => c.agents);
  return {
    match,
    runs: runs.length,
    low: Math.min(...usd),
    high: Math.max(...usd),
    ...(reshaped
      ? {
          scaled: {
            fromAgents: { min: Math.min(...agentCounts), max: Math.max(...agentCounts) },
            toAgents: knownAgents,
          },
        }
      : {}),
  };
}
