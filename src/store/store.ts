import type { ErrorInfo } from '../core/index.js';

/** Token counts as the model reported them. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}

export const emptyUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 });

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheCreationTokens: a.cacheCreationTokens + b.cacheCreationTokens,
  };
}

export type RunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'partial' | 'cancelled';
export type PhaseStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'partial' | 'skipped' | 'cancelled';
export type AgentStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
export type AttemptStatus = 'running' | 'succeeded' | 'failed';
export type SessionStatus = 'created' | 'active' | 'completed' | 'failed';

/** What an agent produced. */
export interface AgentOutput {
  text: string;
  /** Present when the agent was asked for a JSON schema. */
  structured?: unknown;
}

export interface RunRecord {
  id: string;
  workflowName: string;
  /** Absolute path of the workflow file, when it came from one. */
  workflowPath?: string;
  /** The validated workflow, as JSON, so a run can be inspected (and later resumed) without the file. */
  workflow: unknown;
  status: RunStatus;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** Process id and host of the orchestrator, so `baton cancel` can signal it. */
  pid?: number;
  host?: string;
  error?: ErrorInfo;
}

export interface PhaseRecord {
  runId: string;
  id: string;
  status: PhaseStatus;
  startedAt?: number;
  finishedAt?: number;
}

/** What running an agent added up to, over all its attempts. */
export interface AgentTotals {
  /** Summed over all attempts: a failed attempt still cost tokens. */
  usage: Usage;
  costUsd: number;
  turns: number;
  attempts: number;
  durationMs: number;
}

/** The MCP servers an agent ran with, why, and the ones it had to do without. */
export interface AgentMcpRecord {
  servers: string[];
  chosen: Array<{ name: string; reasons: string[] }>;
  missing: Array<{ name: string; error: ErrorInfo }>;
}

export interface AgentRecord extends AgentTotals {
  runId: string;
  phaseId: string;
  id: string;
  sessionId: string;
  status: AgentStatus;
  prompt: string;
  /** The text Baton appended to the Claude Code system prompt. */
  systemPrompt: string;
  model?: string;
  output?: AgentOutput;
  mcp?: AgentMcpRecord;
  error?: ErrorInfo;
  startedAt?: number;
  finishedAt?: number;
}

export interface AttemptRecord {
  runId: string;
  agentId: string;
  /** 1-based. */
  attempt: number;
  status: AttemptStatus;
  /** True when this attempt resumed the Claude session of an earlier one. */
  resumed: boolean;
  startedAt: number;
  finishedAt?: number;
  usage: Usage;
  costUsd: number;
  durationMs: number;
  error?: ErrorInfo;
}

export interface SessionRecord {
  /** The Claude Code session UUID. */
  id: string;
  runId: string;
  agentId: string;
  parentId?: string;
  status: SessionStatus;
  createdAt: number;
  updatedAt: number;
}

export interface ListRunsOptions {
  limit?: number;
  status?: RunStatus;
}

/**
 * Durable storage for everything a run produces. Writes are committed before they return, so an
 * orchestrator killed at any moment loses nothing it had already saved.
 *
 * `save*` methods upsert the whole record by its key. Cancellation is a separate flag that only
 * `requestCancel` writes, so an orchestrator saving its run never overwrites a cancel from elsewhere.
 */
export interface Store {
  readonly kind: string;

  saveRun(run: RunRecord): Promise<void>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Newest first. */
  listRuns(options?: ListRunsOptions): Promise<RunRecord[]>;

  savePhase(phase: PhaseRecord): Promise<void>;
  /** In the order phases were first saved. */
  listPhases(runId: string): Promise<PhaseRecord[]>;

  saveAgent(agent: AgentRecord): Promise<void>;
  getAgent(runId: string, agentId: string): Promise<AgentRecord | undefined>;
  /** In the order agents were first saved. */
  listAgents(runId: string): Promise<AgentRecord[]>;

  saveAttempt(attempt: AttemptRecord): Promise<void>;
  /** Ordered by agent (first-saved order) then attempt number. */
  listAttempts(runId: string, agentId?: string): Promise<AttemptRecord[]>;

  saveSession(session: SessionRecord): Promise<void>;
  getSession(sessionId: string): Promise<SessionRecord | undefined>;

  /** Marks a run for cancellation. Returns false when the run does not exist. */
  requestCancel(runId: string): Promise<boolean>;
  isCancelRequested(runId: string): Promise<boolean>;

  close(): Promise<void>;
}
