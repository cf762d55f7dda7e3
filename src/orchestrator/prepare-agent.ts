import { resolve } from 'node:path';
import { buildAppendedSystemPrompt, type SelectedContext } from '../context/index.js';
import { finishAgentMcpConfig, type AgentMcpPlan, type McpManager } from '../mcp/index.js';
import type { AgentRecord, AgentWorkspace } from '../store/index.js';
import type { AgentEntry, PhaseSpec, ResolvedAgent, Workflow } from '../workflow/index.js';
import type { RunEventMap } from './events.js';
import type { AgentJob } from './execute.js';
import type { InstanceContext, RunContext } from './run-context.js';
import { createWorktree, repositoryHead } from './worktree.js';
import { integrationHead } from '../merge/index.js';
import { agentPermissions } from '../approvals/index.js';
import type { AgentSpec, RetryOptions, TimeoutSetting } from '../agents/index.js';
import type { BatonConfig } from '../config/index.js';

/** An agent ready to start: the job for the executor, its record as it starts, and what it inherited. */
export interface PreparedAgent {
  job: AgentJob;
  started: AgentRecord;
  inherited: RunEventMap['agent.started']['inherited'];
  /** How long getting ready took (waiting for MCP servers included): it counts against the agent's timeout. */
  prepareMs: number;
}

/**
 * Everything an agent needs before its process starts, in order: the context it inherits, its MCP
 * servers (and their config file, for inspection), its worktree, then the job the executor runs.
 * Throws a BatonError (BATON_MCP_UNAVAILABLE, BATON_WORKTREE, …) when the agent cannot start.
 */
export async function prepareAgent(
  ctx: RunContext,
  agent: { entry: AgentEntry; resolved: ResolvedAgent; record: AgentRecord },
  where: InstanceContext,
): Promise<PreparedAgent> {
  const { resolved, record } = agent;
  const startedAt = ctx.clock.now();
  const timeout = agentTimeout(ctx.config, resolved, agent.entry);
  const timeoutMs = timeout.ms;
  const inheritedPhases = ctx.inheritedPhases(where.phase.id);
  const queryStarted = performance.now();
  const context = await selectContext(ctx, resolved, record, inheritedPhases, where.phase.dependsOn);
  const queryMs = performance.now() - queryStarted;
  const plan = ctx.mcp ? await planMcp(ctx, ctx.mcp, resolved, record, timeoutMs) : undefined;
  const workspace = where.phase.workspace === 'worktree' ? await worktreeFor(ctx, where, record) : record.workspace;
  const job = agentJob(ctx, resolved, record, {
    appendSystemPrompt: systemPromptFor(ctx.workflow, where.phase.id, record.id, agent.entry, plan, context),
    cwd: workspace?.path ?? resolved.cwd,
    plan,
    timeout,
    // A resumed agent's maxBudgetUsd covers its attempts before the resume too.
    spentUsd: (await ctx.store.listAttempts(ctx.runId, record.id)).reduce((sum, a) => sum + a.costUsd, 0),
  });
  const started: AgentRecord = {
    ...record,
    status: ctx.executor.startStatus,
    systemPrompt: job.spec.appendSystemPrompt ?? record.systemPrompt,
    model: resolved.model,
    startedAt: record.startedAt ?? startedAt,
    ...(plan ? { mcp: { servers: Object.keys(plan.servers), chosen: plan.chosen, missing: plan.missing } } : {}),
    ...(workspace ? { workspace } : {}),
    context: {
      mode: context.mode,
      entryIds: context.entries.map((e) => e.id),
      entryVersions: context.entries.map((e) => e.version),
      tokens: context.tokens,
      considered: context.considered,
      ...(context.superseded ? { superseded: context.superseded } : {}),
    },
  };
  return {
    job,
    started,
    inherited: { entries: context.entries.length, tokens: context.tokens, phases: inheritedPhases.length, queryMs },
    prepareMs: ctx.clock.now() - startedAt,
  };
}

