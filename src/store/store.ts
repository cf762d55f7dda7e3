import { createHash } from 'node:crypto';
import type {
  AgentOutput,
  AgentTotals,
  ApprovalDecision,
  ApprovalRecord,
  ErrorInfo,
  ListApprovalsOptions,
  ServerRunHealth,
  ToolCall,
  Usage,
} from '../core/index.js';
// Shared value types live in core/; the store keeps re-exporting them for its own callers.
export { addUsage, emptyUsage } from '../core/index.js';
export type { AgentOutput, AgentTotals, ToolCall, ToolPermission, Usage } from '../core/index.js';

/** `interrupted`: its orchestrator stopped before the end (the disk filled up, or it died); `--resume` continues it. */
export type RunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'partial' | 'cancelled' | 'interrupted';
export type PhaseStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'partial' | 'skipped' | 'cancelled';
/** `queued`: handed to `baton worker`s, its job waiting in the queue until a worker takes it (then `running`). */
export type AgentStatus = 'pending' | 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
export type AttemptStatus = 'running' | 'succeeded' | 'failed';
export type SessionStatus = 'created' | 'active' | 'completed' | 'failed' | 'archived';

export interface RunRecord {
  id: string;
  workflowName: string;
  /** Who the run is for: usage and budgets add up per tenant. */
  tenant: string;
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
  /** Higher runs first when agents wait for a slot; absent means 0. */
  priority?: number;
  /** How many times `baton run --resume` continued this run. */
  resumes?: number;
  /**
   * When the orchestrator last recorded that it is alive (`markRunAlive`, while the run is running), so
   * a host that cannot check its pid can still tell a dead one. `saveRun` never changes it.
   */
  aliveAt?: number;
}

export const aggregateStrategies = ['concat', 'merge', 'vote', 'judge', 'reduce'] as const;
export type AggregateStrategy = (typeof aggregateStrategies)[number];

/** What a phase produced: its agents' results combined by its aggregate strategy. */
export interface PhaseOutput {
  strategy: AggregateStrategy | 'single' | 'plan';
  text: string;
  structured?: unknown;
  /** What the strategy found on the way: merge conflicts, vote counts and ties, the judge's agent. */
  details?: Record<string, unknown>;
}

export interface PhaseRecord {
  runId: string;
  id: string;
  status: PhaseStatus;
  startedAt?: number;
  finishedAt?: number;
  /** For phases a planner created: which planning generation (1-based) … */
  generation?: number;
  /** … and the plan phase that created them. */
  parentId?: string;
  /** The phase as planned (a workflow phase spec), so a resumed run can rebuild generated phases. */
  spec?: unknown;
  output?: PhaseOutput;
  /** Why the phase did not run or failed as a whole (a false `when`, an invalid plan). */
  error?: ErrorInfo;
}

/** The git worktree an agent worked in, for `workspace: worktree` phases. */
export interface AgentWorkspace {
  branch: string;
  path: string;
  baseCommit: string;
  /** The commit holding the agent's changes; absent when it changed nothing. */
  commit?: string;
  diffStat: { files: number; insertions: number; deletions: number };
  /**
   * Repositories the agent made inside its worktree (`git init`, `git clone`), by path: their files are
   * committed as the agent's own; their history is not kept.
   */
  embeddedRepositories?: string[];
}

export type AgentRole = 'worker' | 'planner' | 'judge' | 'reducer' | 'resolver';

/** The MCP servers an agent ran with, why, and the ones it had to do without. */
export interface AgentMcpRecord {
  servers: string[];
  chosen: Array<{ name: string; reasons: string[] }>;
  missing: Array<{ name: string; error: ErrorInfo }>;
}

/** What an agent inherited from the agents before it. */
export interface AgentContextRecord {
  mode: 'all' | 'summary' | 'filtered' | 'none';
  /** Ids of the entries (or summaries) it was given. */
  entryIds: string[];
  /** Their versions, in the same order: a keyed fact updated since is shown as the agent was given it. */
  entryVersions?: number[];
  tokens: number;
  /** How many entries were candidates before filtering. */
  considered: number;
  /** Decisions left out because a newer one replaced them: id → the replacement's id. */
  superseded?: Record<string, string>;
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
  context?: AgentContextRecord;
  error?: ErrorInfo;
  startedAt?: number;
  finishedAt?: number;
  /** The workflow agent entry this instance came from (swarms fan one entry out into many). */
  entryId?: string;
  /** Planning generation (1-based) for agents of generated phases and planners. */
  generation?: number;
  /** Position in a `count`/`foreach` fan-out (0-based). */
  index?: number;
  role?: AgentRole;
  workspace?: AgentWorkspace;
}

