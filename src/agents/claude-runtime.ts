import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type {
  Options,
  Query,
  SDKResultMessage,
  SpawnOptions,
  SpawnedProcess,
  WarmQuery,
} from '@anthropic-ai/claude-agent-sdk';
import { ErrorCodes, processGroupExited, signalProcessGroup, systemClock, type Usage } from '../core/index.js';
import { abortError, classifyResult } from './classify.js';
import { bundledClaude } from './claude-executable.js';
import { ClaudePermissions } from './claude-permissions.js';
import { ModelRelay, RateLimitGate } from './rate-limit.js';
import { agentReaper, ProcessTreeMark } from './reaper.js';
import { StreamIdleWatch } from './stream-watch.js';
import type { AgentRuntime, AgentSpec, AttemptError, AttemptObserver, AttemptOutcome } from './runtime.js';
import { ModelTurnTracker, TurnNumbers } from './model-turns.js';
import { ToolCallTracker } from './tool-calls.js';
import { ownCostUsd, restoredSessionCostUsd, sessionTranscriptExists } from './session-cost.js';

/** How long a killed agent gets to exit after SIGTERM before its process group gets SIGKILL. */
const KILL_GRACE_MS = 1000;
const STDERR_TAIL_BYTES = 4000;

export interface ClaudeRuntimeOptions {
  /** A `claude` executable to use instead of the one bundled with the Agent SDK. */
  claudePath?: string;
  /** Most agent processes kept started and initialized ahead of their task (`prewarm`); 0 disables it. */
  poolSize?: number;
  /** `stream_idle_timeout_ms`: a model response silent this long mid-stream is a stalled connection. */
  streamIdleTimeoutMs?: number;
  /** Route model traffic through a loopback relay that reads Retry-After (default true). */
  relayModelTraffic?: boolean;
}

/** The default of `stream_idle_timeout_ms`, for runtimes built without a config. */
const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 60_000;

/** An agent process started ahead of its task: spawned, initialized, waiting for the prompt. */
interface WarmAgent {
  /** Everything but the prompt must match for the task to use this process. */
  key: string;
  process: AgentProcess;
  abortController: AbortController;
  ready: Promise<WarmQuery>;
}

/** The parts of a spec fixed when the process starts: everything but the prompt. */
const warmKey = ({ prompt: _prompt, ...fixed }: AgentSpec): string => JSON.stringify(fixed);

/** One attempt's agent process and what watches it. */
interface Attempt {
  process: AgentProcess;
  abortController: AbortController;
  idleWatch: StreamIdleWatch;
  tools: ToolCallTracker;
  turns: ModelTurnTracker;
  /** The prompt's query, when the attempt runs on a prewarmed process. */
  warmQuery?: Query;
  startedAt: number;
  /** Stops following the caller's abort signal. */
  stopListening: () => void;
}

/** What an attempt's message stream showed. */
interface AttemptStream {
  result?: SDKResultMessage;
  sessionStarted: boolean;
  /** The session cost Claude Code restores on resume, which its result reports again. */
  restoredUsd: number;
  startupMs?: number;
  /** What the SDK threw, if it did. */
  thrown?: unknown;
  assistantError?: string;
}

/**
 * A Claude Code process started by Baton in its own process group, so the agent and everything it
 * started (MCP servers, shell commands) can be killed together: the kill switch leaves no orphans.
 */
class AgentProcess {
  child?: ChildProcess;
  stderrTail = '';
  private killTimer?: NodeJS.Timeout;
  /** Baton's decision on each tool call, when the spec has permission rules. */
  readonly permissions?: ClaudePermissions;

  constructor(
    spec: AgentSpec,
    private readonly observer?: AttemptObserver,
  ) {
    if (spec.permissions)
      this.permissions = new ClaudePermissions(spec.permissions, { cwd: spec.cwd, home: spec.env.HOME });
  }

