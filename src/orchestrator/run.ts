import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { bulkhead } from 'cockatiel';
import { AgentAbort, agentEnvironment, runAgent, type AgentRuntime, type AgentSpec } from '../agents/index.js';
import type { BatonConfig } from '../config/index.js';
import type { AgentMcpPlan, McpManager } from '../mcp/index.js';
import { BatonError, ErrorCodes, systemClock, toErrorInfo, type Clock, type ErrorInfo } from '../core/index.js';
import {
  emptyUsage,
  type AgentRecord,
  type AgentStatus,
  type PhaseRecord,
  type PhaseStatus,
  type RunRecord,
  type RunStatus,
  type Store,
} from '../store/index.js';
import { ancestorPhases, resolveAgent, type AgentEntry, type PhaseSpec, type Workflow } from '../workflow/index.js';
import { RunEvents } from './events.js';
import { summarizeRun, type RunSummary } from './summary.js';
import { AgentSummarizer, buildAppendedSystemPrompt, DynamicContextAccumulator, expiryFrom, extractContext, type ContextDraft, type SelectedContext } from '../context/index.js';

/** How often a running orchestrator checks the store for a `baton cancel` from another process. */
const CANCEL_POLL_MS = 250;

export interface RunWorkflowOptions {
  workflow: Workflow;
  /** Directory that relative paths in the workflow resolve against. */
  workflowDir: string;
  workflowPath?: string;
  config: BatonConfig;
  store: Store;
  runtime: AgentRuntime;
  /** Checks and provides the MCP servers agents need; without it agents get none. */
  mcp?: McpManager;
  /** Base environment for agent processes (ANTHROPIC_* pass through unchanged). */
  env: NodeJS.ProcessEnv;
  runId?: string;
  /** Who the run is for (default "default"): usage and budgets add up per tenant. */
  tenant?: string;
  /** USD the run may spend: the lower of the workflow's budgetUsd and what is left of its tenant's. */
  budgetUsd?: number;
  /** Aborting it cancels the run: every agent is killed. */
  signal?: AbortSignal;
  events?: RunEvents;
  clock?: Clock;
}

export class RunCancelled extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'RunCancelled';
  }
}

function phaseStatusOf(statuses: AgentStatus[]): PhaseStatus {
  if (statuses.every((s) => s === 'succeeded')) return 'succeeded';
  if (statuses.some((s) => s === 'cancelled')) return 'cancelled';
  if (statuses.every((s) => s === 'skipped')) return 'skipped';
  return statuses.some((s) => s === 'succeeded') ? 'partial' : 'failed';
}

function runStatusOf(statuses: AgentStatus[], stop: ErrorInfo | undefined): RunStatus {
  if (stop) return stop.code === ErrorCodes.cancelled ? 'cancelled' : 'failed';
  if (statuses.every((s) => s === 'succeeded')) return 'succeeded';
  return statuses.some((s) => s === 'succeeded') ? 'partial' : 'failed';
}

/**
 * Runs a workflow: each phase starts once the phases it depends on have succeeded, its agents run
 * in parallel, and at most `parallel_limit` agents run at once across the whole run. Every record
 * is committed to the store as it changes, so a result is durable before anything depends on it.
 */
