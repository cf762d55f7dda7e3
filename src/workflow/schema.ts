import { z } from 'zod';
import { mcpServerSchema, mcpUnavailablePolicySchema } from '../mcp/index.js';
import { permissionsSchema } from '../permissions/index.js';

const idSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, {
  message: 'use letters, digits, "-" and "_", starting with a letter or digit',
});

const toolList = z.array(z.string().min(1));

/** How an agent inherits what earlier agents found. */
export const inheritModeSchema = z.enum(['all', 'summary', 'filtered', 'none']);

const agentSettings = {
  model: z.string().min(1).optional(),
  onMcpUnavailable: mcpUnavailablePolicySchema.optional(),
  timeoutMs: z.number().int().positive().optional(),
  maxBudgetUsd: z.number().positive().optional(),
  maxTurns: z.number().int().positive().optional(),
  allowedTools: toolList.optional(),
  disallowedTools: toolList.optional(),
  /** Which tool calls run, wait for a person, or are refused (Claude Code rule syntax). */
  permissions: permissionsSchema.optional(),
};

/** Where a swarm's items come from: a list, or a field (an array) of an earlier phase's structured output. */
export const foreachSchema = z.union([
  z.array(z.unknown()).min(1, { message: 'foreach needs at least one item' }),
  z
    .object({
      phase: idSchema,
      /** Dot path in that phase's structured output, e.g. `files` or `plan.steps`; left out, the output itself. */
      field: z.string().min(1).optional(),
    })
    .strict(),
]);

export const agentEntrySchema = z
  .object({
    id: idSchema,
    prompt: z.string().trim().min(1, { message: 'an agent needs a non-empty prompt' }),
    /** Appended to the Claude Code system prompt: the agent's role. */
    systemPrompt: z.string().optional(),
    /** Server names; left out, Baton picks servers from the task. `[]` means none. */
    mcpServers: z.array(z.string().min(1)).optional(),
    cwd: z.string().min(1).optional(),
    env: z.record(z.string(), z.string()).optional(),
    /** JSON Schema for structured output. */
    outputSchema: z.record(z.string(), z.unknown()).optional(),
    inherit: inheritModeSchema.optional(),
    /** A swarm: this many agents with the same task, each with its own session (`{{index}}` in the prompt). */
    count: z.number().int().min(1).max(10_000).optional(),
    /** A swarm: one agent per item (`{{item}}`, `{{item.field}}`, `{{index}}` in the prompt). */
    foreach: foreachSchema.optional(),
    ...agentSettings,
  })
  .strict()
  .refine((agent) => agent.count === undefined || agent.foreach === undefined, {
    message: 'give either count or foreach, not both',
  });

/** Run a phase only when an earlier phase's result says so. */
export const whenSchema = z
  .object({
    /** A phase this one depends on (directly or through others). */
    phase: idSchema,
    /** Its status must be one of these; left out, any status the comparison below accepts. */
    status: z
      .array(z.enum(['succeeded', 'partial', 'failed', 'skipped']))
      .min(1)
      .optional(),
    /** Dot path in its structured output; left out, the comparisons apply to its text. */
    field: z.string().min(1).optional(),
    equals: z.unknown().optional(),
    notEquals: z.unknown().optional(),
    in: z.array(z.unknown()).min(1).optional(),
    /** true: the field must be present (and not null); false: absent. */
    exists: z.boolean().optional(),
  })
  .strict();

export const aggregateSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { strategy: value } : value),
  z
    .object({
      strategy: z.enum(['concat', 'merge', 'vote', 'judge', 'reduce']),
      /** vote: the field of each agent's structured output to count. */
      field: z.string().min(1).optional(),
      /** judge / reduce: what the judging or folding agent is asked to do. */
      prompt: z.string().min(1).optional(),
      model: z.string().min(1).optional(),
      /** reduce: how many results one reducer folds at a time (hierarchically for more). */
      fanIn: z.number().int().min(2).max(50).default(4),
    })
    .strict()
    .refine((a) => a.strategy !== 'vote' || a.field !== undefined, {
      message: 'vote needs `field`: the structured-output field to count',
      path: ['field'],
    }),
);

/** A shell command that checks a worktree: exit code 0 passes. */
export const verifySchema = z.preprocess(
  (value) => (typeof value === 'string' ? { command: value } : value),
  z
    .object({
      command: z.string().trim().min(1, { message: 'verify needs a command, e.g. "npm test"' }),
      /** Longer than this and the command is killed and counts as failed. */
      timeoutMs: z.number().int().positive().default(600_000),
    })
    .strict(),
);

