import { BatonError, ErrorCodes, type ErrorInfo } from '../core/index.js';
import { currentRunStatus } from './resume.js';
import type {
  AgentContextRecord,
  AgentMcpRecord,
  AgentRecord,
  AgentRole,
  AgentStatus,
  AgentWorkspace,
  MergeReport,
  PhaseOutput,
  PhaseStatus,
  RunStatus,
  Store,
  Usage,
} from '../store/index.js';

/** One agent in `baton run --json` / `baton status --json`. */
export interface AgentSummary {
  id: string;
  sessionId: string;
  status: AgentStatus;
  /** The agent's final text, or null when it produced none. */
  result: string | null;
  /** Present when the agent was asked for a JSON schema. */
  structuredOutput?: unknown;
  usage: Usage;
  costUsd: number;
  attempts: number;
  durationMs: number;
  /** The MCP servers the agent ran with, why, and those it had to do without. */
  mcp?: AgentMcpRecord;
  /** What the agent inherited from earlier agents. */
  context?: AgentContextRecord;
  /** Set for the agents Baton adds: a phase's planner, judge, reducers or merge resolvers (workers leave it out). */
  role?: Exclude<AgentRole, 'worker'>;
  /** `workspace: worktree`: the agent's branch and what it changed. */
  workspace?: AgentWorkspace;
  /** Tool calls that waited for a person, and calls refused (by a rule, a person or a deadline). */
  permissions?: { asked: number; denied: number };
  error?: ErrorInfo;
}

export interface PhaseSummary {
  id: string;
  status: PhaseStatus;
  /** For phases a planner created: its generation and plan phase. */
  generation?: number;
  parentId?: string;
  /** What the phase's agents add up to (the aggregated vote, merge, judge, reduce or plan result). */
  output?: PhaseOutput;
  /** Why the phase as a whole did not run or failed (a false `when`, an invalid plan, a missing foreach list). */
  error?: ErrorInfo;
  /** `merge:` of a worktree phase: the integration branch, its head, and what became of each branch. */
  merge?: MergeReport;
  agents: AgentSummary[];
}

export interface RunSummary {
  runId: string;
  workflow: string;
  status: RunStatus;
  /** Requests (tool calls, phase gates) waiting for a person right now. */
  waiting?: number;
  phases: PhaseSummary[];
  totals: {
    agents: number;
    succeeded: number;
    failed: number;
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cacheCreationTokens: number;
    costUsd: number;
    durationMs: number;
  };
}

function agentSummary(agent: AgentRecord): AgentSummary {
  return {
    id: agent.id,
    sessionId: agent.sessionId,
    status: agent.status,
    result: agent.output?.text ?? null,
    ...(agent.output?.structured !== undefined ? { structuredOutput: agent.output.structured } : {}),
    usage: agent.usage,
    costUsd: agent.costUsd,
    attempts: agent.attempts,
    durationMs: agent.durationMs,
    ...(agent.mcp ? { mcp: agent.mcp } : {}),
    ...(agent.context ? { context: agent.context } : {}),
    ...(agent.role && agent.role !== 'worker' ? { role: agent.role } : {}),
    ...(agent.workspace ? { workspace: agent.workspace } : {}),
    ...(agent.error ? { error: agent.error } : {}),
  };
}

const withMerge = (merge: MergeReport | undefined): { merge?: MergeReport } => (merge ? { merge } : {});

/** Builds the summary from what is stored, so a finished, running or crashed run reads the same. */
export async function summarizeRun(store: Store, runId: string): Promise<RunSummary> {
  const run = await store.getRun(runId);
  if (!run) throw new BatonError(ErrorCodes.runNotFound, `No run with id ${runId}. List runs with: baton runs`);
  const [phases, agents, merges, approvals, denials] = await Promise.all([
    store.listPhases(runId),
    store.listAgents(runId),
    store.listMergeReports(runId),
    store.listApprovals({ runId }),
    store.listAuditEvents({ action: 'tool.denied' }),
  ]);
  const count = (items: Array<{ agentId?: unknown }>, agentId: string): number =>
    items.filter((item) => item.agentId === agentId).length;
  const deniedCalls = denials.filter((event) => event.target === runId).map((event) => event.details);
  const withPermissions = (agent: AgentRecord): AgentSummary => {
    const tally = { asked: count(approvals, agent.id), denied: count(deniedCalls, agent.id) };
    return tally.asked + tally.denied > 0 ? { ...agentSummary(agent), permissions: tally } : agentSummary(agent);
  };
  const waiting = approvals.filter((a) => a.status === 'pending').length;
  const phaseSummaries = phases.map((phase): PhaseSummary => ({
    id: phase.id,
    status: phase.status,
    ...(phase.generation !== undefined ? { generation: phase.generation } : {}),
    ...(phase.parentId !== undefined ? { parentId: phase.parentId } : {}),
    ...(phase.output ? { output: phase.output } : {}),
    ...(phase.error ? { error: phase.error } : {}),
    ...withMerge(merges.find((m) => m.phaseId === phase.id)),
    agents: agents.filter((a) => a.phaseId === phase.id).map(withPermissions),
  }));
  const sum = (pick: (a: AgentRecord) => number): number => agents.reduce((total, a) => total + pick(a), 0);
  const end = run.finishedAt ?? Date.now();
  return {
    runId,
    workflow: run.workflowName,
    status: currentRunStatus(run),
    ...(waiting > 0 ? { waiting } : {}),
    phases: phaseSummaries,
    totals: {
      agents: agents.length,
      succeeded: agents.filter((a) => a.status === 'succeeded').length,
      failed: agents.filter((a) => a.status === 'failed').length,
      inputTokens: sum((a) => a.usage.inputTokens),
      outputTokens: sum((a) => a.usage.outputTokens),
      cacheReadTokens: sum((a) => a.usage.cacheReadTokens),
      cacheCreationTokens: sum((a) => a.usage.cacheCreationTokens),
      costUsd: sum((a) => a.costUsd),
      durationMs: run.startedAt === undefined ? 0 : end - run.startedAt,
    },
  };
}
