import { z } from 'zod';
import type { PathProblem } from '../core/index.js';

/**
 * Checks between fields of a workflow (ids unique, references to phases and MCP servers resolve, no
 * cycle). They read a lenient view of the data, so they also run on a file the schema refuses and a
 * user sees every problem of the file in one pass.
 */

const text = z.string().optional().catch(undefined);
const agentView = z
  .object({
    id: text,
    mcpServers: z.array(z.unknown()).optional().catch(undefined),
    count: z.unknown().optional(),
    foreach: z.unknown().optional(),
  })
  .nullable()
  .catch(null);
const phaseView = z
  .object({
    id: text,
    dependsOn: z.array(z.unknown()).optional().catch(undefined),
    when: z.object({ phase: text }).optional().catch(undefined),
    plan: z.unknown().optional(),
    aggregate: z.unknown().optional(),
    workspace: z.unknown().optional(),
    repo: z.unknown().optional(),
    merge: z.unknown().optional(),
    agents: z.array(agentView).catch([]),
  })
  .nullable()
  .catch(null);

/** Only the fields the checks read, each `undefined` (or the element `null`) where the data has no usable value. */
export const workflowReferenceView = z
  .object({
    mcpServers: z.record(z.string(), z.unknown()).optional().catch(undefined),
    phases: z.array(phaseView).catch([]),
  })
  .catch({ phases: [] });

type WorkflowView = z.output<typeof workflowReferenceView>;

/** More phases than any workflow plans by hand; a planner's phases are added at run time, not here. */
export const MAX_PHASES = 1000;
type PhaseView = NonNullable<z.output<typeof phaseView>>;

/**
 * Finds a dependency cycle, returned as the path that closes it (`a -> b -> a`). A depth-first walk
 * with a stack of its own, not recursion: a chain of thousands of phases must not overflow Node's.
 */
export function findCycle(phases: Array<{ id: string; dependsOn?: string[] }>): string[] | undefined {
  const deps = new Map(phases.map((p) => [p.id, p.dependsOn ?? []]));
  const state = new Map<string, 'visiting' | 'done'>();
  for (const phase of phases) {
    if (state.has(phase.id)) continue;
    const path: Array<{ id: string; next: number }> = [{ id: phase.id, next: 0 }];
    state.set(phase.id, 'visiting');
    while (path.length > 0) {
      const top = path[path.length - 1]!;
      const dep = (deps.get(top.id) ?? [])[top.next++];
      if (dep === undefined) {
        state.set(top.id, 'done');
        path.pop();
      } else if (!deps.has(dep) || state.get(dep) === 'done') {
        continue; // an unknown id is reported as such
      } else if (state.get(dep) === 'visiting') {
        const ids = path.map((step) => step.id);
        return [...ids.slice(ids.indexOf(dep)), dep];
      } else {
        state.set(dep, 'visiting');
        path.push({ id: dep, next: 0 });
      }
    }
  }
  return undefined;
}

/** Every reference problem of a workflow (valid or not), by path. */
export function referenceProblems(workflow: WorkflowView, externalMcpServers: ReadonlySet<string>): PathProblem[] {
  // Past the limit the schema says so; checking every phase's ancestors would take minutes.
  if (workflow.phases.length > MAX_PHASES) return [];
  const phases = workflow.phases.flatMap((phase, p) => (phase ? [{ phase, p }] : []));
  const phaseIndex = new Map<string, number>();
  const problems: PathProblem[] = [];
  for (const { phase, p } of phases) {
    if (phase.id === undefined) continue;
    const first = phaseIndex.get(phase.id);
    if (first !== undefined) {
      problems.push({
        path: ['phases', p, 'id'],
        message: `duplicate phase id "${phase.id}" (first used by phases[${first}])`,
      });
    } else phaseIndex.set(phase.id, p);
  }
  problems.push(...agentProblems(workflow, externalMcpServers));
  problems.push(...dependencyProblems(phases, phaseIndex));
  problems.push(...planProblems(phases));
  return problems;
}

function agentProblems(workflow: WorkflowView, externalMcpServers: ReadonlySet<string>): PathProblem[] {
  const problems: PathProblem[] = [];
  const agentAt = new Map<string, string>();
  const declared = [...Object.keys(workflow.mcpServers ?? {}), ...externalMcpServers];
  workflow.phases.forEach((phase, p) => {
    phase?.agents.forEach((agent, a) => {
      if (!agent) return;
      if (agent.id !== undefined) {
        const first = agentAt.get(agent.id);
        if (first)
          problems.push({
            path: ['phases', p, 'agents', a, 'id'],
            message: `duplicate agent id "${agent.id}" (first used by ${first}); agent ids are unique across the workflow`,
          });
        else agentAt.set(agent.id, `phases[${p}].agents[${a}]`);
      }
      agent.mcpServers?.forEach((name, s) => {
        if (typeof name !== 'string' || declared.includes(name)) return;
        problems.push({
          path: ['phases', p, 'agents', a, 'mcpServers', s],
          message: `unknown MCP server "${name}"; ${declared.length ? `known: ${declared.join(', ')}` : 'declare it under mcpServers'}`,
        });
      });
    });
  });
  return problems;
}