/** How a `workspace: worktree` phase's branches are merged back once its agents finish. */
export const mergeSchema = z
  .object({
    /** The integration branch; `{{run8}}`, `{{runId}}` and `{{phase}}` are filled in. */
    into: z.string().trim().min(1).default('baton/{{run8}}/{{phase}}'),
    verify: verifySchema.optional(),
    /** Also run `verify` on each agent's own branch before merging it. */
    verifyEach: z.boolean().default(false),
    /** `agents`: declaration order; `smallest-first`: fewest changed lines first. */
    order: z.enum(['agents', 'smallest-first']).default('agents'),
    onConflict: z.enum(['fail', 'skip', 'agent']).default('skip'),
    onVerifyFailure: z.enum(['skip', 'fail']).default('skip'),
    /** The conflict-resolving agent of `onConflict: agent`. */
    resolver: z
      .object({ model: z.string().min(1).optional(), allowedTools: toolList.optional() })
      .strict()
      .optional(),
    /** Open a pull request for the integration branch with `gh pr create` when gh is on PATH. */
    pr: z.boolean().default(false),
  })
  .strict()
  .refine((m) => !m.verifyEach || m.verify !== undefined, {
    message: 'verifyEach runs `verify` on each branch: give verify a command too',
    path: ['verifyEach'],
  });
export const approvalGateSchema = z
  .object({
    /** Wait for a person before the phase starts (after its dependencies, which they can review). */
    before: z.boolean().default(false),
    /** Hold the phase's output until a person approves it. */
    after: z.boolean().default(false),
    /** Shown to whoever approves. */
    message: z.string().min(1).optional(),
  })
  .strict()
  .refine((gate) => gate.before || gate.after, { message: 'an approval gate needs before: true or after: true' });

export const phaseSchema = z
  .object({
    id: idSchema,
    dependsOn: z.array(idSchema).optional(),
    inherit: inheritModeSchema.optional(),
    when: whenSchema.optional(),
    /** How the agents' results become the phase's output (default: the one agent's, else concat). */
    aggregate: aggregateSchema.optional(),
    /** A planning phase: its one agent returns a plan that Baton runs, generation after generation. */
    plan: z
      .object({ maxGenerations: z.number().int().min(1).max(50).default(3) })
      .strict()
      .optional(),
    /** `worktree`: each agent works in its own git worktree and branch of `repo`. */
    workspace: z.enum(['shared', 'worktree']).default('shared'),
    /** The git repository for `workspace: worktree` (default: the workflow's directory). */
    repo: z.string().min(1).optional(),
    /** `workspace: worktree`: merge the agents' branches into one integration branch when they finish. */
    merge: mergeSchema.optional(),
    agents: z.array(agentEntrySchema).min(1, { message: 'a phase needs at least one agent' }),
    /** Permission rules for every agent of the phase (added to the workflow's defaults). */
    permissions: permissionsSchema.optional(),
    /** A phase gate: a person approves before the phase starts, or before its output is passed on. */
    approval: approvalGateSchema.optional(),
  })
  .strict();

