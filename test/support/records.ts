import { emptyUsage } from '../../src/core/index.js';
import type { AgentRecord } from '../../src/store/index.js';

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
