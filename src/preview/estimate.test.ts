import { describe, expect, it } from 'vitest';
import type { AgentRecord, RunRecord, RunStatus, Store } from '../store/index.js';
import { parseWorkflow } from '../workflow/index.js';
import { historyEstimate } from './estimate.js';

const workflowOf = (count: number) =>
  parseWorkflow(
    `version: 1\nname: review\nphases:\n  - id: r\n    agents: [{ id: reviewer, prompt: Review, count: ${count} }]\n`,
    'review.yaml',
  );

interface PastRun {
  status: RunStatus;
  workflow: unknown;
  agentCosts: number[];
}

/** A store holding only these runs and their agents: all historyEstimate reads. */
function storeWith(runs: PastRun[]): Store {
  const records = runs.map((run, i) => ({ id: `run${i}`, workflowName: 'review', ...run }));
  return {
    listRuns: () => Promise.resolve(records as unknown as RunRecord[]),
    listAgents: (runId: string) =>
      Promise.resolve(
        (records.find((r) => r.id === runId)?.agentCosts ?? []).map((costUsd) => ({ costUsd })) as AgentRecord[],
      ),
  } as unknown as Store;
}

describe('historyEstimate', () => {
  it("counts only succeeded runs: a run whose agents all failed at once ($0) is no estimate of this workflow's cost", async () => {
    const workflow = workflowOf(2);
    const failedOnly = storeWith([{ status: 'failed', workflow, agentCosts: [0, 0] }]);
    expect(await historyEstimate(failedOnly, workflow, 2)).toBeUndefined();

    const both = storeWith([
      { status: 'failed', workflow, agentCosts: [0, 0] },
      { status: 'succeeded', workflow, agentCosts: [0.1, 0.2] },
    ]);
    expect(await historyEstimate(both, workflow, 2)).toMatchObject({ match: 'hash', runs: 1 });
    expect((await historyEstimate(both, workflow, 2))?.low).toBeCloseTo(0.3);
  });

  it('scales a differently shaped run of the same name by agent count, and says it did', async () => {
    const before = workflowOf(5);
    const now = workflowOf(7);
    const store = storeWith([{ status: 'succeeded', workflow: before, agentCosts: [0.1, 0.1, 0.1, 0.1, 0.1] }]);
    const estimate = await historyEstimate(store, now, 7);
    expect(estimate).toMatchObject({ match: 'name', runs: 1, scaled: { fromAgents: { min: 5, max: 5 }, toAgents: 7 } });
    expect(estimate?.low).toBeCloseTo(0.7);
    expect(estimate?.high).toBeCloseTo(0.7);
  });
});