async function selectContext(
  ctx: RunContext,
  resolved: ResolvedAgent,
  record: AgentRecord,
  phaseIds: string[],
  parentPhaseIds: string[] | undefined,
): Promise<SelectedContext> {
  const context = await ctx.accumulator.select({
    phaseIds,
    ...(parentPhaseIds ? { parentPhaseIds } : {}),
    task: record.prompt,
    ...(resolved.systemPrompt ? { role: resolved.systemPrompt } : {}),
    phaseId: record.phaseId,
    mode: resolved.inherit,
    budgetTokens: ctx.workflow.context.budgetTokens,
    signal: ctx.stop.signal,
  });
  if (context.corrupt.length > 0)
    ctx.events.emit('context.corrupt', { runId: ctx.runId, agentId: record.id, entryIds: context.corrupt });
  return context;
}

/** The MCP servers the agent gets (waiting for them counts against its own time), written out for inspection. */
async function planMcp(
  ctx: RunContext,
  mcp: McpManager,
  resolved: ResolvedAgent,
  record: AgentRecord,
  timeoutMs: number,
): Promise<AgentMcpPlan> {
  // Not AbortSignal.timeout: inside AbortSignal.any, Node 20 lets it be garbage-collected before it
  // fires, and a `wait` for a server that stays down then never ends. The timer holds this one.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const planned = await mcp
    .prepareAgent({
      agentId: record.id,
      task: record.prompt,
      requested: resolved.mcpServers,
      policy: resolved.onMcpUnavailable,
      signal: AbortSignal.any([ctx.stop.signal, deadline.signal]),
    })
    .finally(() => clearTimeout(timer));
  // Baton's own server is scoped to this run and tenant; the config file written holds no literal secret.
  const plan = await finishAgentMcpConfig({
    dataDir: ctx.config.data_dir,
    runId: ctx.runId,
    agentId: record.id,
    tenant: ctx.run().tenant,
    mcp,
    plan: planned,
  });
  ctx.events.emit('agent.mcp', {
    runId: ctx.runId,
    phaseId: record.phaseId,
    agentId: record.id,
    servers: Object.keys(plan.servers),
    missing: plan.missing,
  });
  return plan;
}

async function worktreeFor(ctx: RunContext, where: InstanceContext, record: AgentRecord): Promise<AgentWorkspace> {
  const repo = resolve(ctx.workflowDir, where.phase.repo ?? '.');
  return createWorktree(repo, resolve(ctx.config.data_dir), ctx.runId, record.id, await phaseBase(ctx, where.phase));
}

/**
 * The commit all of a worktree phase's agents branch from, settled once: a merged earlier phase's
 * integration head, else where an agent of the phase already started (a resumed run), else the
 * repository's HEAD now. Agents that start later (past parallel_limit, after a resume) share it,
 * though the user commits or switches branches in their checkout meanwhile.
 */
function phaseBase(ctx: RunContext, phase: PhaseSpec): Promise<string> {
  const settled = ctx.worktreeBases.get(phase.id);
  if (settled) return settled;
  const repoOf = (spec: PhaseSpec | undefined): string => resolve(ctx.workflowDir, spec?.repo ?? '.');
  // Only a merged phase of the same repository: another repository's integration head is no commit here.
  const sameRepo = ctx
    .inheritedPhases(phase.id)
    .filter((id) => repoOf(ctx.workflow.phases.find((p) => p.id === id)) === repoOf(phase));
  const base = (async () => {
    const merged = await integrationHead(ctx.store, ctx.runId, sameRepo);
    const started = ctx.records.all().find((a) => a.phaseId === phase.id && a.workspace?.baseCommit);
    return (
      merged ?? started?.workspace?.baseCommit ?? (await repositoryHead(resolve(ctx.workflowDir, phase.repo ?? '.')))
    );
  })();
  ctx.worktreeBases.set(phase.id, base);
  return base;
}

/** What is left of the agent's maxBudgetUsd after `spentUsd`, capped by what is left of the run's budget. */
function agentBudgetLeft(maxBudgetUsd: number | undefined, spentUsd: number, runLeftUsd: number | undefined) {
  const ownLeft = maxBudgetUsd === undefined ? undefined : maxBudgetUsd - spentUsd;
  if (runLeftUsd === undefined) return ownLeft;
  return Math.min(ownLeft ?? Infinity, runLeftUsd);
}

