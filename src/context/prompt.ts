import type { ContextEntry } from '../store/index.js';

/** What an agent is told about its place in the run, appended to Claude Code's own system prompt. */
export interface AgentPromptInput {
  workflowName: string;
  workflowDescription?: string;
  phaseId: string;
  agentId: string;
  /** The workflow's `systemPrompt` for this agent: its role. */
  role?: string;
  /** What earlier agents found, as selected for this agent. */
  context?: ContextEntry[];
  /** MCP servers the agent has, and the ones it needed but must do without. */
  mcp?: { available: Array<{ name: string; tools: number }>; missing: Array<{ name: string; reason: string }> };
}

function mcpLines(mcp: AgentPromptInput['mcp']): string[] {
  if (!mcp || (mcp.available.length === 0 && mcp.missing.length === 0)) return [];
  const lines = ['', '## MCP servers'];
  for (const server of mcp.available)
    lines.push(`- ${server.name}: available (${server.tools} tools, named mcp__${server.name}__*)`);
  for (const server of mcp.missing) lines.push(`- ${server.name}: UNAVAILABLE (${server.reason})`);
  if (mcp.missing.length > 0) {
    lines.push(
      'Do the task without the unavailable servers as far as you can, and say in your result what you could not do because of them.',
    );
  }
  return lines;
}

/** Who a fact came from, named once above its facts. */
function sourceOf(entry: ContextEntry): string {
  const parts = [entry.agentId && `agent ${entry.agentId}`, entry.phaseId && `phase ${entry.phaseId}`].filter(Boolean);
  return parts.length > 0 ? `### From ${parts.join(', ')}` : '### From earlier agents';
}

/**
 * The inherited-context section of the system prompt, exactly as the agent sees it (a selection's
 * token budget counts this text): facts grouped by source, each source named once, in the order given.
 */
export function renderContext(entries: ContextEntry[]): string {
  if (entries.length === 0) return '';
  const groups = new Map<string, string[]>();
  for (const entry of entries) {
    const label = entry.level === 0 ? entry.type : entry.level === 1 ? 'phase summary' : 'run summary';
    const lines = groups.get(sourceOf(entry)) ?? [];
    // One line per fact, with Windows (\r\n) and old Mac (\r) breaks too: a stray \r would show as a break.
    lines.push(`- [${label}] ${entry.content.replace(/[\r\n]+/g, ' ')}`);
    groups.set(sourceOf(entry), lines);
  }
  return ['## Context from earlier agents', ...[...groups].flatMap(([source, lines]) => [source, ...lines])].join('\n');
}

function contextLines(entries: ContextEntry[] | undefined): string[] {
  return entries && entries.length > 0 ? ['', renderContext(entries)] : [];
}

/**
 * Builds the appended system prompt. The part shared by every agent of a workflow comes first, then
 * the inherited context (the same for a phase's agents unless filtered per task), and the per-agent
 * part last, so the model's prompt cache can be reused across agents. Same inputs, same bytes.
 */
export function buildAppendedSystemPrompt(input: AgentPromptInput): string {
  const shared = [
    '# Baton',
    `You are one of several Claude Code agents that Baton runs for the workflow "${input.workflowName}".`,
    ...(input.workflowDescription ? [`Workflow goal: ${input.workflowDescription}`] : []),
    'Work only on your own task. Your final message is your result: state it plainly and completely.',
    'End it with one line per fact the agents after you should know, each starting with "Decision:", "Finding:", "File changed:", "Error:" or "Artifact:".',
    'To change an earlier decision, give both the same key: "Decision[<key>]: …" replaces the earlier "Decision[<key>]:".',
  ];
  const own = [
    `## Your assignment`,
    `Phase: ${input.phaseId}`,
    `Agent: ${input.agentId}`,
    ...(input.role ? ['', input.role] : []),
    ...mcpLines(input.mcp),
  ];
  return [...shared, ...contextLines(input.context), '', ...own].join('\n');
}