  spawn = (options: SpawnOptions): SpawnedProcess => {
    agentReaper.ready();
    // In the agent's environment, so what leaves its group (a `setsid` in a Bash command, a private
    // MCP server's daemon) is still known as the agent's: killed when it exits, or by the watchdog.
    const mark = new ProcessTreeMark('BATON_AGENT_PROCESS_ID');
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: { ...options.env, ...mark.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    // The SDK's own grace period is several seconds; our kill switch must be faster.
    options.signal?.addEventListener('abort', () => this.kill(), { once: true });
    child.once('exit', () => {
      this.signalGroup('SIGKILL');
      mark.kill();
      if (child.pid !== undefined) agentReaper.release(child.pid);
      mark.release();
    });
    this.child = child;
    if (child.pid !== undefined) {
      agentReaper.watch(child.pid);
      this.observer?.spawned?.(child.pid);
    }
    // Cancelled while it was being started (a worker stopping): that signal will never fire 'abort'.
    if (options.signal?.aborted) this.kill();
    return child;
  };

  kill(): void {
    if (!this.child || this.killTimer) return;
    this.signalGroup('SIGTERM');
    this.killTimer = setTimeout(() => this.signalGroup('SIGKILL'), KILL_GRACE_MS);
    this.killTimer.unref();
  }

  /**
   * Waits until the agent process and everything in its process group have exited (immediately if
   * it never started): SIGKILL is delivered asynchronously, so a grandchild can outlive `exit` by a moment.
   */
  async exited(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null)
      await new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.pid !== undefined) await processGroupExited(child.pid, GROUP_EXIT_WAIT_MS);
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid !== undefined) signalProcessGroup(pid, signal);
  }
}

/** How long to wait for a killed process group's last members to go. */
const GROUP_EXIT_WAIT_MS = 3000;

/**
 * This process's tokens: the result's count, or what the stream showed of each response where that is
 * more. A result that ends the attempt early (`error_max_budget_usd`) reports none of the responses it
 * priced.
 */
function usageOf(result: SDKResultMessage, streamed: Usage): Usage {
  const u = result.usage;
  return {
    inputTokens: Math.max(u.input_tokens ?? 0, streamed.inputTokens),
    outputTokens: Math.max(u.output_tokens ?? 0, streamed.outputTokens),
    cacheReadTokens: Math.max(u.cache_read_input_tokens ?? 0, streamed.cacheReadTokens),
    cacheCreationTokens: Math.max(u.cache_creation_input_tokens ?? 0, streamed.cacheCreationTokens),
  };
}

function sdkOptions(
  spec: AgentSpec,
  runtime: ClaudeRuntimeOptions,
  process: AgentProcess,
  abortController: AbortController,
): Options {
  return {
    ...(spec.resume
      ? { resume: spec.sessionId }
      : spec.forkFrom
        ? { resume: spec.forkFrom, forkSession: true, sessionId: spec.sessionId }
        : { sessionId: spec.sessionId }),
    systemPrompt: { type: 'preset', preset: 'claude_code', append: spec.appendSystemPrompt },
    model: spec.model,
    cwd: spec.cwd,
    // With permission rules Baton decides every call; an SDK allow list would let calls skip it.
    ...(process.permissions
      ? { ...process.permissions.options(), allowedTools: searchToolsOptIn }
      : { allowedTools: spec.allowedTools }),
    disallowedTools: spec.disallowedTools,
    mcpServers: spec.mcpServers,
    // Keeps server env and headers (secrets) off the command line.
    mcpServersDelivery: 'initialize',
    extraArgs: { 'strict-mcp-config': null },
    // Project settings and CLAUDE.md of the working directory apply; the user's global ones do not.
    settingSources: ['project'],
    // A request whose response never starts (no headers) is a stall too: Claude Code's own first-byte
    // timeout (API_TIMEOUT_MS, 10 min by default) ends it as a retryable error; the user's value wins.
    env: { API_TIMEOUT_MS: String(runtime.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS), ...spec.env },
    maxBudgetUsd: spec.maxBudgetUsd,
    maxTurns: spec.maxTurns,
    outputFormat: spec.outputSchema ? { type: 'json_schema', schema: spec.outputSchema } : undefined,
    // Every streamed event, so a response that stops mid-way is seen (StreamIdleWatch).
    includePartialMessages: true,
    pathToClaudeCodeExecutable: runtime.claudePath ?? bundledClaude(),
    abortController,
    spawnClaudeCodeProcess: process.spawn,
  };
}

/**
 * Claude Code offers Glob and Grep only to a session whose allow list names them (otherwise it tells
 * the model to run `find`/`grep` through Bash). The entries name a path under /dev/null, which no
 * call can match, so they approve nothing: every call still reaches Baton's gate (a bare `Glob` would
 * also, through the PreToolUse hook, but the SDK warns on every agent that it shadows canUseTool).
 */
const searchToolsOptIn = ['Glob(//dev/null/baton-offers-search)', 'Grep(//dev/null/baton-offers-search)'];

/** Runs agents as real headless Claude Code processes through the official Agent SDK. */
export class ClaudeRuntime implements AgentRuntime {
  readonly name = 'claude';

