/** What an agent is told about its place in the run, appended to Claude Code's own system prompt. */
export interface AgentPromptInput {
  workflowName: string;
  workflowDescription?: string;
  phaseId: string;
  agentId: string;
  /** The workflow's `systemPrompt` for this agent: its role. */
  role?: string;
  /** MCP servers the agent has, and the ones it needed but must do without. */
  mcp?: { available: Array<{ name: string; tools: number }>; missing: Array<{ name: string; reason: string }> };
}

function mcpLines(mcp: AgentPromptInput['mcp']): string[] {
  if (!mcp || (mcp.available.length === 0 && mcp.missing.length === 0)) return [];
  const lines = ['', '## MCP servers'];
  for (const server of mcp.available) lines.push(`- ${server.name}: available (${server.tools} tools, named mcp__${server.name}__*)`);
  for (const server of mcp.missing) lines.push(`- ${server.name}: UNAVAILABLE (${server.reason})`);
  if (mcp.missing.length > 0) {
    lines.push('Do the task without the unavailable servers as far as you can, and say in your result what you could not do because of them.');
  }
  return lines;
}

/**
 * Builds the appended system prompt. The part shared by every agent of a workflow comes first and
 * the per-agent part last, so the model's prompt cache can be reused across agents. Same inputs,
 * same bytes.
 */
export function buildAppendedSystemPrompt(input: AgentPromptInput): string {
  const shared = [
    '# Baton',
    `You are one of several Claude Code agents that Baton runs for the workflow "${input.workflowName}".`,
    ...(input.workflowDescription ? [`Workflow goal: ${input.workflowDescription}`] : []),
    'Work only on your own task. Your final message is your result: state it plainly and completely.',
  ];
  const own = [`## Your assignment`, `Phase: ${input.phaseId}`, `Agent: ${input.agentId}`, ...(input.role ? ['', input.role] : []), ...mcpLines(input.mcp)];
  return [...shared, '', ...own].join('\n');
}
