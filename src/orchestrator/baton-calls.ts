import type { OneTurnSpend } from '../context/index.js';
import type { Clock } from '../core/index.js';
import type { BatonCallRecord, RunRecord, Store } from '../store/index.js';
import type { RunEvents } from './events.js';
import type { RunBudget } from './run-budget.js';

/**
 * Where the spend of Baton's own model calls (the context summarizer, the re-ranker) goes: the run's
 * budget, a stored record (so usage, metrics and a resumed run count it) and a `context.model_call` event.
 */
export function recordBatonCalls(deps: {
  runId: string;
  run: () => RunRecord;
  store: Store;
  clock: Clock;
  events: RunEvents;
  budget: RunBudget;
}): (spend: OneTurnSpend) => Promise<void> {
  const { runId, store, clock, events, budget } = deps;
  return async (spend) => {
    budget.spend(spend.costUsd, spend.usage.inputTokens + spend.usage.outputTokens);
    const finishedAt = clock.now();
    const call: BatonCallRecord = {
      id: spend.sessionId,
      runId,
      tenant: deps.run().tenant,
      purpose: spend.purpose,
      ...(spend.model ? { model: spend.model } : {}),
      usage: spend.usage,
      costUsd: spend.costUsd,
      startedAt: finishedAt - spend.durationMs,
      finishedAt,
    };
    await store.saveBatonCall(call);
    events.emit('context.model_call', { runId, call });
  };
}

/** What a run's own model calls spent, in USD and tokens (input + output), as its budget counts them. */
export async function spentByBatonCalls(store: Store, runId: string): Promise<{ usd: number; tokens: number }> {
  const calls = await store.listBatonCalls(runId);
  return {
    usd: calls.reduce((sum, c) => sum + c.costUsd, 0),
    tokens: calls.reduce((sum, c) => sum + c.usage.inputTokens + c.usage.outputTokens, 0),
  };
}