/** What became of one agent's branch when its phase was merged. */
export type MergeOutcome = 'merged' | 'resolved' | 'skipped';

/** A `verify` command's run: its exit code (null when it was killed: timeout) and the end of its output. */
export interface VerifyResult {
  command: string;
  exitCode: number | null;
  /** The last few thousand characters of stdout and stderr together. */
  outputTail: string;
  durationMs: number;
  timedOut?: boolean;
}

/** One agent's branch in a merge, in merge order. */
export interface MergeStep {
  agentId: string;
  branch: string;
  /** The agent's commit that was merged (absent when it changed nothing). */
  commit?: string;
  outcome: MergeOutcome;
  /** Why it was skipped: `agent-failed`, `no-changes`, `branch-verify-failed`, `conflict`, `unresolved`, `verify-failed`. */
  reason?: string;
  /** The files git could not merge. */
  conflictFiles?: string[];
  /** The resolver agent for a conflict (onConflict: agent) and how it ended. */
  resolver?: { agentId: string; status: AgentStatus };
  /** verifyEach: the command on the agent's own branch. */
  branchVerify?: VerifyResult;
  /** The command on the integration branch after this merge. */
  verify?: VerifyResult;
  /** The integration branch's head after this step. */
  head: string;
}

/** The merge-back of a `workspace: worktree` phase: its integration branch and what happened to each branch. */
export interface MergeReport {
  runId: string;
  phaseId: string;
  status: 'running' | 'succeeded' | 'partial' | 'failed';
  /** The integration branch. */
  into: string;
  /** True once Baton created `into` for this run: only then may it move or reset it. */
  createdBranch: boolean;
  baseCommit: string;
  /** The integration branch's head. */
  head: string;
  /** 1 for the run's own merge, +1 for each `baton merge` that redid it. */
  round: number;
  steps: MergeStep[];
  /** `verifyBatch`: the newest integration head `verify` passed on, and what it said. */
  verified?: { head: string; verify: VerifyResult };
  /** `verifyBatch`: how many times a branch that broke `verify` was left out and the branches after it merged again. */
  rebuilds?: number;
  pr?: { url?: string; exitCode?: number | null; outputTail?: string; skipped?: string };
  error?: ErrorInfo;
  startedAt: number;
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
  /** Set (to `costUsd`) when the attempt ended without Claude Code's cost: Baton priced its tokens at list price. */
  estimatedCostUsd?: number;
  durationMs: number;
  error?: ErrorInfo;
  /** The agent process and its host, so a resumed run can stop one a killed orchestrator left behind. */
  pid?: number;
  host?: string;
}

/** One tool call of one attempt of an agent, previews redacted; saved when it starts and again when it ends. */
/**
 * One MCP server's health over a run as one source saw it: `orchestrator` (the run's own gateway and
 * probes) or a worker as `host:pid` (the gateway it hosts for the run's agents there).
 */
export interface McpHealthRecord extends ServerRunHealth {
  source: string;
}

export interface ToolCallRecord extends ToolCall {
  runId: string;
  agentId: string;
  attempt: number;
}

/** What Baton itself asked a model for: a context summary, or a re-ranking of an agent's candidate facts. */
export const batonCallPurposes = ['summary', 'rerank'] as const;
export type BatonCallPurpose = (typeof batonCallPurposes)[number];

/**
 * One model call Baton made itself, not an agent (the context summarizer's or re-ranker's one-turn
 * `claude`): its spend belongs to the run, so usage, metrics and a resumed run's budget count it.
 */
