import {
  addUsage,
  BatonError,
  emptyUsage,
  ErrorCodes,
  estimatedCostOf,
  type ApprovalRecord,
  type ErrorInfo,
} from '../core/index.js';
import { currentRunStatus } from './resume.js';
import { listAgentsWithSpend } from './spend-so-far.js';
import type {
  BatonCallRecord,
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

/**
 * What `baton status` shows of a run whose orchestrator is gone (`interrupted`): what it left `running`
 * runs no more (nothing will record its end until `--resume`), so it reads `interrupted`.
 */
export type ShownStatus<S extends string> = S | 'interrupted';

/** One agent in `baton run --json` / `baton status --json`. */
export interface AgentSummary {
  id: string;
  sessionId: string;
  /** `interrupted`: it was running when the run's orchestrator stopped (see `RunSummary.status`). */
  status: ShownStatus<AgentStatus>;
  /** The agent's final text, or null when it produced none. */
  result: string | null;
  /** Present when the agent was asked for a JSON schema. */
  structuredOutput?: unknown;
  usage: Usage;
  costUsd: number;
  /** The part of `costUsd` Baton estimated: attempts cut off before Claude Code reported their cost. */
  estimatedCostUsd?: number;
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
  status: ShownStatus<PhaseStatus>;
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
  /** Whom the run is for: usage, budgets and concurrency limits add up per tenant. */
  tenant: string;
  /** Higher runs first when agents wait for a slot (0 unless the workflow or `--priority` set one). */
  priority: number;
  status: RunStatus;
  /** Requests (tool calls, phase gates) waiting for a person right now. */
  waiting?: number;
  phases: PhaseSummary[];
  /** Baton's own model calls for the run (context summaries, re-ranking), when it made any: already in `totals`. */
  batonCalls?: BatonCallsSummary;
  /** Everything the run spent: its agents' and Baton's own model calls'. */
  totals: {
    agents: number;
    succeeded: number;
    failed: number;
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cacheCreationTokens: number;
    costUsd: number;
    /** The part of `costUsd` Baton estimated (see `AgentSummary.estimatedCostUsd`). */
    estimatedCostUsd?: number;
    durationMs: number;
  };
}

/** What Baton's own model calls for a run spent, in all and per purpose. */
export interface BatonCallsSummary extends Usage {
  calls: number;
  costUsd: number;
  byPurpose: Partial<Record<BatonCallRecord['purpose'], { calls: number; costUsd: number }>>;
}

/** Sums a run's own model calls; undefined when there were none. */
export function summarizeBatonCalls(calls: BatonCallRecord[]): BatonCallsSummary | undefined {
  if (calls.length === 0) return undefined;
  const summary: BatonCallsSummary = { ...emptyUsage(), calls: 0, costUsd: 0, byPurpose: {} };
  for (const call of calls) {
    Object.assign(summary, addUsage(summary, call.usage));
    summary.calls += 1;
    summary.costUsd += call.costUsd;
    const purpose = summary.byPurpose[call.purpose] ?? { calls: 0, costUsd: 0 };
    summary.byPurpose[call.purpose] = { calls: purpose.calls + 1, costUsd: purpose.costUsd + call.costUsd };
  }
  return summary;
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
    ...estimatedCostOf([agent]),
    attempts: agent.attempts,
    durationMs: agent.durationMs,
    ...(agent.mcp ? { mcp: agent.mcp } : {}),
    ...(agent.context ? { context: agent.context } : {}),
    ...(agent.role && agent.role !== 'worker' ? { role: agent.role } : {}),
    ...(agent.workspace ? { workspace: agent.workspace } : {}),
    ...(agent.error ? { error: agent.error } : {}),
  };
}

/** How a record's status reads in a run of this status: `running` is `interrupted` once the orchestrator is gone. */
export const shownStatus =
  (runStatus: RunStatus) =>
  <S extends string>(status: S): ShownStatus<S> =>
    runStatus === 'interrupted' && status === 'running' ? 'interrupted' : status;

const withMerge = (merge: MergeReport | undefined): { merge?: MergeReport } => (merge ? { merge } : {});

