import type { BatonConfig } from '../config/index.js';
import { priceOf } from '../core/index.js';
import { analyzeRequirements, type McpCatalog } from '../mcp/index.js';
import type { Store } from '../store/index.js';
import { ancestorPhases, resolveAgent, type AgentEntry, type PhaseSpec, type Workflow } from '../workflow/index.js';
import { agentCostRange, historyEstimate, type HistoryEstimate } from './estimate.js';

/** One workflow entry of a phase: a single agent, or a swarm of them. */
export interface AgentPlan {
  id: string;
  /** How many agents it becomes; null when only the run can tell (foreach over an earlier phase's output). */
  instances: number | null;
  swarm?: { count: number } | { foreach: string };
  model: string;
  /** Claude Code's price table does not hold the model: it is priced as Claude Code prices such a model. */
  modelPriceUnknown?: true;
  /** The MCP servers each of its agents would get, and whether the workflow named them or the task analysis chose them. */
  mcpServers: string[];
  mcpChosenBy: 'workflow' | 'task';
  /** Servers named by the workflow that no config, `.mcp.json` or the workflow declares. */
  mcpMissing: string[];
  /** USD per agent instance. */
  costUsd: { low: number; high: number };
}

export interface PhasePlan {
  id: string;
  /** 0 for phases without dependencies; one more than the deepest dependency otherwise. */
  level: number;
  dependsOn: string[];
  when?: string;
  aggregate?: string;
  /** A planning phase: later generations of phases come from its agent's plan. */
  planGenerations?: number;
  /** Most tasks (agents) each generation of a planning phase may have (`plan.maxTasks`). */
  planTasks?: number;
  workspace: 'shared' | 'worktree';
  repo?: string;
  /** `merge:` of a worktree phase: where the branches go, the command that checks each merge, what a conflict does. */
  merge?: { into: string; verify?: string; verifyBatch?: boolean; onConflict: string; onVerifyFailure: string };
  agents: AgentPlan[];
}

export interface CostEstimate {
  /** `history`: this workflow's earlier runs in the store; `prices`: model prices × prompt sizes. */
  source: 'history' | 'prices';
  low: number;
  high: number;
  history?: HistoryEstimate;
  /** What the range leaves out (agents only the run can count). */
  excludes: string[];
  /** `prices`: the models Claude Code's price table does not hold, priced at `unknownModelPrice`. */
  unknownModels?: string[];
}

export interface WorkflowPlan {
  name: string;
  path?: string;
  valid: true;
  phases: PhasePlan[];
  agents: { known: number; unknown: string[] };
  parallelLimit: number;
  cost: CostEstimate;
}

function levels(workflow: Workflow): Map<string, number> {
  const byId = new Map(workflow.phases.map((p) => [p.id, p]));
  const level = new Map<string, number>();
  const of = (id: string): number => {
    const known = level.get(id);
    if (known !== undefined) return known;
    const deps = byId.get(id)?.dependsOn ?? [];
    const value = deps.length === 0 ? 0 : 1 + Math.max(...deps.map(of));
    level.set(id, value);
    return value;
  };
  for (const phase of workflow.phases) of(phase.id);
  return level;
}

function describeWhen(phase: PhaseSpec): string | undefined {
  const when = phase.when;
  if (!when) return undefined;
  const subject = `${when.phase}${when.field ? `.${when.field}` : ''}`;
  const tests = [
    when.status ? `status in [${when.status.join(', ')}]` : undefined,
    when.equals !== undefined ? `= ${JSON.stringify(when.equals)}` : undefined,
    when.notEquals !== undefined ? `!= ${JSON.stringify(when.notEquals)}` : undefined,
    when.in ? `in ${JSON.stringify(when.in)}` : undefined,
    when.exists !== undefined ? (when.exists ? 'exists' : 'absent') : undefined,
  ].filter(Boolean);
  return `${subject} ${tests.join(' and ')}`.trim();
}

function swarmOf(entry: AgentEntry): Pick<AgentPlan, 'instances' | 'swarm'> {
  if (entry.count !== undefined) return { instances: entry.count, swarm: { count: entry.count } };
  if (Array.isArray(entry.foreach)) return { instances: entry.foreach.length, swarm: { count: entry.foreach.length } };
  if (entry.foreach) {
    const source = `${entry.foreach.phase}${entry.foreach.field ? `.${entry.foreach.field}` : ''}`;
    return { instances: null, swarm: { foreach: source } };
  }
  return { instances: 1 };
}

/** The inherited context an agent may carry (tokens), for the high end of its cost. */
function contextTokens(workflow: Workflow, phase: PhaseSpec, inherit: string, config: BatonConfig): number {
  if (inherit === 'none' || ancestorPhases(workflow, phase.id).length === 0) return 0;
  // `all` may carry up to context_size_limit bytes (~4 bytes a token); the others stay within budgetTokens.
  return inherit === 'all' ? Math.ceil(config.context_size_limit / 4) : workflow.context.budgetTokens;
}

