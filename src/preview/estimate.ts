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
}

/** The cost range of this workflow's finished runs in the store, preferring runs of exactly this version. */
export async function historyEstimate(
  store: Store,
  workflow: Workflow,
  limit = 200,
): Promise<HistoryEstimate | undefined> {
  const finished = (await store.listRuns({ limit })).filter(
    (r) => r.workflowName === workflow.name && r.status !== 'running' && r.status !== 'cancelled',
  );
  const hash = workflowHash(workflow);
  const exact = finished.filter((r) => workflowHash(r.workflow) === hash);
  const [match, runs] = exact.length > 0 ? (['hash', exact] as const) : (['name', finished] as const);
  if (runs.length === 0) return undefined;
  const costs = await Promise.all(
    runs.map(async (r) => (await store.listAgents(r.id)).reduce((sum, a) => sum + a.costUsd, 0)),
  );
  return { match, runs: runs.length, low: Math.min(...costs), high: Math.max(...costs) };
}
