import { emptyUsage } from '../../src/core/index.js';
import type { AgentRecord, Store } from '../../src/store/index.js';

/** A stored agent as tests need one: `running` with no work done yet, unless `fields` say otherwise. */
export function agentRecord(fields: Pick<AgentRecord, 'runId' | 'id'> & Partial<AgentRecord>): AgentRecord {
  return {
    phaseId: 'p',
    sessionId: `${fields.runId}-${fields.id}`,
    status: 'running',
    prompt: '',
    systemPrompt: '',
    usage: emptyUsage(),
    costUsd: 0,
    turns: 0,
    attempts: 1,
    durationMs: 0,
    ...fields,
  };
}

/**
 * A failed run of two agents, one attempt each, and five finished tool calls: builder's Bash ok,
 * mcp__memory__read_graph ok, Bash error; tester's Read error, Bash ok (seq 1–5, started in that order).
 */
export async function saveRunWithToolCalls(store: Store, runId: string): Promise<void> {
  const startedAt = 1_700_000_000_000;
  await store.saveRun({
    ...{ id: runId, workflowName: 'w', tenant: 'default', workflow: {} },
    ...{ status: 'failed', createdAt: startedAt, startedAt, finishedAt: startedAt + 1000 },
  });
  const calls: Array<[string, number, string, 'ok' | 'error']> = [
    ['builder', 1, 'Bash', 'ok'],
    ['builder', 2, 'mcp__memory__read_graph', 'ok'],
    ['builder', 3, 'Bash', 'error'],
    ['tester', 4, 'Read', 'error'],
    ['tester', 5, 'Bash', 'ok'],
  ];
  for (const agentId of ['builder', 'tester']) {
    await store.saveAgent(agentRecord({ runId, id: agentId, status: 'failed', startedAt }));
    await store.saveAttempt({
      ...{ runId, agentId, attempt: 1, status: 'failed', resumed: false, startedAt },
      ...{ durationMs: 1000, costUsd: 0, usage: emptyUsage() },
    });
  }
  for (const [agentId, seq, name, status] of calls)
    await store.saveToolCall({
      ...{ runId, agentId, attempt: 1, seq, toolUseId: `toolu_${seq}`, name, turn: seq, status },
      ...{ startedAt: startedAt + seq * 10, finishedAt: startedAt + seq * 10 + 5, durationMs: 5 },
      inputPreview: `call ${seq}`,
    });
}
