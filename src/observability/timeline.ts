import picomatch from 'picomatch';
import {
  BatonError,
  ErrorCodes,
  estimatedCostOf,
  formatUsd,
  systemClock,
  type Clock,
  type ErrorInfo,
  type Usage,
} from '../core/index.js';
import { currentRunStatus, shownStatus, type ShownStatus } from '../orchestrator/index.js';
import { workflowSchema } from '../workflow/index.js';
import type {
  AgentContextRecord,
  AgentStatus,
  AttemptRecord,
  ContextEntry,
  Store,
  ToolCallRecord,
} from '../store/index.js';

/** One attempt of an agent and the tool calls it made, in the order it made them. */
export interface AttemptTimeline {
  attempt: number;
  /** `interrupted`: it was running when the run's orchestrator stopped, and nothing recorded its end yet. */
  status: ShownStatus<AttemptRecord['status']>;
  resumed: boolean;
  startedAt: number;
  durationMs: number;
  costUsd: number;
  /** Set (to `costUsd`) when the attempt was cut off before Claude Code reported its cost: Baton's list-price estimate. */
  estimatedCostUsd?: number;
  usage: Usage;
  error?: ErrorInfo;
  /** In the order it made them; with a filter, only those it matches. */
  toolCalls: TimelineToolCall[];
  /** With a filter: how many tool calls the attempt made in all. */
  toolCallsMade?: number;
}

/** One inherited fact, as the timeline names it. */
export interface ContextFact {
  id: string;
  type?: string;
  agentId?: string;
  phaseId?: string;
  /** The fact's text; absent when the entry is no longer stored (pruned with its run, or corrupt). */
  content?: string;
}

/** What an agent inherited: the facts it was given, and the decisions left out for newer ones. */
export interface ContextTimeline {
  mode: AgentContextRecord['mode'];
  tokens: number;
  considered: number;
  given: ContextFact[];
  superseded: Array<{ fact: ContextFact; replacedBy: ContextFact }>;
  /** `context.superseded: show`: the replaced decisions were quoted on their replacement's line, not left out. */
  supersededShown: boolean;
}
/** A tool call as the timeline shows it: one a dead orchestrator left `running` reads `interrupted`. */
export type TimelineToolCall = Omit<ToolCallRecord, 'status'> & { status: ShownStatus<ToolCallRecord['status']> };

/** The statuses a tool call is shown with (`--status`). */
export const toolCallStatuses = ['running', 'ok', 'error', 'interrupted'] as const satisfies readonly ShownStatus<
  ToolCallRecord['status']
>[];

/** Which tool calls to show (`--tool`, `--status`): of a tool (its name, or a glob: `mcp__github__*`), in a status. */
export interface ToolCallFilter {
  tool?: string;
  status?: (typeof toolCallStatuses)[number];
}

const filtered = (filter: ToolCallFilter): boolean => filter.tool !== undefined || filter.status !== undefined;

function callMatcher(filter: ToolCallFilter): (call: TimelineToolCall) => boolean {
  const tool = filter.tool === undefined ? undefined : picomatch(filter.tool);
  return (call) => (!tool || tool(call.name)) && (filter.status === undefined || call.status === filter.status);
}

/** A filter in words, as the text output names it: `tool Bash, status error`. */
const filterWords = (filter: ToolCallFilter): string =>
  [filter.tool && `tool ${filter.tool}`, filter.status && `status ${filter.status}`].filter(Boolean).join(', ');

/** What one agent did: its totals, then attempt by attempt, tool call by tool call. */
export interface AgentTimeline {
  runId: string;
  agentId: string;
  phaseId: string;
  status: ShownStatus<AgentStatus>;
  model?: string;
  turns: number;
  usage: Usage;
  costUsd: number;
  /** The part of `costUsd` Baton estimated (its attempts' `estimatedCostUsd`). */
  estimatedCostUsd?: number;
  durationMs: number;
  /** Absent for an agent that has not started (or was recorded before Baton kept it). */
  context?: ContextTimeline;
  attempts: AttemptTimeline[];
  /** The filter its tool calls were chosen by, when one was given. */
  toolCallFilter?: ToolCallFilter;
}

/**
 * A fact as the agent was given it: of a keyed fact updated since (`version` older than the stored
 * one), the value it replaced — the store keeps those (`listReplacedContext`).
 */