export async function runWorkflow(options: RunWorkflowOptions): Promise<RunSummary> {
  const { workflow, store, config } = options;
  const clock = options.clock ?? systemClock;
  const events = options.events ?? new RunEvents();
  const runId = options.runId ?? randomUUID();
  const cancel = new AbortController();
  const limiter = bulkhead(config.parallel_limit, Number.POSITIVE_INFINITY);

  const run: RunRecord = {
    id: runId,
    workflowName: workflow.name,
    tenant: options.tenant ?? 'default',
    workflowPath: options.workflowPath,
    workflow,
    status: 'running',
    createdAt: clock.now(),
    startedAt: clock.now(),
    pid: process.pid,
    host: hostname(),
  };
  await store.saveRun(run);

  const accumulator = new DynamicContextAccumulator({
    store,
    runId,
    sizeLimitBytes: config.context_size_limit,
    ...(workflow.context.summarizer === 'agent'
      ? { summarizer: new AgentSummarizer({ runtime: options.runtime, env: options.env, cwd: options.workflowDir, model: workflow.defaults?.model }) }
      : {}),
    clock,
  });

  /** Why the run was stopped early, as an agent's error: a cancel, or the run budget. */
  const stopError = (): ErrorInfo => {
    const reason: unknown = cancel.signal.reason;
    if (reason instanceof AgentAbort) return { code: ErrorCodes.runBudgetExceeded, message: reason.message };
    return { code: ErrorCodes.cancelled, message: reasonText(reason, 'run cancelled') };
  };

  const budgets = [workflow.budgetUsd, options.budgetUsd].filter((b): b is number => b !== undefined);
  const budgetUsd = budgets.length > 0 ? Math.min(...budgets) : undefined;
  let spentUsd = 0;
  let budgetWarned = false;
  /** Adds an attempt's cost; warns at 80 % of the run budget and stops every agent at 100 %. */
  const spend = (costUsd: number): void => {
    spentUsd += costUsd;
    if (budgetUsd === undefined) return;
    if (!budgetWarned && spentUsd >= 0.8 * budgetUsd) {
      budgetWarned = true;
      events.emit('budget.warning', { runId, spentUsd, budgetUsd });
    }
    if (spentUsd >= budgetUsd && !cancel.signal.aborted) {
      events.emit('budget.exceeded', { runId, spentUsd, budgetUsd });
      cancel.abort(new AgentAbort('budget', `the run spent $${spentUsd.toFixed(4)} of its $${budgetUsd.toFixed(4)} budget and was stopped`));
    }
  };

  const systemPromptFor = (phaseId: string, entry: AgentEntry, plan?: AgentMcpPlan, context?: SelectedContext): string =>
    buildAppendedSystemPrompt({
      workflowName: workflow.name,
      workflowDescription: workflow.description,
      phaseId,
      agentId: entry.id,
      role: entry.systemPrompt,
      ...(context ? { context: context.entries } : {}),
      ...(plan ? { mcp: { available: plan.available, missing: plan.missing.map((m) => ({ name: m.name, reason: m.error.message })) } } : {}),
    });

  const agents = new Map<string, AgentRecord>();
  for (const phase of workflow.phases) {
    await store.savePhase({ runId, id: phase.id, status: 'pending' });
    for (const entry of phase.agents) {
      const record: AgentRecord = {
        runId,
        phaseId: phase.id,
        id: entry.id,
        sessionId: randomUUID(),
        status: 'pending',
        prompt: entry.prompt,
        systemPrompt: systemPromptFor(phase.id, entry),
        usage: emptyUsage(),
        costUsd: 0,
        turns: 0,
        attempts: 0,
        durationMs: 0,
      };
      agents.set(entry.id, record);
      await store.saveAgent(record);
      await store.saveSession({ id: record.sessionId, runId, agentId: entry.id, phaseId: phase.id, status: 'created', createdAt: clock.now(), updatedAt: clock.now() });
    }
  }
  events.emit('run.started', { runId, workflowName: workflow.name, agents: agents.size });

  const onExternalAbort = (): void => cancel.abort(new RunCancelled(reasonText(options.signal?.reason, 'run cancelled')));
  if (options.signal?.aborted) onExternalAbort();
  else options.signal?.addEventListener('abort', onExternalAbort, { once: true });
  const poll = setInterval(() => {
    store.isCancelRequested(runId).then(
      (requested) => {
        if (requested && !cancel.signal.aborted) cancel.abort(new RunCancelled('run cancelled by `baton cancel`'));
      },
      () => {
        // A store that cannot be read now fails the run's own writes too; the poll just tries again.
      },
    );
  }, CANCEL_POLL_MS);

  const saveAgent = async (record: AgentRecord): Promise<void> => {
    agents.set(record.id, record);
    await store.saveAgent(record);
  };

  const runOneAgent = async (phase: PhaseSpec, record: AgentRecord): Promise<AgentRecord> => {
    if (cancel.signal.aborted) return finish({ ...record, status: 'cancelled', error: stopError() });
    const entry = phase.agents.find((a) => a.id === record.id);
    if (!entry) throw new Error(`agent ${record.id} missing from phase ${phase.id}`);
    const resolved = resolveAgent(workflow, phase, entry, options.workflowDir);
    const timeoutMs = resolved.timeoutMs ?? config.agent_timeout_ms;
    const startedAt = clock.now();
    const session = await store.getSession(record.sessionId);
    if (session) await store.saveSession({ ...session, status: 'active', updatedAt: startedAt });

    const inheritedPhases = ancestorPhases(workflow, phase.id);
    const queryStarted = performance.now();
    const context = await accumulator.select({
      phaseIds: inheritedPhases,
      task: record.prompt,
      mode: resolved.inherit,
      budgetTokens: workflow.context.budgetTokens,
    });
    const queryMs = performance.now() - queryStarted;
    if (context.corrupt.length > 0) events.emit('context.corrupt', { runId, agentId: record.id, entryIds: context.corrupt });

    let plan: AgentMcpPlan | undefined;
    if (options.mcp) {
      try {
        plan = await options.mcp.prepareAgent({
          agentId: record.id,
          task: record.prompt,
          requested: resolved.mcpServers,
          policy: resolved.onMcpUnavailable,
          // Waiting for a server counts against the agent's own time.
          signal: AbortSignal.any([cancel.signal, AbortSignal.timeout(timeoutMs)]),
        });
      } catch (error) {
        return finish({ ...record, status: 'failed', model: resolved.model, startedAt, error: toErrorInfo(error) });
      }
      await writeMcpConfigFile(config.data_dir, runId, record.id, options.mcp, plan);
      events.emit('agent.mcp', { runId, agentId: record.id, servers: Object.keys(plan.servers), missing: plan.missing });
    }
    const mcpServerNames = Object.keys(plan?.servers ?? {});
    const spec: AgentSpec = {
      agentId: record.id,
      sessionId: record.sessionId,
      prompt: record.prompt,
      appendSystemPrompt: systemPromptFor(phase.id, entry, plan, context),
      model: resolved.model,
      cwd: resolved.cwd,
      // An agent may use the tools of every MCP server it was given.
      allowedTools: mcpServerNames.length > 0 ? [...(resolved.allowedTools ?? []), ...mcpServerNames.map((name) => `mcp__${name}`)] : resolved.allowedTools,
      disallowedTools: resolved.disallowedTools,
      mcpServers: plan?.servers,
      env: agentEnvironment(options.env, resolved.env),
      // The agent may not spend more than what is left of the run's budget.
      maxBudgetUsd: budgetUsd === undefined ? resolved.maxBudgetUsd : Math.min(resolved.maxBudgetUsd ?? Infinity, Math.max(0.0001, budgetUsd - spentUsd)),
      maxTurns: resolved.maxTurns,
      outputSchema: resolved.outputSchema,
    };

    const started: AgentRecord = {
      ...record,
      status: 'running',
      systemPrompt: spec.appendSystemPrompt ?? record.systemPrompt,
      model: resolved.model,
      startedAt,
      ...(plan ? { mcp: { servers: mcpServerNames, chosen: plan.chosen, missing: plan.missing } } : {}),
      context: { mode: context.mode, entryIds: context.entries.map((e) => e.id), tokens: context.tokens, considered: context.considered },
    };
    await saveAgent(started);
    events.emit('agent.started', {
      runId,
      phaseId: phase.id,
      agentId: record.id,
      sessionId: record.sessionId,
      inherited: { entries: context.entries.length, tokens: context.tokens, phases: inheritedPhases.length, queryMs },
    });

    const result = await runAgent(spec, {
      runtime: options.runtime,
      retry: { maxRetries: config.max_retries, baseDelayMs: config.retry_base_delay_ms, maxDelayMs: config.retry_max_delay_ms },
      timeoutMs: timeoutMs - (clock.now() - startedAt),
      signal: cancel.signal,
      hooks: {
        attemptStarted: async (info) => {
          await store.saveAttempt({ runId, agentId: record.id, attempt: info.attempt, status: 'running', resumed: info.resumed, startedAt: info.startedAt, usage: emptyUsage(), costUsd: 0, durationMs: 0 });
          events.emit('agent.attempt', { runId, agentId: record.id, attempt: info.attempt, resumed: info.resumed });
        },
        attemptFinished: async (info, outcome) => {
          spend(outcome.costUsd);
          await store.saveAttempt({
            runId,
            agentId: record.id,
            attempt: info.attempt,
            status: outcome.status,
            resumed: info.resumed,
            startedAt: info.startedAt,
            finishedAt: clock.now(),
            usage: outcome.usage,
            costUsd: outcome.costUsd,
            durationMs: outcome.durationMs,
            ...(outcome.error ? { error: { code: outcome.error.code, message: outcome.error.message } } : {}),
          });
          events.emit('agent.attempt.finished', {
            runId,
            agentId: record.id,
            attempt: info.attempt,
            status: outcome.status,
            ...(outcome.startupMs !== undefined ? { startupMs: outcome.startupMs } : {}),
            ...(outcome.error ? { errorCode: outcome.error.code } : {}),
          });
        },
      },
    });

    return finish({ ...started, ...result });
  };

  /** What an agent leaves for the agents after it: the facts in its result, or why it failed. */
  const factsOf = (record: AgentRecord): ContextDraft[] => {
    if (record.status === 'succeeded' && record.output) return extractContext(record.output);
    if (record.status === 'failed' && record.error) {
      return [{ type: 'error', content: `Agent ${record.id} failed: ${record.error.code}: ${record.error.message}`, tags: [record.error.code.toLowerCase()] }];
    }
    return [];
  };

  /**
   * Stores an agent's final record and its facts, closes its session and tells subscribers — for
   * agents that ran, failed to start, or never started (skipped, cancelled).
   */
  const finish = async (record: AgentRecord): Promise<AgentRecord> => {
    const now = clock.now();
    const finished: AgentRecord = { ...record, finishedAt: now };
    const facts = factsOf(finished);
    if (facts.length > 0) {
      const added = await accumulator.add(facts, { sessionId: record.sessionId, agentId: record.id, phaseId: record.phaseId });
      events.emit('context.added', { runId, agentId: record.id, entries: added.length, tokens: added.reduce((sum, e) => sum + e.tokens, 0) });
    }
    await saveAgent(finished);
    const session = await store.getSession(record.sessionId);
    await store.saveSession({
      ...(session ?? { id: record.sessionId, runId, agentId: record.id, phaseId: record.phaseId, createdAt: now }),
      status: finished.status === 'succeeded' ? 'completed' : 'failed',
      updatedAt: now,
      expiresAt: expiryFrom(now, config.session_ttl_ms),
    });
    events.emit('agent.finished', {
      runId,
      phaseId: record.phaseId,
      agentId: record.id,
      status: finished.status,
      durationMs: finished.durationMs,
      attempts: finished.attempts,
      costUsd: finished.costUsd,
      usage: finished.usage,
      ...(finished.model ? { model: finished.model } : {}),
      ...(finished.error ? { error: finished.error } : {}),
    });
    return finished;
  };

  const phaseDone = new Map<string, Promise<PhaseStatus>>();
  const runPhase = async (phase: PhaseSpec): Promise<PhaseStatus> => {
    const dependencies = await Promise.all((phase.dependsOn ?? []).map((id) => phaseDone.get(id) ?? Promise.resolve<PhaseStatus>('failed')));
    const phaseAgents = phase.agents.map((a) => agents.get(a.id)).filter((a): a is AgentRecord => a !== undefined);
    const phaseRecord: PhaseRecord = { runId, id: phase.id, status: 'running', startedAt: clock.now() };

    let finished: AgentRecord[];
    const blockedBy = (phase.dependsOn ?? []).filter((_, i) => dependencies[i] !== 'succeeded');
    if (blockedBy.length > 0 || cancel.signal.aborted) {
      const error: ErrorInfo = cancel.signal.aborted
        ? stopError()
        : { code: ErrorCodes.dependencyFailed, message: `not run: phase ${blockedBy.join(', ')} did not succeed` };
      finished = await Promise.all(phaseAgents.map((a) => finish({ ...a, status: cancel.signal.aborted ? 'cancelled' : 'skipped', error })));
    } else {
      await store.savePhase(phaseRecord);
      events.emit('phase.started', { runId, phaseId: phase.id });
      for (const agent of phaseAgents) events.emit('agent.queued', { runId, phaseId: phase.id, agentId: agent.id });
      finished = await Promise.all(phaseAgents.map((a) => limiter.execute(() => runOneAgent(phase, a))));
    }
    const status = phaseStatusOf(finished.map((a) => a.status));
    await store.savePhase({ ...phaseRecord, status, finishedAt: clock.now() });
    events.emit('phase.finished', { runId, phaseId: phase.id, status });
    return status;
  };

  try {
    // Phases are registered before any starts, so a dependency declared later in the file is awaited too.
    const resolvers = new Map<string, (status: PhaseStatus) => void>();
    for (const phase of workflow.phases) {
      phaseDone.set(phase.id, new Promise((resolve) => resolvers.set(phase.id, resolve)));
    }
    await Promise.all(
      workflow.phases.map(async (phase) => {
        const status = await runPhase(phase).catch((error: unknown) => {
          run.error = toErrorInfo(error);
          return 'failed' as const;
        });
        resolvers.get(phase.id)?.(status);
      }),
    );
  } finally {
    clearInterval(poll);
    options.signal?.removeEventListener('abort', onExternalAbort);
  }

  const statuses = [...agents.values()].map((a) => a.status);
  const stop = cancel.signal.aborted ? stopError() : undefined;
  const finishedRun: RunRecord = { ...run, status: runStatusOf(statuses, stop), finishedAt: clock.now(), ...(stop && !run.error ? { error: stop } : {}) };
  await store.saveRun(finishedRun);
  const summary = await summarizeRun(store, runId);
  events.emit('run.finished', { runId, status: finishedRun.status, summary });
  return summary;
}

