import { toErrorInfo } from '../core/index.js';
import type { PhaseOutput, PhaseStatus } from '../store/index.js';
import { ancestorPhases, defaultPlanTasks, type AgentEntry, type PhaseSpec, type Workflow } from '../workflow/index.js';
import type { RunEvents } from './events.js';
import { nextGenerationPrompt, parsePlan, phasesFromPlan, planJsonSchema, type Plan } from './planning.js';
import type { RunAgent } from './run-agent.js';
import { phaseStatusOf, satisfies, type PhaseResult } from './run-context.js';

/** What a plan phase needs from the phase graph: to add the phases of a generation and wait for them. */
export interface PhaseGraph {
  readonly runId: string;
  readonly workflow: Workflow;
  readonly events: RunEvents;
  readonly stopped: () => boolean;
  readonly stopError: () => PhaseResult['error'];
  /** Adds a generated phase, with the phases whose context it inherits. */
  addPhase(spec: PhaseSpec, origin: { generation: number; parentId: string }, inherits: string[]): void;
  result(phaseId: string): Promise<PhaseResult>;
}

type GenerationHistory = Array<{ generation: number; results: Array<{ task: string; status: string; text: string }> }>;

/**
 * A plan phase: the planner answers with tasks, Baton runs them as phases of the next generation,
 * feeds their results back, and asks again — until the planner says done or plan.maxGenerations.
 */
export async function runPlanningPhase(phase: PhaseSpec, graph: PhaseGraph, runAgent: RunAgent): Promise<PhaseResult> {
  const planner = phase.agents[0]!;
  const maxGenerations = phase.plan?.maxGenerations ?? 1;
  const maxTasks = phase.plan?.maxTasks ?? defaultPlanTasks;
  const history: GenerationHistory = [];
  const generatedIds: string[] = [];
  let lastPlan: Plan | undefined;
  let status: PhaseStatus = 'succeeded';
  for (let generation = 1; generation <= maxGenerations; generation++) {
    const id = `${planner.id}.g${generation}`;
    const entry: AgentEntry = { ...planner, id, outputSchema: planJsonSchema };
    const agent = await runAgent(
      { id, entry, prompt: nextGenerationPrompt(planner.prompt, history, maxTasks) },
      { phase, role: 'planner', generation },
    );
    if (agent.status !== 'succeeded')
      return {
        status: generation === 1 ? phaseStatusOf([agent.status]) : 'partial',
        ...(agent.error ? { error: agent.error } : {}),
      };
    try {
      lastPlan = parsePlan(agent.output, agent.id, maxTasks);
    } catch (error) {
      return { status: generation === 1 ? 'failed' : 'partial', error: toErrorInfo(error) };
    }
    graph.events.emit('plan.generation', {
      runId: graph.runId,
      phaseId: phase.id,
      generation,
      tasks: lastPlan.tasks.length,
      done: lastPlan.done,
    });
    if (lastPlan.done || lastPlan.tasks.length === 0) break;
    const results = await runGeneration(phase, graph, { plan: lastPlan, generation, generatedIds, planner });
    history.push({ generation, results: results.map(({ satisfied: _satisfied, ...result }) => result) });
    if (results.some((r) => !r.satisfied)) status = 'partial';
    if (graph.stopped()) return { status: 'cancelled', error: graph.stopError() };
  }
  return { status, output: planOutput(history, lastPlan, maxGenerations) };
}

/** Adds a generation's phases to the graph and waits for them; each inherits everything before it. */
async function runGeneration(
  phase: PhaseSpec,
  graph: PhaseGraph,
  at: { plan: Plan; generation: number; generatedIds: string[]; planner: AgentEntry },
): Promise<Array<GenerationHistory[number]['results'][number] & { satisfied: boolean }>> {
  const planned = phasesFromPlan(at.plan, phase.id, at.generation, at.planner);
  const inheritedBase = [...ancestorPhases(graph.workflow, phase.id), phase.id, ...at.generatedIds];
  for (const spec of planned)
    graph.addPhase(spec, { generation: at.generation, parentId: phase.id }, [
      ...inheritedBase,
      ...ancestorPhases({ phases: planned }, spec.id),
    ]);
  const results = await Promise.all(planned.map((spec) => graph.result(spec.id)));
  at.generatedIds.push(...planned.map((spec) => spec.id));
  return planned.map((_, i) => ({
    task: at.plan.tasks[i]!.id,
    status: results[i]!.status,
    text: results[i]!.output?.text ?? results[i]!.error?.message ?? '',
    satisfied: satisfies(results[i]!),
  }));
}

function planOutput(history: GenerationHistory, lastPlan: Plan | undefined, maxGenerations: number): PhaseOutput {
  const reachedLimit = !(lastPlan?.done || lastPlan?.tasks.length === 0);
  const text = [
    ...history.map((g) => `Generation ${g.generation}: ${g.results.map((r) => `${r.task} ${r.status}`).join(', ')}`),
    lastPlan?.summary ?? '',
    reachedLimit
      ? `Stopped after plan.maxGenerations (${maxGenerations}) before the planner said done.`
      : 'The planner said done.',
  ]
    .filter(Boolean)
    .join('\n');
  return {
    strategy: 'plan',
    text,
    structured: { done: !reachedLimit, generations: history },
    details: { generations: history.length, reachedLimit },
  };
}
