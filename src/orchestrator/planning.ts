import { z } from 'zod';
import { BatonError, ErrorCodes, maxIdLength } from '../core/index.js';
import type { AgentOutput } from '../core/index.js';
import type { ContextDraft } from '../context/index.js';
import { findCycle, type AgentEntry, type PhaseSpec } from '../workflow/index.js';

/** A task id becomes part of an agent id, so of file and branch names: held to what a workflow's ids are. */
const taskId = z
  .string()
  .max(maxIdLength, { message: `at most ${maxIdLength} characters (ids become file and branch names)` })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, { message: 'use letters, digits, "-" and "_"' });

/** What a planner returns: the next generation's tasks, or done. */
export const planSchema = z.object({
  /** True when the goal is reached and no further generation is needed. */
  done: z.boolean(),
  summary: z.string().optional(),
  tasks: z
    .array(
      z.object({
        id: taskId,
        prompt: z.string().min(1),
        dependsOn: z.array(taskId).optional(),
        mcpServers: z.array(z.string().min(1)).optional(),
      }),
    )
    .default([]),
});

export type Plan = z.output<typeof planSchema>;

/** The JSON Schema the planner agent must answer in (its structured output); Claude Code rejects a `$schema` dialect line. */
const { $schema: _dialect, ...planJson } = z.toJSONSchema(planSchema, { io: 'input' }) as Record<string, unknown>;
export const planJsonSchema: Record<string, unknown> = planJson;

/** Reads a planner's structured output as a plan, or says what is wrong with it. */
export function parsePlan(output: AgentOutput | undefined, plannerId: string, maxTasks: number): Plan {
  const { tasks: planned, done } = (output?.structured ?? {}) as { tasks?: unknown; done?: unknown };
  // Refused whole, before any of it becomes an agent: which tasks to drop is the planner's call, not
  // Baton's. Tasks given with `done: true` are never run, so they count for nothing.
  if (Array.isArray(planned) && planned.length > maxTasks && done !== true)
    throw new BatonError(
      ErrorCodes.planTooLarge,
      `planner ${plannerId} planned ${planned.length} tasks, more than plan.maxTasks (${maxTasks}) allows for one generation; raise plan.maxTasks (at most 1000) or ask the planner for fewer, larger tasks`,
    );
  const parsed = planSchema.safeParse(output?.structured);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(plan)'}: ${i.message}`).join('; ');
    throw new BatonError(ErrorCodes.planInvalid, `planner ${plannerId} returned no valid plan: ${issues}`);
  }
  const plan = parsed.data;
  const ids = new Set<string>();
  for (const task of plan.tasks) {
    if (ids.has(task.id))
      throw new BatonError(ErrorCodes.planInvalid, `planner ${plannerId}: task id "${task.id}" is used twice`);
    ids.add(task.id);
  }
  for (const task of plan.tasks) {
    const unknown = task.dependsOn?.find((dep) => !ids.has(dep));
    if (unknown)
      throw new BatonError(
        ErrorCodes.planInvalid,
        `planner ${plannerId}: task "${task.id}" depends on unknown task "${unknown}"`,
      );
  }
  const cycle = findCycle(plan.tasks);
  if (cycle)
    throw new BatonError(ErrorCodes.planInvalid, `planner ${plannerId}: task dependency cycle ${cycle.join(' -> ')}`);
  return plan;
}

/**
 * What a planner leaves for the agents after it: each task it planned, and its summary — not its
 * answer's JSON (Claude Code's result text for a JSON-schema agent), which would reach every later
 * agent as one finding of braces and field names. Undefined when its output is no plan.
 */
export function planFacts(output: AgentOutput, generation: number): ContextDraft[] | undefined {
  const parsed = planSchema.safeParse(output.structured);
  if (!parsed.success) return undefined;
  const { tasks, summary } = parsed.data;
  const facts: ContextDraft[] = tasks.map((task) => {
    const after = task.dependsOn?.length ? `, after ${task.dependsOn.join(', ')}` : '';
    return {
      type: 'finding',
      content: `Planned task ${task.id} (generation ${generation}${after}): ${task.prompt.trim()}`,
      tags: [task.id.toLowerCase()],
    };
  });
  if (summary?.trim()) facts.push({ type: 'finding', content: summary.trim(), tags: [] });
  return facts;
}

/** The id of a generated phase (and of its one agent): `<plan phase>.g<generation>.<task>`. */
export const generatedPhaseId = (planPhaseId: string, generation: number, task: string): string =>
  `${planPhaseId}.g${generation}.${task}`;

/**
 * Turns one generation's plan into phases: one phase per task, one agent per phase, with the
 * planner's settings (model, tools, limits) and the task's own MCP servers.
 */
export function phasesFromPlan(plan: Plan, planPhaseId: string, generation: number, planner: AgentEntry): PhaseSpec[] {
  const { id: _id, prompt: _prompt, outputSchema: _schema, systemPrompt: _role, ...settings } = planner;
  return plan.tasks.map((task) => {
    const id = generatedPhaseId(planPhaseId, generation, task.id);
    const agent: AgentEntry = {
      ...settings,
      id,
      prompt: task.prompt,
      ...(task.mcpServers ? { mcpServers: task.mcpServers } : {}),
    };
    return {
      id,
      dependsOn: (task.dependsOn ?? []).map((dep) => generatedPhaseId(planPhaseId, generation, dep)),
      workspace: 'shared',
      agents: [agent],
    };
  });
}

/** The planner's prompt for the next generation: its goal, then what the last generations produced. */
export function nextGenerationPrompt(
  goal: string,
  history: Array<{ generation: number; results: Array<{ task: string; status: string; text: string }> }>,
  maxTasks: number,
): string {
  if (history.length === 0) {
    return `${goal}\n\nAnswer with a plan: at most ${maxTasks} tasks for agents to run now (ids, prompts, dependencies between them, MCP servers they need), or done: true when nothing is left to do.`;
  }
  const reports = history
    .map(
      (g) =>
        `Generation ${g.generation}:\n${g.results.map((r) => `- ${r.task} (${r.status}): ${r.text.length > 2000 ? `${r.text.slice(0, 2000)}…` : r.text}`).join('\n')}`,
    )
    .join('\n\n');
  return `${goal}\n\nYour earlier plans have run. Results so far:\n\n${reports}\n\nPlan the next generation of tasks (at most ${maxTasks}), or answer done: true when the goal is reached.`;
}