async function contextFact(
  store: Store,
  id: string,
  given?: { version: number; replaced: () => Promise<ContextEntry[]> },
): Promise<ContextFact> {
  const stored = await store.getContextEntry(id).catch(() => undefined); // a corrupt entry is shown by id only
  const updatedSince = stored && given !== undefined && stored.version !== given.version;
  const entry = updatedSince
    ? (await given.replaced()).find((e) => e.id === id && e.version === given.version)
    : stored;
  if (!entry) return { id };
  return {
    id,
    type: entry.level === 0 ? entry.type : 'summary',
    ...(entry.agentId ? { agentId: entry.agentId } : {}),
    ...(entry.phaseId ? { phaseId: entry.phaseId } : {}),
    content: entry.content,
  };
}

async function contextTimeline(
  store: Store,
  runId: string,
  record: AgentContextRecord,
  supersededShown: boolean,
): Promise<ContextTimeline> {
  const fact = (id: string): Promise<ContextFact> => contextFact(store, id);
  let replaced: Promise<ContextEntry[]> | undefined;
  const replacedValues = (): Promise<ContextEntry[]> =>
    (replaced ??= store.listReplacedContext(runId).then((r) => r.entries));
  const givenFact = (id: string, i: number): Promise<ContextFact> => {
    const version = record.entryVersions?.[i];
    return contextFact(store, id, version === undefined ? undefined : { version, replaced: replacedValues });
  };
  return {
    mode: record.mode,
    tokens: record.tokens,
    considered: record.considered,
    supersededShown,
    given: await Promise.all(record.entryIds.map(givenFact)),
    superseded: await Promise.all(
      Object.entries(record.superseded ?? {}).map(async ([old, replacement]) => ({
        fact: await fact(old),
        replacedBy: await fact(replacement),
      })),
    ),
  };
}

/** Whether the run's workflow (as stored) quoted replaced decisions (`context.superseded: show`). */
const showsSuperseded = (workflow: unknown): boolean => {
  const parsed = workflowSchema.safeParse(workflow);
  return parsed.success && parsed.data.context.superseded === 'show';
};

/** An agent's timeline from the store; BATON_AGENT_NOT_FOUND when the run has no such agent. */
export async function agentTimeline(
  store: Store,
  runId: string,
  agentId: string,
  filter: ToolCallFilter = {},
): Promise<AgentTimeline> {
  const [agent, attempts, calls, run] = await Promise.all([
    store.getAgent(runId, agentId),
    store.listAttempts(runId, agentId),
    store.listToolCalls(runId, agentId),
    store.getRun(runId),
  ]);
  if (!run) throw new BatonError(ErrorCodes.runNotFound, `No run with id ${runId}. List them with: baton runs`);
  if (!agent) {
    throw new BatonError(
      ErrorCodes.agentNotFound,
      `Run ${runId} has no agent ${agentId} (--agent). Its agents are listed by: baton status ${runId}`,
    );
  }
  const shown = shownStatus(currentRunStatus(run));
  const matches = callMatcher(filter);
  const callsOf = (attempt: number): TimelineToolCall[] =>
    calls
      .filter((c) => c.attempt === attempt)
      .sort((x, y) => x.seq - y.seq)
      .map((c) => ({ ...c, status: shown(c.status) }));
  return {
    runId,
    agentId,
    phaseId: agent.phaseId,
    status: shown(agent.status),
    ...(agent.model ? { model: agent.model } : {}),
    turns: agent.turns,
    usage: agent.usage,
    costUsd: agent.costUsd,
    ...estimatedCostOf([agent]),
    durationMs: agent.durationMs,
    ...(agent.context
      ? { context: await contextTimeline(store, runId, agent.context, showsSuperseded(run.workflow)) }
      : {}),
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      status: shown(a.status),
      resumed: a.resumed,
      startedAt: a.startedAt,
      durationMs: a.durationMs,
      costUsd: a.costUsd,
      ...estimatedCostOf([a]),
      usage: a.usage,
      ...(a.error ? { error: a.error } : {}),
      toolCalls: callsOf(a.attempt).filter(matches),
      ...(filtered(filter) ? { toolCallsMade: callsOf(a.attempt).length } : {}),
    })),
    ...(filtered(filter) ? { toolCallFilter: filter } : {}),
  };
}

/** A run's tool calls matching `filter`, of every agent, in the order they started (`baton status <run> --tool/--status`). */
export async function runToolCalls(store: Store, runId: string, filter: ToolCallFilter): Promise<TimelineToolCall[]> {
  const [run, calls] = await Promise.all([store.getRun(runId), store.listToolCalls(runId)]);
  if (!run) throw new BatonError(ErrorCodes.runNotFound, `No run with id ${runId}. List them with: baton runs`);
  const shown = shownStatus(currentRunStatus(run));
  return calls
    .map((c) => ({ ...c, status: shown(c.status) }))
    .filter(callMatcher(filter))
    .sort((x, y) => x.startedAt - y.startedAt || x.seq - y.seq);
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const oneLine = (text: string, width: number): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
};

