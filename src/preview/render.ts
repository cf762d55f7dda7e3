import { unknownModelPrice } from '../core/index.js';
import type { AgentPlan, PhasePlan, WorkflowPlan } from './plan.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const usd = (value: number): string => `$${value < 1 ? value.toFixed(3) : value.toFixed(2)}`;

function agentCount(phase: PhasePlan): string {
  const known = phase.agents.reduce((sum, a) => sum + (a.instances ?? 0), 0);
  const open = phase.agents.some((a) => a.instances === null) ? '+' : '';
  return `${plural(known, 'agent')}${open}`;
}

function phaseLine(phase: PhasePlan): string {
  const notes = [
    phase.dependsOn.length ? `<- ${phase.dependsOn.join(', ')}` : undefined,
    phase.when ? `when ${phase.when}` : undefined,
    phase.aggregate ? `aggregate: ${phase.aggregate}` : undefined,
    phase.planGenerations
      ? `plans up to ${phase.planGenerations} generations of at most ${phase.planTasks} tasks`
      : undefined,
    phase.workspace === 'worktree' ? 'worktree' : undefined,
  ].filter(Boolean);
  return `[${phase.id}]  ${agentCount(phase)}${notes.length ? `  ${notes.join('; ')}` : ''}`;
}

/** The phase DAG, level by level: phases of one level may run side by side; arrows lead to the next level. */
export function renderDag(phases: PhasePlan[]): string[] {
  const depth = Math.max(...phases.map((p) => p.level)) + 1;
  const lines: string[] = [];
  for (let level = 0; level < depth; level++) {
    if (level > 0) lines.push('        |', '        v');
    const here = phases.filter((p) => p.level === level);
    here.forEach((phase, i) => lines.push(`  ${i === 0 ? `L${level + 1}`.padEnd(4) : '    '}  ${phaseLine(phase)}`));
  }
  return lines;
}

function agentLine(phase: PhasePlan, agent: AgentPlan): string {
  const swarm = !agent.swarm
    ? ''
    : 'count' in agent.swarm
      ? ` (swarm of ${agent.swarm.count})`
      : ` (swarm: one per item of ${agent.swarm.foreach})`;
  const mcp = agent.mcpServers.length ? agent.mcpServers.join(', ') : 'none';
  const missing = agent.mcpMissing.length ? `  NOT DECLARED: ${agent.mcpMissing.join(', ')}` : '';
  return `  ${`${phase.id}/${agent.id}`.padEnd(28)} ${`${agent.instances ?? '?'}`.padStart(3)}${swarm}  model ${agent.model}  MCP: ${mcp} (${agent.mcpChosenBy === 'task' ? 'chosen from the task' : 'named'})${missing}`;
}

function workspaceLines(phases: PhasePlan[]): string[] {
  const worktrees = phases.filter((p) => p.workspace === 'worktree');
  if (worktrees.length === 0)
    return ['  every phase: shared (agents work in their cwd; nothing is branched or merged)'];
  return worktrees.map(
    (p) =>
      `  ${p.id}: a git worktree and branch baton/<run>/<agent> per agent in ${p.repo ?? 'the workflow directory'}; ${mergeText(p.merge)}`,
  );
}

function mergeText(merge: PhasePlan['merge']): string {
  if (!merge) return 'branches are kept for you to merge';
  const checks = merge.verifyBatch ? 'checks the merged branches once, bisecting on failure' : 'checks each merge';
  const verify = merge.verify
    ? `\`${merge.verify}\` ${checks} (a failing branch: ${merge.onVerifyFailure})`
    : 'no verify command';
  return `branches merged into ${merge.into}; ${verify}; a conflict: ${merge.onConflict}`;
}

const agentRange = ({ min, max }: { min: number; max: number }): string =>
  min === max ? plural(min, 'agent') : `${min}-${max} agents`;

function costLines(plan: WorkflowPlan): string[] {
  const { cost } = plan;
  const range = `${usd(cost.low)} - ${usd(cost.high)}`;
  if (cost.source === 'history' && cost.history) {
    const { match, runs, scaled } = cost.history;
    const which = match === 'hash' ? 'this exact workflow' : `workflows named ${plan.name} (it has changed since)`;
    return [
      `  ${range}  from ${plural(runs, 'earlier succeeded run')} of ${which} in the store`,
      ...(scaled
        ? [`  scaled per agent: ${agentRange(scaled.fromAgents)} then, ${plural(scaled.toAgents, 'agent')} now`]
        : []),
    ];
  }
  return [
    `  ${range}  from model prices x prompt sizes (no earlier run in the store): one short turn per agent at least, every turn (maxTurns) with full context at most, capped by maxBudgetUsd/budgetUsd`,
    ...cost.excludes.map((what) => `  not counted: ${what}`),
    ...(cost.unknownModels ?? []).map(
      (model) =>
        `  note: Claude Code's price table does not hold model ${model}: priced as Claude Code prices such a model (as its default, opus), $${unknownModelPrice.inputPerMTok}/$${unknownModelPrice.outputPerMTok} per million input/output tokens`,
    ),
  ];
}

/** `baton plan` as text. */
export function renderPlan(plan: WorkflowPlan): string {
  const known = plan.agents.known;
  return [
    `Workflow ${plan.name}${plan.path ? ` (${plan.path})` : ''} is valid.`,
    '',
    `Phases (${plan.phases.length}; a phase starts when the phases it needs have finished):`,
    ...renderDag(plan.phases),
    '',
    `Agents (${known} known${plan.agents.unknown.length ? ' + more the run decides' : ''}; at most ${plan.parallelLimit} at once, parallel_limit):`,
    ...plan.phases.flatMap((phase) => phase.agents.map((agent) => agentLine(phase, agent))),
    '',
    'Workspaces:',
    ...workspaceLines(plan.phases),
    '',
    'Estimated cost:',
    ...costLines(plan),
    '',
  ].join('\n');
}