export interface BatonCallRecord {
  /** The call's Claude session id. */
  id: string;
  runId: string;
  tenant: string;
  purpose: BatonCallPurpose;
  /** The model asked for (the workflow's default model); absent for Claude Code's default. */
  model?: string;
  usage: Usage;
  costUsd: number;
  startedAt: number;
  /** When it ended; while it runs, its start. */
  finishedAt: number;
  /**
   * `running` from its start until it ends (so a call its orchestrator dies in is known), `lost` when
   * the orchestrator died first: closed at `--resume`, its spend unknown (0). Absent once it ended.
   */
  status?: 'running' | 'lost';
  /** Why it is lost. */
  error?: ErrorInfo;
}

export interface SessionRecord {
  /** The Claude Code session UUID. */
  id: string;
  runId: string;
  agentId: string;
  phaseId?: string;
  /** The session this one was forked from, or whose context it inherits. */
  parentId?: string;
  status: SessionStatus;
  createdAt: number;
  updatedAt: number;
  /** After this a finished session may be archived and pruned. */
  expiresAt?: number;
  archivedAt?: number;
}

export interface ListSessionsOptions {
  runId?: string;
  status?: SessionStatus;
  /** Only sessions whose expiresAt is before this. */
  expiredBefore?: number;
  limit?: number;
}

export const contextEntryTypes = ['decision', 'finding', 'file_changed', 'error', 'artifact', 'summary'] as const;
export type ContextEntryType = (typeof contextEntryTypes)[number];

/** A fact an agent produced, kept for the agents after it. */
export interface ContextEntry {
  id: string;
  runId: string;
  sessionId?: string;
  agentId?: string;
  phaseId?: string;
  type: ContextEntryType;
  /** Keyed facts (e.g. `decision/database`) are updated in place, with optimistic concurrency. */
  key?: string;
  content: string;
  tags: string[];
  tokens: number;
  /** 0 = an agent's own entry, 1 = a phase summary, 2 = a run summary. */
  level: 0 | 1 | 2;
  /** For summaries: the entries they summarise (which are kept). */
  summaryOf?: string[];
  /** sha256 of the entry's content fields, checked on every read. */
  checksum: string;
  /** 1 when created; each update of a keyed entry adds 1. */
  version: number;
  createdAt: number;
  updatedAt: number;
}

export interface ContextQuery {
  runId?: string;
  phaseIds?: string[];
  sessionIds?: string[];
  level?: number;
  limit?: number;
}

/** Entries read back, and the ids of those whose checksum did not match (not served). */
export interface ContextListing {
  entries: ContextEntry[];
  corrupt: string[];
}

export interface ContextSearch {
  runId: string;
  /** Free text: entries are ranked by BM25 relevance to it. */
  text: string;
  phaseIds?: string[];
  limit: number;
}

export interface RecentContextQuery {
  runId: string;
  phaseIds: string[];
  level: number;
  /** The newest this many of each entry type. */
  perType: number;
}

export interface ContextHit {
  entry: ContextEntry;
  /** Higher is more relevant; 0 when the entry matched no search term. */
  relevance: number;
}

