import type { AgentOutput, ErrorInfo, ModelTurn, ToolCall, Usage } from '../core/index.js';
import type { McpLaunchConfig } from '../mcp/index.js';
import type { PermissionPolicy } from '../permissions/index.js';
import type { ToolGate } from './tool-gate.js';

/** Everything one agent execution needs. Plain data: runtimes must not depend on workflow types. */
export interface AgentSpec {
  /** The workflow's agent id, for logs and error messages. */
  agentId: string;
  /** The Claude Code session UUID, chosen by Baton. */
  sessionId: string;
  /** Continue the existing session `sessionId` instead of starting it. */
  resume?: boolean;
  /** Start `sessionId` as a fork of this earlier session: its conversation so far, then `prompt`. */
  forkFrom?: string;
  prompt: string;
  /** Appended to Claude Code's own system prompt (the `claude_code` preset). */
  appendSystemPrompt?: string;
  model?: string;
  cwd: string;
  allowedTools?: string[];
  disallowedTools?: string[];
  /**
   * Every tool call is decided by Baton under these rules (allowedTools and disallowedTools already
   * merged in); without them Claude Code decides with allowedTools alone, as before permissions.
   */
  permissions?: PermissionPolicy & { webhookUrl?: string; askAgainBefore?: number };
  /** Only these servers are given to the agent (`--strict-mcp-config`). */
  mcpServers?: Record<string, McpLaunchConfig>;
  /** The complete environment of the agent process. */
  env: Record<string, string>;
  maxBudgetUsd?: number;
  maxTurns?: number;
  /** JSON Schema: ask the agent for structured output. */
  outputSchema?: Record<string, unknown>;
}

/** An error from one attempt, with whether trying again could help. */
export interface AttemptError extends ErrorInfo {
  transient: boolean;
}

/** What one execution of an agent produced. */
export interface AttemptOutcome {
  status: 'succeeded' | 'failed';
  /** The runtime created the session, so a retry can resume it instead of starting over. */
  sessionStarted: boolean;
  output?: AgentOutput;
  usage: Usage;
  costUsd: number;
  /** Set (to `costUsd`) when the attempt ended without Claude Code's cost: Baton priced its tokens at list price. */
  estimatedCostUsd?: number;
  turns: number;
  durationMs: number;
  /** How long the agent process took to start (spawn to ready), when the runtime knows. */
  startupMs?: number;
  error?: AttemptError;
  /** The attempt's tool calls in the order the agent asked for them (runtimes that see them). */
  toolCalls?: ToolCall[];
}

/**
 * Runs one agent attempt. Implementations: the real Claude Code runtime (Agent SDK) and an
 * in-process fake for unit tests; both pass the same contract suite.
 *
 * `signal` aborting means stop now: the runtime kills whatever it started before resolving, and
 * resolves (never rejects) with a failed outcome.
 */
/** What a runtime reports while an attempt runs. */
export interface AttemptObserver {
  /** The agent's process started (runtimes without processes never call it). */
  spawned?(pid: number): void;
  /** Decides each tool call (rules, and a person for an `ask`); without it the rules alone decide. */
  toolGate?: ToolGate;
  /** A tool call started or finished (the same `seq` again, with its result). */
  toolCall?(call: ToolCall): void;
  /** A model turn started or ended (the same `index` again, finished). */
  modelTurn?(turn: ModelTurn): void;
}

export interface AgentRuntime {
  readonly name: string;
  execute(spec: AgentSpec, signal: AbortSignal, observer?: AttemptObserver): Promise<AttemptOutcome>;
  /** Resolves once every process the runtime started has exited. */
  close(): Promise<void>;
  /** Optional session pool: start the agent's process ahead of its task; false when the pool is full. */
  prewarm?(spec: AgentSpec): boolean;
  /** How many more agents `prewarm` would take now. */
  readonly warmCapacity?: number;
}
