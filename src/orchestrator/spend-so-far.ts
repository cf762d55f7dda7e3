import { addUsage, emptyUsage, estimatedCostOf } from '../core/index.js';
import type { AgentRecord, Store } from '../store/index.js';

/** Agents whose record does not add up their attempts yet: it does so when the agent finishes. */
const inProgress: ReadonlySet<AgentRecord['status']> = new Set(['pending', 'queued', 'running']);

/**
 * A run's agents with what each has spent: a finished agent's record as it is; for one still in
 * progress, or left running by an orchestrator that was killed, the sum of its attempts so far, so
 * status, the dashboard, `baton usage` and tenant budgets see spend before the agent ends (or if it never does).
 */
export async function listAgentsWithSpend(store: Store, runId: string): Promise<AgentRecord[]> {
  const agents = await store.listAgents(runId);
  if (!agents.some((a) => inProgress.has(a.status))) return agents;
  const attempts = await store.listAttempts(runId);
  return agents.map((agent) => {
    const own = attempts.filter((a) => a.agentId === agent.id);
    if (!inProgress.has(agent.status) || own.length === 0) return agent;
    const { estimatedCostUsd: _fromRecord, ...record } = agent;
    return {
      ...record,
      usage: own.reduce((sum, a) => addUsage(sum, a.usage), emptyUsage()),
      costUsd: own.reduce((sum, a) => sum + a.costUsd, 0),
      ...estimatedCostOf(own),
    };
  });
}