/** The job the executor runs: the spec without its environment (the executor builds that), retries and timeout. */
function agentJob(
  ctx: RunContext,
  resolved: ResolvedAgent,
  record: AgentRecord,
  made: {
    appendSystemPrompt: string;
    cwd: string;
    plan: AgentMcpPlan | undefined;
    timeout: TimeoutSetting;
    spentUsd: number;
  },
): AgentJob {
  const { config } = ctx;
  const mcpServerNames = Object.keys(made.plan?.servers ?? {});
  const remainingBudget = ctx.budget.remainingUsd();
  const run = ctx.run();
  const rules = agentToolRules(config, resolved, mcpServerNames);
  const askAgainBefore = ctx.askAgainBefore();
  return {
    runId: ctx.runId,
    phaseId: record.phaseId,
    agentId: record.id,
    tenant: run.tenant,
    priority: run.priority ?? 0,
    ...(record.generation !== undefined ? { generation: record.generation } : {}),
    ...(record.index !== undefined ? { index: record.index } : {}),
    spec: {
      agentId: record.id,
      sessionId: record.sessionId,
      prompt: record.prompt,
      appendSystemPrompt: made.appendSystemPrompt,
      model: resolved.model,
      cwd: made.cwd,
      ...rules,
      permissions: rules.permissions && {
        ...rules.permissions,
        ...(askAgainBefore !== undefined ? { askAgainBefore } : {}),
      },
      mcpServers: made.plan?.servers,
      // The agent may not spend more than what is left of its own budget, nor of the run's.
      maxBudgetUsd: agentBudgetLeft(resolved.maxBudgetUsd, made.spentUsd, remainingBudget),
      maxTurns: resolved.maxTurns,
      outputSchema: resolved.outputSchema,
    },
    ...(made.plan?.shared ? { sharedMcpServers: made.plan.shared } : {}),
    ...(made.plan?.sharedCwd ? { sharedMcpCwd: made.plan.sharedCwd } : {}),
    ...(made.plan?.sharedTimeouts ? { sharedMcpTimeouts: made.plan.sharedTimeouts } : {}),
    env: { ...made.plan?.env, ...resolved.env },
    retry: retryOptions(config),
    timeoutMs: made.timeout.ms,
    timeoutSetting: made.timeout,
  };
}

/** The agent's timeout and the setting it comes from (the agent's own, the workflow's defaults, the config's). */
export function agentTimeout(
  config: BatonConfig,
  resolved: Pick<ResolvedAgent, 'timeoutMs'>,
  entry: Pick<AgentEntry, 'timeoutMs'>,
): TimeoutSetting {
  if (entry.timeoutMs !== undefined) return { ms: entry.timeoutMs, field: "the agent's timeoutMs in the workflow" };
  if (resolved.timeoutMs !== undefined) return { ms: resolved.timeoutMs, field: 'defaults.timeoutMs in the workflow' };
  return { ms: config.agent_timeout_ms, field: 'agent_timeout_ms in the Baton config' };
}

/**
 * What tools an agent may use, by its workflow entry and the config's rules: the same for its run and
 * for `baton sessions resume|fork`, so a follow-up can do nothing the agent could not.
 */
export function agentToolRules(
  config: BatonConfig,
  resolved: ResolvedAgent,
  mcpServerNames: readonly string[],
): Pick<AgentSpec, 'allowedTools' | 'disallowedTools' | 'permissions'> {
  return {
    // An agent may use the tools of every MCP server it was given.
    allowedTools:
      mcpServerNames.length > 0
        ? [...(resolved.allowedTools ?? []), ...mcpServerNames.map((name) => `mcp__${name}`)]
        : resolved.allowedTools,
    disallowedTools: resolved.disallowedTools,
    permissions: agentPermissions(config, resolved, mcpServerNames),
  };
}

export const retryOptions = (config: BatonConfig): RetryOptions => ({
  maxRetries: config.max_retries,
  baseDelayMs: config.retry_base_delay_ms,
  maxDelayMs: config.retry_max_delay_ms,
});

/** The system prompt Baton appends for an agent: where it is in the workflow, what it inherited, its MCP servers. */
export function systemPromptFor(
  workflow: Workflow,
  phaseId: string,
  agentId: string,
  entry: AgentEntry,
  plan?: AgentMcpPlan,
  context?: SelectedContext,
): string {
  return buildAppendedSystemPrompt({
    workflowName: workflow.name,
    workflowDescription: workflow.description,
    phaseId,
    agentId,
    role: entry.systemPrompt,
    ...(context ? { context: context.entries } : {}),
    ...(plan
      ? {
          mcp: {
            available: plan.available,
            missing: plan.missing.map((m) => ({ name: m.name, reason: m.error.message })),
          },
        }
      : {}),
  });
}