/** A call's lines, after `at`: when it started (in its attempt, or its agent and attempt in a run). */
function formatCall(call: TimelineToolCall, at: string): string {
  const took = call.durationMs !== undefined ? seconds(call.durationMs) : call.status;
  const denied = call.permission?.decision === 'deny' ? ' (permission denied)' : '';
  const head = `${at}  turn ${call.turn}  ${call.name}  ${call.status}${denied}  ${took}`;
  const output = call.outputPreview !== undefined ? `\n              → ${oneLine(call.outputPreview, 100)}` : '';
  return `${head}\n              ${oneLine(call.inputPreview, 100)}${output}`;
}

const factLine = (fact: ContextFact): string => {
  const source = [fact.agentId, fact.phaseId && `(${fact.phaseId})`].filter(Boolean).join(' ');
  const text = fact.content !== undefined ? oneLine(fact.content, 90) : `${fact.id} (no longer stored)`;
  return `${fact.type ? `[${fact.type}] ` : ''}${source ? `${source}: ` : ''}${text}`;
};

function contextLines(context: ContextTimeline): string[] {
  const counted = context.mode === 'filtered' ? ` of ${context.considered}` : '';
  const lines = [
    `  Context (${context.mode}): ${context.given.length}${counted} fact${context.considered === 1 && !counted ? '' : 's'}, ${context.tokens} tokens`,
    ...context.given.map((fact) => `    - ${factLine(fact)}`),
  ];
  // A summary carries no quotes; a filtered or whole context quotes them only where its budget had room.
  const quoted =
    context.supersededShown && context.mode !== 'summary' && !context.given.some((fact) => fact.type === 'summary');
  if (context.superseded.length > 0)
    lines.push(
      quoted
        ? `  Replaced by a newer decision, quoted on its line where the budget had room: ${context.superseded.length}`
        : `  Left out, replaced by a newer decision: ${context.superseded.length}`,
    );
  for (const { fact, replacedBy } of context.superseded)
    lines.push(`    - ${factLine(fact)}`, `      replaced by ${factLine(replacedBy)}`);
  return lines;
}

/** The timeline as text for `baton status <run> --agent <id>`. */
export function formatTimeline(timeline: AgentTimeline): string {
  const u = timeline.usage;
  const lines = [
    `Agent ${timeline.agentId} (phase ${timeline.phaseId}, run ${timeline.runId}): ${timeline.status}`,
    `  ${timeline.turns} turns · ${timeline.attempts.length} attempts · tokens ${u.inputTokens} in / ${u.outputTokens} out` +
      ` (cache ${u.cacheReadTokens} read, ${u.cacheCreationTokens} written) · ${timeline.estimatedCostUsd ? '~' : ''}${formatUsd(timeline.costUsd)} · ${seconds(timeline.durationMs)}` +
      (timeline.model ? ` · ${timeline.model}` : ''),
    ...(timeline.context ? contextLines(timeline.context) : []),
  ];
  for (const a of timeline.attempts) {
    const error = a.error ? ` — ${a.error.code}: ${a.error.message}` : '';
    const calls = timeline.toolCallFilter
      ? `${a.toolCalls.length} of ${a.toolCallsMade ?? a.toolCalls.length} tool calls (${filterWords(timeline.toolCallFilter)})`
      : `${a.toolCalls.length} tool calls`;
    lines.push(
      `  Attempt ${a.attempt}${a.resumed ? ' (resumed)' : ''}: ${a.status}, ${seconds(a.durationMs)}, ${formatUsd(a.costUsd)}${a.estimatedCostUsd ? ' (estimated)' : ''}, ${calls}${error}`,
    );
    lines.push(...a.toolCalls.map((c) => formatCall(c, `+${seconds(c.startedAt - a.startedAt)}`.padStart(10))));
  }
  return lines.join('\n');
}

/** A run's tool calls (`runToolCalls`) as text: when each started, its agent and attempt, then as in a timeline. */
export function formatToolCalls(runId: string, calls: TimelineToolCall[], filter: ToolCallFilter): string {
  const head = `Tool calls of run ${runId} (${filterWords(filter)}): ${calls.length || 'none'}`;
  const time = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
  return [head, ...calls.map((c) => formatCall(c, `  ${time(c.startedAt)}  ${c.agentId} #${c.attempt}`))].join('\n');
}

/** Applies `tool_call_retention_days`: drops tool calls started before then. */
export const pruneToolCalls = (store: Store, retentionDays: number, clock: Clock = systemClock): Promise<number> =>
  store.pruneToolCalls(clock.now() - retentionDays * 86_400_000);
