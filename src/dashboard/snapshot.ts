import { systemClock, type Clock } from '../core/index.js';
import { mergeRunHealth, type MergedServerHealth } from '../mcp/index.js';
import { currentRunStatus, listAgentsWithSpend } from '../orchestrator/index.js';
import type { AgentRecord, RunStatus, Store } from '../store/index.js';
import { workflowSchema } from '../workflow/index.js';
import { agentActivity, type AgentActivity } from './activity.js';

/** What the dashboards show of one run: plain data, read from the store. */
export interface DashboardSnapshot {
  runId: string;
  workflow: string;
  status: RunStatus;
  agents: number;
  active: number;
  /** Agents not started yet: waiting for a slot (`pending`) or for a worker (`queued`). */
  queued: number;
  succeeded: number;
  failed: number;
  /** Succeeded / finished, 0..1; undefined before any agent finished. */
  successRate?: number;
  avgDurationMs?: number;
  /** Each MCP server's health over the run so far, as `baton status` shows it (merged over every source). */
  mcp: MergedServerHealth[];
  contextBytes: number;
  contextLimitBytes: number;
  tokens: number;
  costUsd: number;
  budgetUsd?: number;
  /** Requests of this run waiting for a person, oldest first. */
  waiting: Array<{ id: string; who: string; summary: string; deadline: number }>;
  /** What each running agent is doing now. */
  running: AgentActivity[];
}

const finished = (a: AgentRecord): boolean => ['succeeded', 'failed', 'cancelled', 'skipped'].includes(a.status);

export async function dashboardSnapshot(
  store: Store,
  runId: string,
  contextLimitBytes: number,
  clock: Clock = systemClock,
): Promise<DashboardSnapshot | undefined> {
  const run = await store.getRun(runId);
  if (!run) return undefined;
  const [agents, context, pending, calls, health, ownCalls] = await Promise.all([
    listAgentsWithSpend(store, runId),
    store.listContextEntries({ runId, level: 0 }),
    store.listApprovals({ runId, status: 'pending' }),
    store.listToolCalls(runId),
    store.listMcpHealth(runId),
    store.listBatonCalls(runId),
  ]);
  // What the run spent against its budget: its agents' and Baton's own model calls' (summaries, re-ranking).
  const spending = [...agents, ...ownCalls];
  const done = agents.filter(finished);
  const succeeded = agents.filter((a) => a.status === 'succeeded').length;
  const failed = agents.filter((a) => a.status === 'failed').length;
  const workflow = workflowSchema.safeParse(run.workflow);
  const ran = done.filter((a) => a.attempts > 0);
  // A killed orchestrator leaves its agents and calls stored as running; nothing runs them now.
  const status = currentRunStatus(run);
  const live = status === 'running';
  return {
    runId,
    workflow: run.workflowName,
    status,
    agents: agents.length,
    active: live ? agents.filter((a) => a.status === 'running').length : 0,
    queued: agents.filter((a) => a.status === 'pending' || a.status === 'queued').length,
    succeeded,
    failed,
    ...(succeeded + failed > 0 ? { successRate: succeeded / (succeeded + failed) } : {}),
    ...(ran.length > 0 ? { avgDurationMs: ran.reduce((sum, a) => sum + a.durationMs, 0) / ran.length } : {}),
    mcp: mergeRunHealth(health),
    contextBytes: context.entries.reduce((sum, e) => sum + Buffer.byteLength(e.content), 0),
    contextLimitBytes,
    tokens: spending.reduce((sum, a) => sum + a.usage.inputTokens + a.usage.outputTokens, 0),
    costUsd: spending.reduce((sum, a) => sum + a.costUsd, 0),
    ...(workflow.success && workflow.data.budgetUsd !== undefined ? { budgetUsd: workflow.data.budgetUsd } : {}),
    waiting: pending.map((request) => ({
      id: request.id,
      who: request.agentId ? `agent ${request.agentId}` : `phase ${request.phaseId ?? '?'}`,
      summary: request.summary,
      deadline: request.deadline,
    })),
    running: live ? agentActivity(agents, calls, clock.now()) : [],
  };
}