function reasonText(reason: unknown, fallback: string): string {
  return reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : fallback;
}

/**
 * Writes the MCP config an agent got, in `.mcp.json` form, for inspection. Variables stay as
 * `${VAR}` references: the expanded config goes to the agent over its stdin, never to disk.
 */
async function writeMcpConfigFile(dataDir: string, runId: string, agentId: string, mcp: McpManager, plan: AgentMcpPlan): Promise<void> {
  const dir = join(dataDir, 'runs', runId, 'mcp');
  await mkdir(dir, { recursive: true });
  const servers = Object.fromEntries(Object.keys(plan.servers).map((name) => [name, mcp.describe(name)]));
  await writeFile(join(dir, `${agentId}.json`), `${JSON.stringify({ mcpServers: servers }, null, 2)}\n`);
}

/** Asks the orchestrator of a run, wherever it is, to cancel it; signals it directly when it is local. */
export async function requestRunCancel(store: Store, runId: string): Promise<RunRecord> {
  const run = await store.getRun(runId);
  if (!run) throw new BatonError(ErrorCodes.usage, `No run with id ${runId}. List runs with: baton runs`);
  await store.requestCancel(runId);
  if (run.status === 'running' && run.pid !== undefined && run.host === hostname() && run.pid !== process.pid) {
    try {
      process.kill(run.pid, 'SIGTERM');
    } catch {
      // Already gone: the stored flag covers an orchestrator we cannot signal.
    }
  }
  return run;
}
