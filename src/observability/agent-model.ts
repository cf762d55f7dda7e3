import type { AgentRecord, RunRecord } from '../store/index.js';

/** What a stored workflow says of models, read loosely: a run stored by an older Baton may lack parts. */
interface DeclaredModels {
  defaults?: { model?: string };
  phases?: Array<{ id?: string; agents?: Array<{ id?: string; model?: string }> }>;
}

/**
 * The model an agent's spend is counted under. Its record has one only once it started, so an agent
 * that never did (skipped, cancelled while waiting) is counted under the model its run's stored
 * workflow declared for it (its entry's, else the workflow's default); `default` is Claude Code's own.
 */
export function agentModel(run: RunRecord, agent: AgentRecord): string {
  return agent.model ?? declaredModel(run.workflow as DeclaredModels | undefined, agent) ?? 'default';
}

function declaredModel(workflow: DeclaredModels | undefined, agent: AgentRecord): string | undefined {
  // A planner's generated phases are not in the workflow: their agents get its default.
  const phase = workflow?.phases?.find((p) => p.id === agent.phaseId);
  const entry = phase?.agents?.find((a) => a.id === (agent.entryId ?? agent.id));
  return entry?.model ?? workflow?.defaults?.model;
}
