import {
  TypedEmitter,
  type ApprovalRecord,
  type ErrorCode,
  type ErrorInfo,
  type ModelTurn,
  type ToolCall,
  type Usage,
} from '../core/index.js';
import type { AgentStatus, BatonCallRecord, MergeStep, PhaseStatus, RunStatus } from '../store/index.js';
import type { RunSummary } from './summary.js';

/**
 * Everything a run tells its subscribers (CLI progress, dashboards, metrics, audit). The path of one
 * agent: agent.queued → (agent.mcp) → agent.started → agent.attempt / agent.turn… / agent.tool… / agent.attempt.finished per
 * attempt → agent.finished; hooks that observe an agent subscribe here rather than into the path.
 */
export interface RunEventMap extends Record<string, unknown> {
  /** `agents` counts those known at the start (a foreach over a phase's output adds more later). */
  'run.started': { runId: string; workflowName: string; agents: number; resumed?: boolean; reused?: number };
  /** A resumed run kept this agent's stored result instead of running it again. */
  'agent.reused': { runId: string; phaseId: string; agentId: string; status: AgentStatus };
  /** A planner answered: how many tasks its next generation has, or that it is done. */
  'plan.generation': { runId: string; phaseId: string; generation: number; tasks: number; done: boolean };
  /** An agent's worktree could not be committed or removed; its result stands. */
  'agent.workspace.failed': { runId: string; agentId: string; error: ErrorInfo };
  'phase.started': { runId: string; phaseId: string };
  /** An agent is ready to run and waits for a slot under parallel_limit. */
  'agent.queued': { runId: string; phaseId: string; agentId: string };
  'agent.started': {
    runId: string;
    phaseId: string;
    agentId: string;
    sessionId: string;
    /** What it inherited: entries, tokens, from how many phases, and how long the selection took. */
    inherited: { entries: number; tokens: number; phases: number; queryMs: number };
    /** Handed to `baton worker`s: its job waits in the queue until a worker takes it. */
    queued?: true;
  };
  'agent.mcp': {
    runId: string;
    phaseId: string;
    agentId: string;
    servers: string[];
    missing: Array<{ name: string; error: ErrorInfo }>;
  };
  'context.added': { runId: string; phaseId: string; agentId: string; entries: number; tokens: number };
  'context.corrupt': { runId: string; agentId: string; entryIds: string[] };
  /** One of Baton's own model calls (a context summary, a re-ranking) ended and was stored, with what it spent. */
  'context.model_call': { runId: string; call: BatonCallRecord };
  'agent.attempt': { runId: string; phaseId: string; agentId: string; attempt: number; resumed: boolean };
  'agent.attempt.finished': {
    runId: string;
    phaseId: string;
    agentId: string;
    attempt: number;
    status: 'succeeded' | 'failed';
    startupMs?: number;
    errorCode?: ErrorCode;
  };
  /**
   * An attempt a dead orchestrator or worker left running, closed as lost at the start of `--resume`
   * (or by the worker that took up a dead worker's job): from its stored start to when it was found lost.
   */
  'agent.attempt.lost': {
    runId: string;
    agentId: string;
    attempt: number;
    startedAt: number;
    finishedAt: number;
    errorCode: ErrorCode;
  };
  /** A tool call of an agent started (`status: running`) or ended; previews redacted. */
  'agent.tool': { runId: string; phaseId: string; agentId: string; attempt: number; call: ToolCall };
  /** A model turn of an agent started (`status: running`) or ended: ids, model names and token counts only. */
  'agent.turn': { runId: string; phaseId: string; agentId: string; attempt: number; turn: ModelTurn };
  'agent.finished': {
    runId: string;
    phaseId: string;
    agentId: string;
    status: AgentStatus;
    durationMs: number;
    attempts: number;
    costUsd: number;
    usage: Usage;
    model?: string;
    error?: ErrorInfo;
  };
  /**
   * The run has spent 80 % of a budget (once per budget): its USD budget, or what was left of the
   * tenant's daily tokens (`limit: 'tokens'`).
   */
  'budget.warning': { runId: string; spentUsd: number; spentTokens: number } & (
    { limit: 'usd'; budgetUsd: number } | { limit: 'tokens'; budgetTokens: number }
  );
  /**
   * The run has spent all of a budget and is stopped: its USD budget (`budgetUsd`, or what is left of
   * the tenant's daily dollars), or what was left of the tenant's daily tokens (`limit: 'tokens'`).
   * With `limit: 'agent'`, one agent spent its own cap (its maxBudgetUsd, or what was left of the run's
   * budget when it started) and was stopped, BATON_AGENT_BUDGET_EXCEEDED; the run goes on. Spend is then the agent's.
   */
  'budget.exceeded': { runId: string; spentUsd: number; spentTokens: number } & (
    | { limit: 'usd'; budgetUsd: number }
    | { limit: 'tokens'; budgetTokens: number }
    | { limit: 'agent'; agentId: string; budgetUsd: number }
  );
  /** One agent's branch of a `merge:` phase was merged, resolved or skipped (recorded in its merge report). */
  'merge.step': { runId: string; phaseId: string; into: string; step: MergeStep };
  /** A tool call or phase gate of the run waits for a person (seen in the store, so a worker's too); once per request. */
  'approval.requested': { runId: string; request: ApprovalRecord };
  'phase.finished': { runId: string; phaseId: string; status: PhaseStatus };
  'run.finished': { runId: string; status: RunStatus; summary: RunSummary };
}

export class RunEvents extends TypedEmitter<RunEventMap> {}
