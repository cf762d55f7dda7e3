import type { AgentRecord, ToolCallRecord } from '../store/index.js';

/** What a running agent is doing now: a tool call and for how long, or thinking since its last call. */
export interface AgentActivity {
  agentId: string;
  /** The tool it is waiting on; absent while the model is thinking. */
  tool?: string;
  /** Since the tool call started, or since the agent's last call ended (or the agent started). */
  elapsedMs: number;
}

/** The running agents' activity, from their records and tool calls (as stored, so workers' agents too). */
export function agentActivity(agents: AgentRecord[], calls: ToolCallRecord[], now: number): AgentActivity[] {
  return agents
    .filter((a) => a.status === 'running')
    .map((agent) => {
      const mine = calls.filter((c) => c.agentId === agent.id);
      const lastAttempt = Math.max(0, ...mine.map((c) => c.attempt));
      const current = mine.filter((c) => c.attempt === lastAttempt).sort((x, y) => x.seq - y.seq);
      // Calls of one turn run side by side: a later one may end while an earlier one still runs.
      const waiting = current.find((c) => c.status === 'running');
      if (waiting) return { agentId: agent.id, tool: waiting.name, elapsedMs: now - waiting.startedAt };
      const since = Math.max(0, ...current.map((c) => c.finishedAt ?? 0)) || (agent.startedAt ?? now);
      return { agentId: agent.id, elapsedMs: Math.max(0, now - since) };
    });
}