function planAgent(
  workflow: Workflow,
  phase: PhaseSpec,
  entry: AgentEntry,
  where: { dir: string; catalog: McpCatalog; config: BatonConfig },
): AgentPlan {
  const agent = resolveAgent(workflow, phase, entry, where.dir);
  const named = agent.mcpServers;
  const servers = named ?? analyzeRequirements(agent.prompt, where.catalog).servers.map((s) => s.name);
  return {
    id: entry.id,
    ...swarmOf(entry),
    model: agent.model ?? "default (Claude Code's)",
    ...(priceOf(agent.model).known ? {} : { modelPriceUnknown: true }),
    mcpServers: servers,
    mcpChosenBy: named ? 'workflow' : 'task',
    mcpMissing: servers.filter((name) => !where.catalog.has(name)),
    costUsd: agentCostRange({
      prompt: agent.prompt,
      ...(agent.systemPrompt ? { systemPrompt: agent.systemPrompt } : {}),
      ...(agent.model ? { model: agent.model } : {}),
      ...(agent.maxTurns ? { maxTurns: agent.maxTurns } : {}),
      ...(agent.maxBudgetUsd ? { maxBudgetUsd: agent.maxBudgetUsd } : {}),
      contextTokens: contextTokens(workflow, phase, agent.inherit, where.config),
    }),
  };
}

function priceEstimate(phases: PhasePlan[], budgetUsd: number | undefined): CostEstimate {
  let low = 0;
  let high = 0;
  const agents = phases.flatMap((p) => p.agents);
  for (const agent of agents) {
    low += agent.costUsd.low * (agent.instances ?? 0);
    high += agent.costUsd.high * (agent.instances ?? 0);
  }
  if (budgetUsd !== undefined) high = Math.min(high, budgetUsd);
  const unknownModels = [...new Set(agents.filter((a) => a.modelPriceUnknown).map((a) => a.model))];
  return {
    source: 'prices',
    low: Math.min(low, high),
    high,
    excludes: [],
    ...(unknownModels.length > 0 ? { unknownModels } : {}),
  };
}

/**
 * What a workflow will do before it runs: its phases by level, how many agents each becomes, the MCP
 * servers each would get (the task analysis the run uses, without starting any server), its
 * workspace settings and a cost range. Reads the store only for the workflow's earlier runs.
 */
export async function planWorkflow(
  loaded: { workflow: Workflow; path?: string; dir: string; catalog: McpCatalog },
  config: BatonConfig,
  store?: Store,
  /** The workflow as a run stores it (its secrets hidden), to find earlier runs of exactly this one. */
  asStored: (workflow: Workflow) => unknown = (w) => w,
): Promise<WorkflowPlan> {
  const { workflow } = loaded;
  const level = levels(workflow);
  const where = { dir: loaded.dir, catalog: loaded.catalog, config };
  const phases: PhasePlan[] = workflow.phases.map((phase) => ({
    id: phase.id,
    level: level.get(phase.id) ?? 0,
    dependsOn: phase.dependsOn ?? [],
    ...(phase.when ? { when: describeWhen(phase) } : {}),
    ...(phase.aggregate ? { aggregate: phase.aggregate.strategy } : {}),
    ...(phase.plan ? { planGenerations: phase.plan.maxGenerations, planTasks: phase.plan.maxTasks } : {}),
    workspace: phase.workspace,
    ...(phase.repo ? { repo: phase.repo } : {}),
    ...(phase.merge
      ? {
          merge: {
            into: phase.merge.into,
            ...(phase.merge.verify ? { verify: phase.merge.verify.command } : {}),
            ...(phase.merge.verifyBatch ? { verifyBatch: true } : {}),
            onConflict: phase.merge.onConflict,
            onVerifyFailure: phase.merge.onVerifyFailure,
          },
        }
      : {}),
    agents: phase.agents.map((entry) => planAgent(workflow, phase, entry, where)),
  }));
  const unknown = [
    ...phases.flatMap((p) =>
      p.agents.flatMap((a) =>
        a.swarm && 'foreach' in a.swarm ? [`${a.id}: one agent per item of ${a.swarm.foreach}`] : [],
      ),
    ),
    ...phases.flatMap((p) =>
      p.planGenerations
        ? [`phases planned by ${p.id} (up to ${p.planGenerations} generations of at most ${p.planTasks} agents)`]
        : [],
    ),
  ];
  const known = phases.flatMap((p) => p.agents).reduce((sum, a) => sum + (a.instances ?? 0), 0);
  const history = store ? await historyEstimate(store, workflow, known, asStored(workflow)) : undefined;
  const cost: CostEstimate = history
    ? { source: 'history', low: history.low, high: history.high, history, excludes: [] }
    : { ...priceEstimate(phases, workflow.budgetUsd), excludes: unknown };
  return {
    name: workflow.name,
    ...(loaded.path ? { path: loaded.path } : {}),
    valid: true,
    phases,
    agents: { known, unknown },
    parallelLimit: config.parallel_limit,
    cost,
  };
}