  /** Agents whose result is in but whose process is still shutting down. */
  private readonly exiting = new Set<Promise<void>>();
  /** Agent processes of attempts still running, so close() can stop them (a worker's shutdown). */
  private readonly running = new Set<AgentProcess>();
  /** When each model may be asked again after a 429/529, shared by every agent of this runtime. */
  private readonly rateLimits = new RateLimitGate();
  /** One relay per upstream base URL, started on first use. */
  private readonly relays = new Map<string, { relay: ModelRelay; url: Promise<string> }>();
  /** Processes started ahead of their task, by session id. */
  private readonly warm = new Map<string, WarmAgent>();

  constructor(private readonly options: ClaudeRuntimeOptions = {}) {}

  /** How many more agents `prewarm` would start now. */
  get warmCapacity(): number {
    return Math.max(0, (this.options.poolSize ?? 0) - this.warm.size);
  }

  /**
   * Starts the agent's process now — spawn, module load, MCP servers, the initialize handshake — so
   * that `execute` with the same spec only has to send the prompt (the Agent SDK's `startup()`).
   * Returns false when the pool is full. A spare that dies is dropped and `execute` starts cold.
   */
  prewarm(spec: AgentSpec): boolean {
    if (this.warmCapacity === 0 || this.warm.has(spec.sessionId)) return false;
    const agentProcess = new AgentProcess(spec);
    const abortController = new AbortController();
    const ready = Promise.all([import('@anthropic-ai/claude-agent-sdk'), this.routed(spec)]).then(
      ([{ startup }, routed]) => startup({ options: sdkOptions(routed, this.options, agentProcess, abortController) }),
    );
    const warm: WarmAgent = { key: warmKey(spec), process: agentProcess, abortController, ready };
    this.warm.set(spec.sessionId, warm);
    ready.catch(() => this.warm.get(spec.sessionId) === warm && this.warm.delete(spec.sessionId));
    return true;
  }

  /** Resolves once a prewarmed agent is ready for its prompt (false if it failed to start). */
  async warmed(sessionId: string): Promise<boolean> {
    const warm = this.warm.get(sessionId);
    return warm
      ? warm.ready.then(
          () => true,
          () => false,
        )
      : false;
  }

  /**
   * Waits until every agent process this runtime started has exited; spares never used and agents
   * still running (their attempts end as crashed) are stopped.
   */
  async close(): Promise<void> {
    for (const [sessionId, warm] of this.warm) {
      this.warm.delete(sessionId);
      warm.process.kill();
      this.exiting.add(warm.process.exited());
    }
    for (const agentProcess of this.running) {
      agentProcess.kill();
      this.exiting.add(agentProcess.exited());
    }
    await Promise.all([...this.exiting]);
    // A runtime may be used again after close(): its next agent starts a new relay.
    const relays = [...this.relays.values()];
    this.relays.clear();
    await Promise.all(relays.map(({ relay }) => relay.close()));
  }

  /**
   * The spec with its model traffic sent through the relay for its base URL. Bedrock and Vertex go
   * direct, and so does an agent given a proxy for its base URL: the relay would bypass the proxy.
   */
  private async routed(spec: AgentSpec): Promise<AgentSpec> {
    const env = spec.env;
    const upstream = env.ANTHROPIC_BASE_URL || 'https://api.anthropic.com';
    const proxy = upstream.startsWith('https:') ? env.HTTPS_PROXY || env.https_proxy : env.HTTP_PROXY || env.http_proxy;
    if (this.options.relayModelTraffic === false || env.CLAUDE_CODE_USE_BEDROCK || env.CLAUDE_CODE_USE_VERTEX || proxy)
      return spec;
    let entry = this.relays.get(upstream);
    if (!entry) {
      const relay = new ModelRelay(upstream, this.rateLimits);
      entry = { relay, url: relay.start() };
      this.relays.set(upstream, entry);
    }
    return { ...spec, env: { ...env, ANTHROPIC_BASE_URL: await entry.url } };
  }

  /** The prompt's query on a prewarmed process for this spec, when there is a ready one. */
  private async claimWarm(
    spec: AgentSpec,
    observer?: AttemptObserver,
  ): Promise<{ query: Query; process: AgentProcess; abortController: AbortController } | undefined> {
    const warm = this.warm.get(spec.sessionId);
    if (!warm) return undefined;
    this.warm.delete(spec.sessionId);
    const handle = await warm.ready.catch(() => undefined);
    if (!handle || warm.key !== warmKey(spec)) {
      handle?.close();
      warm.process.kill();
      return undefined;
    }
    const pid = warm.process.child?.pid;
    if (pid !== undefined) observer?.spawned?.(pid);
    return { query: handle.query(spec.prompt), process: warm.process, abortController: warm.abortController };
  }

