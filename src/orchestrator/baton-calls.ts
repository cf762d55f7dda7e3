import type { OneTurnSpend, OneTurnStart } from '../context/index.js';
import { emptyUsage, ErrorCodes, type Clock } from '../core/index.js';
import type { BatonCallRecord, RunRecord, Store } from '../store/index.js';
import type { RunEvents } from './events.js';
import type { RunBudget } from './run-budget.js';

/**
 * Where Baton's own model calls (the context summarizer, the re-ranker) are recorded: each as it
 * starts (`running`, so one its orchestrator dies in is closed as lost at resume), and what it spent as
 * it ends: in the run's budget, the stored record (so usage, metrics and a resumed run count it) and a
 * `context.model_call` event.
 */
export function recordBatonCalls(deps: {
  runId: string;
  run: () => RunRecord;
  store: Store;
  clock: Clock;
  events: RunEvents;
  budget: RunBudget;
}): { onStart: (call: OneTurnStart) => Promise<void>; onSpend: (spend: OneTurnSpend) => Promise<void> } {
  const { runId, store, clock, events, budget } = deps;
  const recordOf = (call: OneTurnStart, at: number): BatonCallRecord => ({
    id: call.sessionId,
    runId,
    tenant: deps.run().tenant,
    purpose: call.purpose,
    ...(call.model ? { model: call.model } : {}),
    usage: emptyUsage(),
    costUsd: 0,
    startedAt: at,
    finishedAt: at,
  });
  return {
    onStart: async (call) => {
      const startedAt = clock.now();
      await store.saveBatonCall({ ...recordOf(call, startedAt), status: 'running' });
    },
    onSpend: async (spend) => {
      budget.spend(spend.costUsd, spend.usage.inputTokens + spend.usage.outputTokens);
      const finishedAt = clock.now();
      const call: BatonCallRecord = {
        ...recordOf(spend, finishedAt - spend.durationMs),
        usage: spend.usage,
        costUsd: spend.costUsd,
        finishedAt,
      };
      await store.saveBatonCall(call);
      events.emit('context.model_call', { runId, call });
    },
  };
}

/**
 * At the start of `--resume`: the orchestrator before it is dead, and a call of its own it was waiting
 * for died with it (the one-turn `claude` is its child) before saying what it spent. Each is closed as
 * lost, its spend unknown: the model was asked, the answer never came back.
 */
export async function closeBatonCallsLeftRunning(store: Store, runId: string, clock: Clock): Promise<number> {
  const running = (await store.listBatonCalls(runId)).filter((c) => c.status === 'running');
  const finishedAt = clock.now();
  for (const call of running)
    await store.saveBatonCall({
      ...call,
      status: 'lost',
      finishedAt: Math.max(call.startedAt, finishedAt),
      error: {
        code: ErrorCodes.orchestratorLost,
        message: 'the orchestrator making this call stopped before it ended',
      },
    });
  return running.length;
}

/** What a run's own model calls spent, in USD and tokens (input + output), as its budget counts them. */
export async function spentByBatonCalls(store: Store, runId: string): Promise<{ usd: number; tokens: number }> {
  const calls = await store.listBatonCalls(runId);
  return {
    usd: calls.reduce((sum, c) => sum + c.costUsd, 0),
    tokens: calls.reduce((sum, c) => sum + c.usage.inputTokens + c.usage.outputTokens, 0),
  };
}