/** The checksum of an entry's meaning: what it says, not when or where it was stored. */
export function contextChecksum(
  entry: Pick<ContextEntry, 'type' | 'key' | 'content' | 'tags' | 'level' | 'summaryOf'>,
): string {
  const canonical = JSON.stringify([
    entry.type,
    entry.key ?? null,
    entry.content,
    entry.tags,
    entry.level,
    entry.summaryOf ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** One entry of the append-only audit trail: who did what to which target, and when. */
export interface AuditEvent {
  at: number;
  /** user@host of the process that acted. */
  actor: string;
  /** e.g. run.started, run.cancel_requested, config.changed, budget.exceeded, context.imported. */
  action: string;
  /** A run id, session id or file, when the action has one. */
  target?: string;
  details: Record<string, unknown>;
}

export interface ListAuditOptions {
  since?: number;
  action?: string;
  limit?: number;
}

export interface ListRunsOptions {
  limit?: number;
  status?: RunStatus;
  /** Only runs created at or after this time (ms). */
  since?: number;
  tenant?: string;
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
  /** Newest first. */
  listSessions(options?: ListSessionsOptions): Promise<SessionRecord[]>;
  /** Removes the session record (its context entries stay). Returns false when it did not exist. */
  deleteSession(sessionId: string): Promise<boolean>;

  /**
   * Adds an entry, or replaces a keyed one. Replacing needs `expectedVersion` equal to the stored
   * version (optimistic concurrency); a mismatch throws BATON_CONTEXT_CONFLICT and changes nothing.
   * The store sets `checksum` and `version`.
   */
  saveContextEntry(entry: ContextEntry, options?: { expectedVersion?: number }): Promise<ContextEntry>;
  /** Throws BATON_CONTEXT_CORRUPT when the stored entry does not match its checksum. */
  getContextEntry(id: string): Promise<ContextEntry | undefined>;
  getContextEntryByKey(runId: string, key: string): Promise<ContextEntry | undefined>;
  /** In the order entries were first saved. */
  listContextEntries(query: ContextQuery): Promise<ContextListing>;
  /** The most relevant entries to `text` (full-text, BM25), best first. */
  searchContext(query: ContextSearch): Promise<ContextHit[]>;
  /** The newest entries of each type in these phases: with a search, where the best candidates are. */
  recentContext(query: RecentContextQuery): Promise<ContextEntry[]>;

  /** Appends to the audit trail; entries are never changed, only dropped by retention. */
  saveAuditEvent(event: AuditEvent): Promise<void>;
  /** Oldest first. */
  listAuditEvents(options?: ListAuditOptions): Promise<AuditEvent[]>;
  /** Drops entries older than `before` (the retention setting); returns how many. */
  pruneAuditEvents(before: number): Promise<number>;

  /** Marks a run for cancellation. Returns false when the run does not exist. */
  requestCancel(runId: string): Promise<boolean>;
  isCancelRequested(runId: string): Promise<boolean>;
  /** Takes a run's cancel request back: a resumed run is not stopped by the cancel that ended it before. */
  clearCancel(runId: string): Promise<void>;
  /**
   * Claims the next resume of a run that had `seenResumes` resumes (its `resumes`, 0 for none):
   * atomically, so of several processes resuming it at once exactly one gets true and drives it.
   */
  claimResume(runId: string, seenResumes: number): Promise<boolean>;

  close(): Promise<void>;

  /** Upserts a phase's merge report (one per run and phase). */
  saveMergeReport(report: MergeReport): Promise<void>;
  /** In the order reports were first saved. */
  listMergeReports(runId: string): Promise<MergeReport[]>;
  /** Stores a new approval request; one with the same id already stored is kept as it is and returned. */
  saveApproval(request: ApprovalRecord): Promise<ApprovalRecord>;
  getApproval(id: string): Promise<ApprovalRecord | undefined>;
  /** Oldest first. */
  listApprovals(options?: ListApprovalsOptions): Promise<ApprovalRecord[]>;
  /**
   * Answers a pending request, atomically: the first answer wins. Returns the answered request, or
   * undefined when it does not exist or was answered (or expired) already.
   */
  saveApprovalDecision(decision: ApprovalDecision): Promise<ApprovalRecord | undefined>;
  /** Upserts a tool call by run, agent, attempt and `seq`. */
  saveToolCall(call: ToolCallRecord): Promise<void>;
  /** Ordered by start time, then agent id, attempt and seq. */
  listToolCalls(runId: string, agentId?: string): Promise<ToolCallRecord[]>;
  /** Drops tool calls started before `before` (`tool_call_retention_days`); returns how many. */
  pruneToolCalls(before: number): Promise<number>;
  /** Upserts what one source saw of the run's MCP servers: one record per (run, source, server). */
  saveMcpHealth(runId: string, source: string, health: ServerRunHealth[]): Promise<void>;
  /** Ordered by source, then server name. */
  listMcpHealth(runId: string): Promise<McpHealthRecord[]>;
  /** Records that the run's orchestrator is alive at `at` (`RunRecord.aliveAt`); a no-op for an unknown run. */
  markRunAlive(runId: string, at: number): Promise<void>;
  /** Upserts one of Baton's own model calls by its id. */
  saveBatonCall(call: BatonCallRecord): Promise<void>;
  /** A run's own model calls, ordered by start time, then id. */
  listBatonCalls(runId: string): Promise<BatonCallRecord[]>;
  /**
   * The values a run's keyed entries had before updates replaced them, each as it was saved (its own
   * source, version and checksum; corrupt ones listed apart), oldest first: an agent that inherits the
   * phase of a replaced value, but not the updater's, is given that value.
   */
  listReplacedContext(runId: string): Promise<ContextListing>;
}