  async execute(spec: AgentSpec, signal: AbortSignal, observer?: AttemptObserver): Promise<AttemptOutcome> {
    // After a 429/529 with Retry-After, no agent asks that model again before it said to.
    await this.rateLimits.wait(spec.model, signal);
    const continued = spec.resume ? spec.sessionId : spec.forkFrom;
    const restoredUsd = continued ? await restoredSessionCostUsd(continued, spec.cwd, spec.env) : 0;
    const attempt = await this.startAttempt(spec, signal, observer);
    const stream: AttemptStream = { sessionStarted: spec.resume === true, restoredUsd };
    try {
      await this.readMessages(spec, signal, attempt, stream);
    } catch (error) {
      // The SDK throws after an error result too; the result message says more than the exception.
      stream.thrown = error;
    } finally {
      await this.endAttempt(attempt, signal, stream.result !== undefined);
    }
    // Claude Code may not have written the session's transcript yet when its process is killed early
    // (in its first model request): then there is nothing to resume, and a retry starts the task over.
    if (stream.sessionStarted && !stream.result)
      stream.sessionStarted = await sessionTranscriptExists(spec.sessionId, spec.cwd, spec.env);
    return this.outcomeOf(attempt, stream, signal);
  }

  private get streamIdleTimeoutMs(): number {
    return this.options.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS;
  }