/** Statuses after which an agent or phase asks nothing more (a cancelled one resumes, and finds its answer). */
const ended = new Set(['succeeded', 'failed', 'partial', 'skipped']);

/**
 * Whether the agent or phase gate that asked has ended without the answer (it finished without asking
 * again after a resume, or timed out): its request stays pending, but nobody waits on it.
 */
function askerEnded(
  request: ApprovalRecord,
  agents: ReadonlyArray<{ id: string; status: string }>,
  phases: ReadonlyArray<{ id: string; status: string }>,
): boolean {
  const asker = request.agentId
    ? agents.find((a) => a.id === request.agentId)
    : phases.find((p) => p.id === request.phaseId);
  return asker !== undefined && ended.has(asker.status);
}

/** Builds the summary from what is stored, so a finished, running or crashed run reads the same. */
export async function summarizeRun(store: Store, runId: string): Promise<RunSummary> {
  const run = await store.getRun(runId);
  if (!run) throw new BatonError(ErrorCodes.runNotFound, `No run with id ${runId}. List runs with: baton runs`);
  const [phases, agents, merges, approvals, denials, ownCalls] = await Promise.all([
    store.listPhases(runId),
    listAgentsWithSpend(store, runId),
    store.listMergeReports(runId),
    store.listApprovals({ runId }),
    store.listAuditEvents({ action: 'tool.denied' }),
    store.listBatonCalls(runId),
  ]);
  const count = (items: Array<{ agentId?: unknown }>, agentId: string): number =>
    items.filter((item) => item.agentId === agentId).length;
  const deniedCalls = denials.filter((event) => event.target === runId).map((event) => event.details);
  const withPermissions = (agent: AgentRecord): AgentSummary => {
    const tally = { asked: count(approvals, agent.id), denied: count(deniedCalls, agent.id) };
    return tally.asked + tally.denied > 0 ? { ...agentSummary(agent), permissions: tally } : agentSummary(agent);
  };
  const waiting = approvals.filter((a) => a.status === 'pending' && !askerEnded(a, agents, phases)).length;
  const status = currentRunStatus(run);
  const shown = shownStatus(status);
  const phaseSummaries = phases.map((phase): PhaseSummary => ({
    id: phase.id,
    status: shown(phase.status),
    ...(phase.generation !== undefined ? { generation: phase.generation } : {}),
    ...(phase.parentId !== undefined ? { parentId: phase.parentId } : {}),
    ...(phase.output ? { output: phase.output } : {}),
    ...(phase.error ? { error: phase.error } : {}),
    ...withMerge(merges.find((m) => m.phaseId === phase.id)),
    agents: agents
      .filter((a) => a.phaseId === phase.id)
      .map((agent) => ({ ...withPermissions(agent), status: shown(agent.status) })),
  }));
  const batonCalls = summarizeBatonCalls(ownCalls);
  // What the run spent: each agent's, and Baton's own calls' (one sum of their usage).
  const spending = [...agents, ...(batonCalls ? [{ usage: batonCalls, costUsd: batonCalls.costUsd }] : [])];
  const sum = (pick: (s: { usage: Usage; costUsd: number }) => number): number =>
    spending.reduce((total, s) => total + pick(s), 0);
  const end = run.finishedAt ?? Date.now();
  return {
    runId,
    workflow: run.workflowName,
    tenant: run.tenant,
    priority: run.priority ?? 0,
    status,
    ...(waiting > 0 ? { waiting } : {}),
    phases: phaseSummaries,
    ...(batonCalls ? { batonCalls } : {}),
    totals: {
      agents: agents.length,
      succeeded: agents.filter((a) => a.status === 'succeeded').length,
      failed: agents.filter((a) => a.status === 'failed').length,
      inputTokens: sum((a) => a.usage.inputTokens),
      outputTokens: sum((a) => a.usage.outputTokens),
      cacheReadTokens: sum((a) => a.usage.cacheReadTokens),
      cacheCreationTokens: sum((a) => a.usage.cacheCreationTokens),
      costUsd: sum((a) => a.costUsd),
      ...estimatedCostOf(agents),
      durationMs: run.startedAt === undefined ? 0 : end - run.startedAt,
    },
  };
}
