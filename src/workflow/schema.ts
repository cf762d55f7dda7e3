import { z } from 'zod';
import {
  argumentText,
  day,
  durationMs,
  intRange,
  maxIdLength,
  processEnvSchema,
  usdAmount,
  wrongTypeSays,
} from '../core/index.js';
import { mcpServersSchema, mcpUnavailablePolicySchema } from '../mcp/index.js';
import { permissionsSchema, ruleSchema } from '../permissions/index.js';
import { outputSchemaProblem } from './output-schema.js';
import { MAX_PHASES, referenceProblems } from './references.js';

export { findCycle } from './references.js';

const idSchema = z
  .string()
  .max(maxIdLength, { message: `at most ${maxIdLength} characters (ids become file and branch names)` })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, {
    message: 'use letters, digits, "-" and "_", starting with a letter or digit',
  });

// allowedTools and disallowedTools are allow and deny rules (mergePermissions): checked as rules, so a
// disallowed rule that could not be matched is refused here rather than left unenforced.
const toolList = z.array(ruleSchema, wrongTypeSays('a list of tool names or rules, such as [Read, Bash]'));

/** How an agent inherits what earlier agents found. */
export const inheritModeSchema = z.enum(['all', 'summary', 'filtered', 'none']);

const agentSettings = {
  model: z.string().min(1).optional(),
  onMcpUnavailable: mcpUnavailablePolicySchema.optional(),
  timeoutMs: durationMs(1, day).optional(),
  maxBudgetUsd: usdAmount.optional(),
  maxTurns: intRange(1, 10_000).optional(),
  allowedTools: toolList.optional(),
  disallowedTools: toolList.optional(),
  /** Which tool calls run, wait for a person, or are refused (Claude Code rule syntax). */
  permissions: permissionsSchema.optional(),
};

/** Where a swarm's items come from: a list, or a field (an array) of an earlier phase's structured output. */
export const foreachSchema = z.union([
  z
    .array(z.unknown())
    .min(1, { message: 'foreach needs at least one item' })
    .max(10_000, { message: 'at most 10000 items, as for count' }),
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
    systemPrompt: argumentText().optional(),
    /** Server names; left out, Baton picks servers from the task. `[]` means none. */
    mcpServers: z.array(z.string().min(1)).optional(),
    cwd: z.string().min(1).optional(),
    env: processEnvSchema.optional(),
    /** JSON Schema for structured output. */
    outputSchema: z
      .record(z.string(), z.unknown())
      .superRefine((schema, ctx) => {
        const problem = outputSchemaProblem(schema);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    inherit: inheritModeSchema.optional(),
    /** A swarm: this many agents with the same task, each with its own session (`{{index}}` in the prompt). */
    count: intRange(1, 10_000).optional(),
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
      fanIn: intRange(2, 50).default(4),
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
      timeoutMs: durationMs(1, day).default(600_000),
    })
    .strict(),
);

/** What a merge phase's `into` may hold, filled in when the run starts. */
const integrationPlaceholders: ReadonlySet<string> = new Set(['run8', 'runId', 'phase']);

/** How a `workspace: worktree` phase's branches are merged back once its agents finish. */
export const mergeSchema = z
  .object({
    /** The integration branch; `{{run8}}`, `{{runId}}` and `{{phase}}` are filled in. */
    into: z
      .string()
      .trim()
      .min(1)
      .refine(
        (into) => [...into.matchAll(/\{\{([^}]*)\}\}/g)].every(([, name]) => integrationPlaceholders.has(name!)),
        {
          message: 'a placeholder other than {{run8}}, {{runId}} and {{phase}} (no other is filled in); fix its name',
        },
      )
      .default('baton/{{run8}}/{{phase}}'),
    verify: verifySchema.optional(),
    /** Also run `verify` on each agent's own branch before merging it. */
    verifyEach: z.boolean().default(false),
    /**
     * Run `verify` once on the merged result instead of after each merge; when it fails, find the
     * branch that broke it by bisection, leave it out, merge the rest again.
     */
    verifyBatch: z.boolean().default(false),
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
  })
  .refine((m) => !m.verifyBatch || m.verify !== undefined, {
    message: 'verifyBatch runs `verify` on the merged branches: give verify a command too',
    path: ['verifyBatch'],
  });
export const approvalGateSchema = z
  .object(
    {
      /** Wait for a person before the phase starts (after its dependencies, which they can review). */
      before: z.boolean().default(false),
      /** Hold the phase's output until a person approves it. */
      after: z.boolean().default(false),
      /** Shown to whoever approves. */
      message: z.string().min(1).optional(),
    },
    wrongTypeSays('{ before: true } or { after: true } (or both, with a message)'),
  )
  .strict()
  .refine((gate) => gate.before || gate.after, { message: 'an approval gate needs before: true or after: true' });

/** A planner's tasks per generation: each becomes an agent, so a runaway plan must not become thousands. */
export const defaultPlanTasks = 20;
const maxPlanTasks = 1000;

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
      .object({
        maxGenerations: intRange(1, 50).default(3),
        /** Most tasks (so agents) one generation may have; a plan with more is refused, none of it run. */
        maxTasks: intRange(1, maxPlanTasks).default(defaultPlanTasks),
      })
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
      priority: intRange(-1000, 1000).default(0),
      /** The whole run's USD budget: a warning at 80 %, every agent stopped at 100 %. */
      budgetUsd: usdAmount.optional(),
      defaults: z.object(agentSettings).strict().optional(),
      mcpServers: mcpServersSchema.optional(),
      context: z
        .object({
          /** Default for every agent: all, summary, filtered (default) or none. */
          inherit: inheritModeSchema.default('filtered'),
          /** For `filtered`: the most tokens of inherited context one agent gets. */
          budgetTokens: intRange(1, 10_000_000).default(2000),
          /** Who writes summaries when context outgrows context_size_limit: a Claude agent, or a deterministic extract. */
          summarizer: z.enum(['agent', 'extractive']).default('agent'),
          /** For `filtered`: `agent` has a Claude agent pick among the best-ranked facts (a model call per agent); off by default. */
          rerank: z.enum(['none', 'agent']).default('none'),
          /** A decision a newer one replaced: `omit` (default) gives it to no agent; `show` quotes it on its replacement's line. */
          superseded: z.enum(['omit', 'show']).default('omit'),
        })
        .strict()
        .default({ inherit: 'filtered', budgetTokens: 2000, summarizer: 'agent', rerank: 'none', superseded: 'omit' }),
      phases: z
        .array(phaseSchema)
        .min(1, { message: 'a workflow needs at least one phase' })
        .max(MAX_PHASES, {
          message: `at most ${MAX_PHASES} phases; give a phase more agents (count, foreach) instead`,
        }),
    })
    .strict()
    .superRefine((workflow, ctx) => {
      for (const problem of referenceProblems(workflow, externalMcpServers)) {
        ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
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