/** Finds a dependency cycle, returned as the path that closes it (`a -> b -> a`). */
export function findCycle(phases: Array<{ id: string; dependsOn?: string[] }>): string[] | undefined {
  const deps = new Map(phases.map((p) => [p.id, p.dependsOn ?? []]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of deps.get(id) ?? []) {
      if (!deps.has(dep)) continue; // reported as an unknown id
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const phase of phases) {
    const cycle = visit(phase.id);
    if (cycle) return cycle;
  }
  return undefined;
}

/**
 * The workflow schema. `externalMcpServers` are the names declared outside the workflow (the
 * project's `.mcp.json`, baton.config), which agents may name too.
 */
export function makeWorkflowSchema(externalMcpServers: ReadonlySet<string> = new Set()) {
  return z
    .object({
      version: z.literal(1, { message: 'only version: 1 exists' }),
      name: z.string().trim().min(1),
      description: z.string().optional(),
      /** Higher goes first when agents of several runs wait for a slot (default 0). */
      priority: z.number().int().min(-1000).max(1000).default(0),
      /** The whole run's USD budget: a warning at 80 %, every agent stopped at 100 %. */
      budgetUsd: z.number().positive().optional(),
      defaults: z.object(agentSettings).strict().optional(),
      mcpServers: z.record(z.string(), mcpServerSchema).optional(),
      context: z
        .object({
          /** Default for every agent: all, summary, filtered (default) or none. */
          inherit: inheritModeSchema.default('filtered'),
          /** For `filtered`: the most tokens of inherited context one agent gets. */
          budgetTokens: z.number().int().positive().default(2000),
          /** Who writes summaries when context outgrows context_size_limit: a Claude agent, or a deterministic extract. */
          summarizer: z.enum(['agent', 'extractive']).default('agent'),
        })
        .strict()
        .default({ inherit: 'filtered', budgetTokens: 2000, summarizer: 'agent' }),
      phases: z.array(phaseSchema).min(1, { message: 'a workflow needs at least one phase' }),
    })
    .strict()
    .superRefine((workflow, ctx) => {
      const phaseIndex = new Map<string, number>();
      const agentAt = new Map<string, string>();
      workflow.phases.forEach((phase, p) => {
        if (phaseIndex.has(phase.id)) {
          ctx.addIssue({
            code: 'custom',
            path: ['phases', p, 'id'],
            message: `duplicate phase id "${phase.id}" (first used by phases[${phaseIndex.get(phase.id)}])`,
          });
        } else phaseIndex.set(phase.id, p);
        phase.agents.forEach((agent, a) => {
          const first = agentAt.get(agent.id);
          if (first)
            ctx.addIssue({
              code: 'custom',
              path: ['phases', p, 'agents', a, 'id'],
              message: `duplicate agent id "${agent.id}" (first used by ${first}); agent ids are unique across the workflow`,
            });
          else agentAt.set(agent.id, `phases[${p}].agents[${a}]`);
          agent.mcpServers?.forEach((name, s) => {
            if (!workflow.mcpServers?.[name] && !externalMcpServers.has(name)) {
              const known = [...Object.keys(workflow.mcpServers ?? {}), ...externalMcpServers];
              ctx.addIssue({
                code: 'custom',
                path: ['phases', p, 'agents', a, 'mcpServers', s],
                message: `unknown MCP server "${name}"; ${known.length ? `known: ${known.join(', ')}` : 'declare it under mcpServers'}`,
              });
            }
          });
        });
      });
      workflow.phases.forEach((phase, p) => {
        phase.dependsOn?.forEach((dep, d) => {
          if (!phaseIndex.has(dep)) {
            ctx.addIssue({
              code: 'custom',
              path: ['phases', p, 'dependsOn', d],
              message: `unknown phase "${dep}"; phases are: ${[...phaseIndex.keys()].join(', ')}`,
            });
          } else if (dep === phase.id) {
            ctx.addIssue({
              code: 'custom',
              path: ['phases', p, 'dependsOn', d],
              message: `phase "${dep}" cannot depend on itself`,
            });
          }
        });
      });
      const ancestorsOf = (id: string): Set<string> => {
        const found = new Set<string>();
        const visit = (current: string): void => {
          for (const dep of workflow.phases[phaseIndex.get(current) ?? -1]?.dependsOn ?? []) {
            if (found.has(dep)) continue;
            found.add(dep);
            visit(dep);
          }
        };
        visit(id);
        return found;
      };
      const requireAncestor = (p: number, referenced: string, path: Array<string | number>, what: string): void => {
        const ancestors = ancestorsOf(workflow.phases[p]!.id);
        if (!ancestors.has(referenced)) {
          ctx.addIssue({
            code: 'custom',
            path,
            message: `${what} names phase "${referenced}", which this phase does not depend on; add it to dependsOn`,
          });
        }
      };
      workflow.phases.forEach((phase, p) => {
        if (phase.when) requireAncestor(p, phase.when.phase, ['phases', p, 'when', 'phase'], 'when');
        phase.agents.forEach((agent, a) => {
          if (agent.foreach && !Array.isArray(agent.foreach))
            requireAncestor(p, agent.foreach.phase, ['phases', p, 'agents', a, 'foreach', 'phase'], 'foreach');
        });
        if (
          phase.plan &&
          (phase.agents.length !== 1 || phase.agents[0]?.count !== undefined || phase.agents[0]?.foreach !== undefined)
        ) {
          ctx.addIssue({
            code: 'custom',
            path: ['phases', p, 'agents'],
            message: 'a plan phase has exactly one agent (the planner), without count or foreach',
          });
        }
        if (phase.merge && (phase.workspace !== 'worktree' || phase.plan)) {
          ctx.addIssue({
            code: 'custom',
            path: ['phases', p, 'merge'],
            message: phase.plan
              ? 'a plan phase has no branches of its own to merge; put merge on a workspace: worktree phase'
              : 'merge merges the branches of a workspace: worktree phase; add `workspace: worktree` to this phase',
          });
        }
        if (phase.plan && phase.aggregate) {
          ctx.addIssue({
            code: 'custom',
            path: ['phases', p, 'aggregate'],
            message: "a plan phase's output is its plan and results; aggregate does not apply",
          });
        }
      });
      const cycle = findCycle(workflow.phases);
      if (cycle && cycle.length > 2) {
        const start = phaseIndex.get(cycle[0] ?? '') ?? 0;
        ctx.addIssue({
          code: 'custom',
          path: ['phases', start, 'dependsOn'],
          message: `dependency cycle: ${cycle.join(' -> ')}`,
        });
      }
    });
}

export const workflowSchema = makeWorkflowSchema();

export type Workflow = z.output<typeof workflowSchema>;
export type PhaseSpec = z.output<typeof phaseSchema>;
export type AgentEntry = z.output<typeof agentEntrySchema>;
export type InheritMode = z.output<typeof inheritModeSchema>;
export type WhenCondition = z.output<typeof whenSchema>;
export type AggregateSpec = z.output<typeof aggregateSchema>;
export type Foreach = z.output<typeof foreachSchema>;
export type MergeSpec = z.output<typeof mergeSchema>;
export type VerifySpec = z.output<typeof verifySchema>;
export type ApprovalGate = z.output<typeof approvalGateSchema>;