  /** The attempt's process (a prewarmed one when ready), stopped when `signal` aborts or the model stream stalls. */
  private async startAttempt(spec: AgentSpec, signal: AbortSignal, observer?: AttemptObserver): Promise<Attempt> {
    const startedAt = Date.now();
    const claimed = signal.aborted ? undefined : await this.claimWarm(spec, observer);
    const agentProcess = claimed?.process ?? new AgentProcess(spec, observer);
    if (agentProcess.permissions && observer?.toolGate) agentProcess.permissions.gate = observer.toolGate;
    this.running.add(agentProcess);
    const abortController = claimed?.abortController ?? new AbortController();
    const onAbort = (): void => {
      agentProcess.kill();
      abortController.abort(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const idleWatch = new StreamIdleWatch(this.streamIdleTimeoutMs, () => {
      agentProcess.kill();
      abortController.abort(new Error('the model stream stalled'));
    });
    const turnNumbers = new TurnNumbers();
    const tools = new ToolCallTracker((call) => observer?.toolCall?.(call), systemClock, turnNumbers);
    if (agentProcess.permissions) agentProcess.permissions.decided = (id, permission) => tools.decided(id, permission);
    return {
      process: agentProcess,
      abortController,
      idleWatch,
      tools,
      turns: new ModelTurnTracker((turn) => observer?.modelTurn?.(turn), {
        numbers: turnNumbers,
        ...(spec.model ? { requestModel: spec.model } : {}),
      }),
      ...(claimed ? { warmQuery: claimed.query } : {}),
      startedAt,
      stopListening: () => signal.removeEventListener('abort', onAbort),
    };
  }

  /** Follows the agent's messages until its result, noting in `stream` what they show. */
  private async readMessages(
    spec: AgentSpec,
    signal: AbortSignal,
    attempt: Attempt,
    stream: AttemptStream,
  ): Promise<void> {
    // Loaded on first use: commands that start no agent (status, cancel, …) skip its load time.
    const { query } = await import('@anthropic-ai/claude-agent-sdk');
    if (signal.aborted) return;
    const messages =
      attempt.warmQuery ??
      query({
        prompt: spec.prompt,
        options: sdkOptions(await this.routed(spec), this.options, attempt.process, attempt.abortController),
      });
    for await (const message of messages) {
      attempt.idleWatch.observe(message);
      attempt.tools.observe(message);
      attempt.turns.observe(message);
      if (message.type === 'system' && message.subtype === 'init') {
        stream.sessionStarted = true;
        stream.startupMs = Date.now() - attempt.startedAt;
      }
      if (message.type === 'assistant' && message.error) stream.assistantError = message.error;
      if (message.type === 'result') {
        stream.result = message;
        // Claude Code lingers ~100 ms after its result before exiting; the transcript is already written.
        break;
      }
    }
  }

  /** Stops the attempt's watches and its process; waits for the process unless the attempt has its result. */
  private async endAttempt(attempt: Attempt, signal: AbortSignal, hasResult: boolean): Promise<void> {
    attempt.idleWatch.stop();
    attempt.tools.end();
    attempt.turns.end();
    attempt.stopListening();
    attempt.process.kill();
    const exit = attempt.process.exited();
    if (hasResult && !signal.aborted) {
      // Don't make the run wait for the shutdown; close() does, before Baton exits.
      this.exiting.add(exit);
      void exit.then(() => this.exiting.delete(exit));
    } else await exit;
    this.running.delete(attempt.process);
  }

  private outcomeOf(attempt: Attempt, stream: AttemptStream, signal: AbortSignal): AttemptOutcome {
    const { result } = stream;
    // Without a result, what the stream showed of each response: those tokens were used (and billed) all
    // the same, so they are priced at list price, an estimate, rather than counted as free.
    const estimatedUsd = result ? 0 : attempt.turns.listPriceUsd;
    const outcome: AttemptOutcome = {
      status: 'failed',
      sessionStarted: stream.sessionStarted,
      usage: result ? usageOf(result, attempt.turns.usage) : attempt.turns.usage,
      costUsd: result ? ownCostUsd(result, stream.restoredUsd) : estimatedUsd,
      ...(estimatedUsd > 0 ? { estimatedCostUsd: estimatedUsd } : {}),
      // Model responses as the stream numbers them (tool calls and turn spans name these); Claude Code's
      // num_turns counts one per content block of a response, and one for a request that failed.
      turns: attempt.tools.turns,
      durationMs: Date.now() - attempt.startedAt,
      ...(stream.startupMs !== undefined ? { startupMs: stream.startupMs } : {}),
      toolCalls: attempt.tools.calls,
    };
    const error = this.stoppedError(attempt, stream, signal);
    if (error || !result) return { ...outcome, error };
    return resultOutcome(outcome, result, stream.assistantError);
  }

  /** Why the attempt ended before its result could count: cancelled, stopped by a permission rule, stalled, crashed. */
  private stoppedError(attempt: Attempt, stream: AttemptStream, signal: AbortSignal): AttemptError | undefined {
    if (signal.aborted) return abortError(signal);
    const stoppedBy = attempt.process.permissions?.failure;
    if (stoppedBy) return stoppedBy;
    if (attempt.idleWatch.stalled && !stream.result)
      return {
        code: ErrorCodes.modelStalled,
        message: `the model stream was silent for ${this.streamIdleTimeoutMs} ms mid-response (stream_idle_timeout_ms)`,
        transient: true,
      };
    if (!stream.result) return crashError(attempt.process, stream.thrown);
    return undefined;
  }
}

/** The attempt's process ended without a result message. */
function crashError(agentProcess: AgentProcess, thrown: unknown): AttemptError {
  const exit = agentProcess.child?.exitCode ?? agentProcess.child?.signalCode ?? 'unknown';
  const detail =
    agentProcess.stderrTail.trim() ||
    (thrown instanceof Error ? thrown.message : typeof thrown === 'string' ? thrown : '');
  return {
    code: ErrorCodes.agentCrashed,
    message: `the claude process ended without a result (exit ${exit})${detail ? `: ${detail}` : ''}`,
    transient: true,
  };
}

/** The outcome an agent's result message gives: its output, or the error it reports. */
function resultOutcome(outcome: AttemptOutcome, result: SDKResultMessage, assistantError?: string): AttemptOutcome {
  const error = classifyResult({
    subtype: result.subtype,
    isError: result.is_error,
    apiErrorStatus: result.subtype === 'success' ? (result.api_error_status ?? null) : null,
    terminalReason: result.terminal_reason,
    text: result.subtype === 'success' ? result.result : '',
    errors: result.subtype === 'success' ? undefined : result.errors,
    assistantError,
  });
  if (error || result.subtype !== 'success') return { ...outcome, error };
  return {
    ...outcome,
    status: 'succeeded',
    output: {
      text: result.result,
      ...(result.structured_output !== undefined ? { structured: result.structured_output } : {}),
    },
  };
}

/**
 * Stops an agent process a dead orchestrator left running: only when that pid is still a claude
 * process of this session (pids get reused), together with its process group.
 */
export function stopLeftoverAgent(pid: number, sessionId: string): boolean {
  let commandLine: string;
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false; // gone, or not a Linux /proc: nothing to stop
  }
  if (!commandLine.includes(sessionId)) return false;
  try {
    process.kill(-pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