function ancestorsOf(phases: Array<{ phase: PhaseView }>, phaseIndex: Map<string, number>, id: string): Set<string> {
  const byIndex = new Map(phases.map(({ phase }) => [phase.id, phase]));
  const found = new Set<string>();
  const pending = [id];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    for (const dep of byIndex.get(current)?.dependsOn ?? []) {
      if (typeof dep !== 'string' || found.has(dep) || !phaseIndex.has(dep)) continue;
      found.add(dep);
      pending.push(dep);
    }
  }
  return found;
}

function dependencyProblems(
  phases: Array<{ phase: PhaseView; p: number }>,
  phaseIndex: Map<string, number>,
): PathProblem[] {
  const problems: PathProblem[] = [];
  for (const { phase, p } of phases) {
    phase.dependsOn?.forEach((dep, d) => {
      if (typeof dep !== 'string') return;
      if (!phaseIndex.has(dep)) {
        problems.push({
          path: ['phases', p, 'dependsOn', d],
          message: `unknown phase "${dep}"; phases are: ${[...phaseIndex.keys()].join(', ')}`,
        });
      } else if (dep === phase.id) {
        problems.push({ path: ['phases', p, 'dependsOn', d], message: `phase "${dep}" cannot depend on itself` });
      }
    });
    const ancestors = phase.id === undefined ? new Set<string>() : ancestorsOf(phases, phaseIndex, phase.id);
    const requireAncestor = (referenced: unknown, path: PropertyKey[], what: string): void => {
      if (typeof referenced !== 'string' || ancestors.has(referenced)) return;
      problems.push({
        path,
        message: `${what} names phase "${referenced}", which this phase does not depend on; add it to dependsOn`,
      });
    };
    if (phase.when?.phase !== undefined) requireAncestor(phase.when.phase, ['phases', p, 'when', 'phase'], 'when');
    phase.agents.forEach((agent, a) => {
      const foreach = agent?.foreach;
      if (foreach && typeof foreach === 'object' && !Array.isArray(foreach) && 'phase' in foreach)
        requireAncestor(foreach.phase, ['phases', p, 'agents', a, 'foreach', 'phase'], 'foreach');
    });
  }
  const graph = phases.flatMap(({ phase }) =>
    phase.id === undefined
      ? []
      : [{ id: phase.id, dependsOn: (phase.dependsOn ?? []).filter((d): d is string => typeof d === 'string') }],
  );
  const cycle = findCycle(graph);
  if (cycle && cycle.length > 2) {
    const start = phaseIndex.get(cycle[0] ?? '') ?? 0;
    problems.push({ path: ['phases', start, 'dependsOn'], message: `dependency cycle: ${cycle.join(' -> ')}` });
  }
  return problems;
}

function planProblems(phases: Array<{ phase: PhaseView; p: number }>): PathProblem[] {
  const problems: PathProblem[] = [];
  for (const { phase, p } of phases) {
    if (phase.merge !== undefined && (phase.workspace !== 'worktree' || phase.plan !== undefined)) {
      problems.push({
        path: ['phases', p, 'merge'],
        message:
          phase.plan !== undefined
            ? 'a plan phase has no branches of its own to merge; put merge on a workspace: worktree phase'
            : 'merge merges the branches of a workspace: worktree phase; add `workspace: worktree` to this phase',
      });
    }
    // Refused rather than ignored, as merge is: only a worktree phase's agents work in a repository's branches.
    if (phase.repo !== undefined && phase.workspace !== 'worktree')
      problems.push({
        path: ['phases', p, 'repo'],
        message: 'repo names the repository of a workspace: worktree phase; add `workspace: worktree` or remove repo',
      });
    if (phase.plan === undefined) continue;
    const only = phase.agents[0];
    if (phase.agents.length !== 1 || only?.count !== undefined || only?.foreach !== undefined) {
      problems.push({
        path: ['phases', p, 'agents'],
        message: 'a plan phase has exactly one agent (the planner), without count or foreach',
      });
    }
    if (phase.aggregate !== undefined) {
      problems.push({
        path: ['phases', p, 'aggregate'],
        message: "a plan phase's output is its plan and results; aggregate does not apply",
      });
    }
  }
  return problems;
}
