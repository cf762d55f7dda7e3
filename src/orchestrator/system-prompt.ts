/** What an agent is told about its place in the run, appended to Claude Code's own system prompt. */
export interface AgentPromptInput {
  workflowName: string;
  workflowDescription?: string;
  phaseId: string;
  agentId: string;
  /** The workflow's `systemPrompt` for this agent: its role. */
  role?: string;
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
  const own = [`## Your assignment`, `Phase: ${input.phaseId}`, `Agent: ${input.agentId}`, ...(input.role ? ['', input.role] : [])];
  return [...shared, '', ...own].join('\n');
}
