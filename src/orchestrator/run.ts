import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { AgentAbort, agentEnvironment, type AgentRuntime, type AgentSpec } from '../agents/index.js';
import type { BatonConfig } from '../config/index.js';
import { finishAgentMcpConfig, type AgentMcpPlan, type McpManager } from '../mcp/index.js';
import { BatonError, ErrorCodes, systemClock, toErrorInfo, type Clock, type ErrorInfo } from '../core/index.js';
import {
  emptyUsage,
  type AgentRecord,
  type AgentRole,
  type AgentStatus,
  type PhaseOutput,
  type PhaseRecord,
  type PhaseStatus,
  type RunRecord,
  type RunStatus,
  type Store,
} from '../store/index.js';
import { ancestorPhases, resolveAgent, type AgentEntry, type PhaseSpec, type Workflow } from '../workflow/index.js';
import { RunEvents } from './events.js';
import { summarizeRun, type RunSummary } from './summary.js';
import {
  AgentSummarizer,
  buildAppendedSystemPrompt,
  DynamicContextAccumulator,
  expiryFrom,
  extractContext,
  type ContextDraft,
  type SelectedContext,
} from '../context/index.js';
import { AgentScheduler } from './scheduler.js';
import { expandAgents, type AgentInstance } from './swarm.js';
import { evaluateCondition } from './condition.js';
import {
  concatResults,
  judgePrompt,
  mergeResults,
  reduceGroups,
  reducePrompt,
  voteResults,
  type AgentResultInput,
} from './aggregate.js';
import { nextGenerationPrompt, parsePlan, phasesFromPlan, planJsonSchema, type Plan } from './planning.js';
import { createWorktree, finishWorktree } from './worktree.js';
import { LocalExecutor, type AgentExecutor, type AgentJob } from './execute.js';

/** How often a running orchestrator checks the store for a `baton cancel` from another process. */
const CANCEL_POLL_MS = 250;
/** Longest phase output text passed on to dependents as a context entry. */
const PHASE_OUTPUT_CONTEXT_CHARS = 4000;

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
  /** Continue the stored run `runId`: finished agents are reused, the others run (again). */
  resume?: boolean;
  /** Who the run is for (default "default"): usage, budgets and concurrency limits add up per tenant. */
  tenant?: string;
  /** Overrides the workflow's priority. */
  priority?: number;
  /** USD the run may spend: the lower of the workflow's budgetUsd and what is left of its tenant's. */
  budgetUsd?: number;
  /** Tokens (input + output) the run may use: what is left of its tenant's daily token budget. */
  budgetTokens?: number;
  /** Who runs the agents: this process (default) or `baton worker`s through a queue. */
  executor?: AgentExecutor;
  /** Shared by runs in one process so parallel_limit, priorities and tenant limits hold across them. */
  scheduler?: AgentScheduler;
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

/** How a phase ended, as its dependents see it. */
interface PhaseResult {
  status: PhaseStatus;
  output?: PhaseOutput;
  error?: ErrorInfo;
}

/** A phase skipped because its `when:` did not hold still lets its dependents run. */
const satisfies = (result: PhaseResult): boolean =>
  result.status === 'succeeded' || result.error?.code === ErrorCodes.conditionFalse;

/** Agents whose stored result a resumed run reuses instead of running them again. */
const finishedStatuses: ReadonlySet<AgentStatus> = new Set(['succeeded', 'failed']);

function phaseStatusOf(statuses: AgentStatus[]): PhaseStatus {
  if (statuses.every((s) => s === 'succeeded')) return 'succeeded';
  if (statuses.some((s) => s === 'cancelled')) return 'cancelled';
  if (statuses.every((s) => s === 'skipped')) return 'skipped';
  return statuses.some((s) => s === 'succeeded') ? 'partial' : 'failed';
}

function runStatusOf(phases: PhaseResult[], stop: ErrorInfo | undefined): RunStatus {
  if (stop) return stop.code === ErrorCodes.cancelled ? 'cancelled' : 'failed';
  if (phases.every(satisfies)) return 'succeeded';
  return phases.some((p) => p.status === 'succeeded' || p.status === 'partial') ? 'partial' : 'failed';
}

/** An agent ready to start: its spec, its record as it starts, and what it inherited. */
interface PreparedAgent {
  /** The whole spec, for the session pool to start its process ahead. */
  spec: AgentSpec;
  job: AgentJob;
  started: AgentRecord;
  phase: PhaseSpec;
  inherited: { entries: number; tokens: number; phases: number; queryMs: number };
  /** How long getting ready took (waiting for MCP servers included): it counts against the agent's timeout. */
  prepareMs: number;
}

/** Where an agent comes from and what it is for, beyond its workflow entry. */
interface InstanceContext {
  phase: PhaseSpec;
  role: AgentRole;
  generation?: number;
}

/**
 * Runs a workflow: each phase starts once the phases it depends on have succeeded (or were skipped
 * by their `when:`), swarms fan out, results are aggregated into each phase's output, plan phases
 * run generation after generation, and at most `parallel_limit` agents run at once across the
 * whole run. Every record is committed to the store as it changes, so a run whose orchestrator dies
 * can be resumed with nothing lost and nothing done twice.
 */
export async function runWorkflow(options: RunWorkflowOptions): Promise<RunSummary> {
  return new RunExecution(options).run();
}

class RunExecution {
  private readonly workflow: Workflow;
  private readonly store: Store;
  private readonly config: BatonConfig;
  private readonly clock: Clock;
  private readonly events: RunEvents;
  private readonly runId: string;
  private readonly cancel = new AbortController();
  private readonly scheduler: AgentScheduler;
  private readonly accumulator: DynamicContextAccumulator;
  private readonly executor: AgentExecutor;
  private runRecord!: RunRecord;
  /** Every phase, from the workflow and from planners, by id. */
  private readonly phases = new Map<string, PhaseSpec>();
  /** The phases whose context a generated phase inherits (static ones follow dependsOn). */
  private readonly inheritance = new Map<string, string[]>();
  /** Generation and plan phase of generated phases. */
  private readonly generatedFrom = new Map<string, { generation: number; parentId: string }>();
  private readonly results = new Map<string, Promise<PhaseResult>>();
  private readonly outputs = new Map<string, PhaseOutput>();
  private readonly agents = new Map<string, AgentRecord>();
  private readonly budgetUsd?: number;
  private spentUsd = 0;
  private spentTokens = 0;
  private budgetWarned = false;
  /** Waiting agents being prepared for the session pool: pool room they will take once prewarmed. */
  private warming = 0;

  constructor(private readonly options: RunWorkflowOptions) {
    this.workflow = options.workflow;
    this.store = options.store;
    this.config = options.config;
    this.clock = options.clock ?? systemClock;
    this.events = options.events ?? new RunEvents();
    this.runId = options.runId ?? randomUUID();
    this.scheduler =
      options.scheduler ??
      new AgentScheduler({
        limit: options.config.parallel_limit,
        tenantLimits: options.config.tenant_max_concurrent_agents,
      });
    const budgets = [this.workflow.budgetUsd, options.budgetUsd].filter((b): b is number => b !== undefined);
    this.budgetUsd = budgets.length > 0 ? Math.min(...budgets) : undefined;
    for (const phase of this.workflow.phases) this.phases.set(phase.id, phase);
    this.executor =
      options.executor ??
      new LocalExecutor({
        store: options.store,
        runtime: options.runtime,
        env: options.env,
        ...(options.clock ? { clock: options.clock } : {}),
      });
    this.accumulator = new DynamicContextAccumulator({
      store: this.store,
      runId: this.runId,
      sizeLimitBytes: this.config.context_size_limit,
      ...(this.workflow.context.summarizer === 'agent'
        ? {
            summarizer: new AgentSummarizer({
              runtime: options.runtime,
              env: options.env,
              cwd: options.workflowDir,
              model: this.workflow.defaults?.model,
            }),
          }
        : {}),
      clock: this.clock,
    });
  }

  private get tenant(): string {
    return this.runRecord.tenant;
  }

  async run(): Promise<RunSummary> {
    await this.start();
    const onExternalAbort = (): void =>
      this.cancel.abort(new RunCancelled(reasonText(this.options.signal?.reason, 'run cancelled')));
    if (this.options.signal?.aborted) onExternalAbort();
    else this.options.signal?.addEventListener('abort', onExternalAbort, { once: true });
    const poll = setInterval(() => {
      this.store.isCancelRequested(this.runId).then(
        (requested) => {
          if (requested && !this.cancel.signal.aborted)
            this.cancel.abort(new RunCancelled('run cancelled by `baton cancel`'));
        },
        () => {
          // A store that cannot be read now fails the run's own writes too; the poll just tries again.
        },
      );
    }, CANCEL_POLL_MS);

    let phaseResults: PhaseResult[];
    try {
      phaseResults = await Promise.all(this.workflow.phases.map((phase) => this.result(phase.id)));
    } finally {
      clearInterval(poll);
      this.options.signal?.removeEventListener('abort', onExternalAbort);
    }

    const stop = this.cancel.signal.aborted ? this.stopError() : undefined;
    const finishedRun: RunRecord = {
      ...this.runRecord,
      status: runStatusOf(phaseResults, stop),
      finishedAt: this.clock.now(),
      ...(stop && !this.runRecord.error ? { error: stop } : {}),
    };
    await this.store.saveRun(finishedRun);
    const summary = await summarizeRun(this.store, this.runId);
    this.events.emit('run.finished', { runId: this.runId, status: finishedRun.status, summary });
    return summary;
  }

  /** Saves the run (new, or resumed with what it had stored) and the workflow's phases as pending. */
  private async start(): Promise<void> {
    const now = this.clock.now();
    const base = { status: 'running' as const, pid: process.pid, host: hostname(), startedAt: now };
    if (this.options.resume) {
      const stored = await this.store.getRun(this.runId);
      if (!stored)
        throw new BatonError(
          ErrorCodes.runNotResumable,
          `No run with id ${this.runId} to resume. List runs with: baton runs`,
        );
      const { error: _previousError, finishedAt: _finishedAt, ...rest } = stored;
      // A `baton cancel` that stopped the run before must not stop it again (nor make workers refuse its agents).
      await this.store.clearCancel(this.runId);
      // `baton run --resume <id> --priority <n>` changes the priority of what is left to run.
      this.runRecord = {
        ...rest,
        ...base,
        resumes: (stored.resumes ?? 0) + 1,
        ...(this.options.priority !== undefined ? { priority: this.options.priority } : {}),
      };
      for (const agent of await this.store.listAgents(this.runId)) this.agents.set(agent.id, agent);
      for (const phase of await this.store.listPhases(this.runId)) {
        if (phase.generation !== undefined && phase.parentId !== undefined)
          this.generatedFrom.set(phase.id, { generation: phase.generation, parentId: phase.parentId });
      }
    } else {
      this.runRecord = {
        id: this.runId,
        workflowName: this.workflow.name,
        tenant: this.options.tenant ?? 'default',
        workflowPath: this.options.workflowPath,
        workflow: this.workflow,
        createdAt: now,
        priority: this.options.priority ?? this.workflow.priority,
        ...base,
      };
    }
    await this.store.saveRun(this.runRecord);
    if (!this.options.resume) {
      // Every agent known before the run starts is stored as pending now, so the queue shows the work ahead.
      for (const phase of this.workflow.phases) {
        await this.store.savePhase({ runId: this.runId, id: phase.id, status: 'pending' });
        const instances = phase.plan ? [] : expandAgents(phase.agents, () => undefined);
        if (Array.isArray(instances))
          for (const instance of instances) await this.agentRecord(instance, { phase, role: 'worker' });
      }
    }
    const known = this.workflow.phases
      .flatMap((p) => p.agents)
      .reduce((n, a) => n + (Array.isArray(a.foreach) ? a.foreach.length : (a.count ?? 1)), 0);
    this.events.emit('run.started', {
      runId: this.runId,
      workflowName: this.workflow.name,
      agents: known,
      ...(this.options.resume
        ? { resumed: true, reused: [...this.agents.values()].filter((a) => finishedStatuses.has(a.status)).length }
        : {}),
    });
  }

  /** The phase's result, starting it on first ask (dependencies first, through the same map). */
  private result(phaseId: string): Promise<PhaseResult> {
    let result = this.results.get(phaseId);
    if (!result) {
      const phase = this.phases.get(phaseId);
      if (!phase) throw new Error(`phase ${phaseId} is not part of run ${this.runId}`);
      result = this.runPhase(phase).catch((error: unknown): PhaseResult => {
        this.runRecord.error ??= toErrorInfo(error);
        return { status: 'failed', error: toErrorInfo(error) };
      });
      this.results.set(phaseId, result);
    }
    return result;
  }

  /** Why the run was stopped early, as an agent's error: a cancel, or the run budget. */
  private stopError(): ErrorInfo {
    const reason: unknown = this.cancel.signal.reason;
    if (reason instanceof AgentAbort) return { code: ErrorCodes.runBudgetExceeded, message: reason.message };
    return { code: ErrorCodes.cancelled, message: reasonText(reason, 'run cancelled') };
  }

  /** Adds an attempt's cost; warns at 80 % of the run budget and stops every agent at 100 % of it or of the token budget. */
  private spend(costUsd: number, tokens: number): void {
    this.spentUsd += costUsd;
    this.spentTokens += tokens;
    const { budgetUsd, runId, events } = this;
    const tokenBudget = this.options.budgetTokens;
    if (budgetUsd !== undefined && !this.budgetWarned && this.spentUsd >= 0.8 * budgetUsd) {
      this.budgetWarned = true;
      events.emit('budget.warning', { runId, spentUsd: this.spentUsd, budgetUsd });
    }
    if (this.cancel.signal.aborted) return;
    if (budgetUsd !== undefined && this.spentUsd >= budgetUsd) {
      events.emit('budget.exceeded', { runId, spentUsd: this.spentUsd, budgetUsd });
      this.cancel.abort(
        new AgentAbort(
          'budget',
          `the run spent $${this.spentUsd.toFixed(4)} of its $${budgetUsd.toFixed(4)} budget and was stopped`,
        ),
      );
    } else if (tokenBudget !== undefined && this.spentTokens >= tokenBudget) {
      this.cancel.abort(
        new AgentAbort(
          'budget',
          `the run used ${this.spentTokens} tokens, all that was left of tenant ${this.tenant}'s daily token budget, and was stopped`,
        ),
      );
    }
  }

  private systemPromptFor(
    phaseId: string,
    agentId: string,
    entry: AgentEntry,
    plan?: AgentMcpPlan,
    context?: SelectedContext,
  ): string {
    return buildAppendedSystemPrompt({
      workflowName: this.workflow.name,
      workflowDescription: this.workflow.description,
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

  /** The phases whose context an agent of this phase inherits. */
  private inheritedPhases(phaseId: string): string[] {
    return this.inheritance.get(phaseId) ?? ancestorPhases(this.workflow, phaseId);
  }

  private async runPhase(phase: PhaseSpec): Promise<PhaseResult> {
    const dependencies = await Promise.all((phase.dependsOn ?? []).map((id) => this.result(id)));
    const origin = this.generatedFrom.get(phase.id);
    const record: PhaseRecord = {
      runId: this.runId,
      id: phase.id,
      status: 'running',
      startedAt: this.clock.now(),
      ...(origin ? { generation: origin.generation, parentId: origin.parentId, spec: phase } : {}),
    };
    // A dependency that did not succeed blocks the phase, unless its `when` asks for exactly that status (an on-failure phase).
    const wanted = (id: string, result: PhaseResult): boolean =>
      phase.when?.phase === id && (phase.when.status as string[] | undefined)?.includes(result.status) === true;
    const blockedBy = (phase.dependsOn ?? []).filter(
      (id, i) => !satisfies(dependencies[i]!) && !wanted(id, dependencies[i]!),
    );
    let result: PhaseResult;
    if (blockedBy.length > 0 || this.cancel.signal.aborted) {
      const error: ErrorInfo = this.cancel.signal.aborted
        ? this.stopError()
        : { code: ErrorCodes.dependencyFailed, message: `not run: phase ${blockedBy.join(', ')} did not succeed` };
      result = await this.skipPhase(phase, this.cancel.signal.aborted ? 'cancelled' : 'skipped', error);
    } else {
      const condition = phase.when ? evaluateCondition(phase.when, await this.result(phase.when.phase)) : undefined;
      if (condition && !condition.holds) {
        result = await this.skipPhase(phase, 'skipped', {
          code: ErrorCodes.conditionFalse,
          message: `not run: when: ${condition.reason}`,
        });
      } else {
        await this.store.savePhase(record);
        this.events.emit('phase.started', { runId: this.runId, phaseId: phase.id });
        result = phase.plan ? await this.runPlanning(phase) : await this.runAgentsOf(phase, origin?.generation);
      }
    }
    if (result.output) {
      this.outputs.set(phase.id, result.output);
      await this.passOnOutput(phase, result.output);
    }
    await this.store.savePhase({
      ...record,
      status: result.status,
      finishedAt: this.clock.now(),
      ...(result.output ? { output: result.output } : {}),
      ...(result.error ? { error: result.error } : {}),
    });
    this.events.emit('phase.finished', { runId: this.runId, phaseId: phase.id, status: result.status });
    return result;
  }

  /** Records every agent of a phase that will not run as skipped or cancelled (reusing ones already finished). */
  private async skipPhase(phase: PhaseSpec, status: 'skipped' | 'cancelled', error: ErrorInfo): Promise<PhaseResult> {
    const expanded = expandAgents(phase.agents, (id) => this.outputs.get(id));
    const instances = Array.isArray(expanded)
      ? expanded
      : phase.agents.map((entry) => ({ id: entry.id, entry, prompt: entry.prompt }));
    const generation = this.generatedFrom.get(phase.id)?.generation;
    const finished = await Promise.all(
      instances.map(async (instance) => {
        const agent = await this.agentRecord(instance, { phase, role: 'worker', generation });
        return finishedStatuses.has(agent.status) ? agent : this.finish({ ...agent, status, error });
      }),
    );
    return { status: phase.plan ? status : phaseStatusOf(finished.map((a) => a.status)), error };
  }

  private async runAgentsOf(phase: PhaseSpec, generation: number | undefined): Promise<PhaseResult> {
    const expanded = expandAgents(phase.agents, (id) => this.outputs.get(id));
    if (!Array.isArray(expanded)) return { status: 'failed', error: expanded };
    const finished = await Promise.all(
      expanded.map((instance) => this.runInstance(instance, { phase, role: 'worker', generation })),
    );
    const statuses = finished.map((a) => a.status);
    const succeeded = finished
      .filter((a) => a.status === 'succeeded' && a.output)
      .map((a): AgentResultInput => ({ agentId: a.id, output: a.output! }));
    if (succeeded.length === 0) return { status: phaseStatusOf(statuses) };
    const output = await this.aggregate(phase, succeeded, generation);
    const aggregatorFailed = output === undefined;
    return {
      status: aggregatorFailed
        ? statuses.every((s) => s === 'succeeded')
          ? 'partial'
          : phaseStatusOf(statuses)
        : phaseStatusOf(statuses),
      ...(output ? { output } : {}),
    };
  }

  /** Combines a phase's successful results into its output; undefined when its judge or reducer failed. */
  private async aggregate(
    phase: PhaseSpec,
    results: AgentResultInput[],
    generation: number | undefined,
  ): Promise<PhaseOutput | undefined> {
    const spec = phase.aggregate;
    if (!spec)
      return results.length === 1 && phase.agents.every((a) => a.count === undefined && a.foreach === undefined)
        ? { strategy: 'single', ...results[0]!.output }
        : concatResults(results);
    if (spec.strategy === 'concat') return concatResults(results);
    if (spec.strategy === 'merge') return mergeResults(results);
    if (spec.strategy === 'vote') return voteResults(results, spec.field!);

    const template = phase.agents[0]!;
    const aggregatorEntry = (id: string, prompt: string): AgentEntry => ({
      id,
      prompt,
      ...((spec.model ?? template.model) ? { model: spec.model ?? template.model } : {}),
      // The judge answers in the shape the phase's agents did, so dependents read one format.
      ...(template.outputSchema ? { outputSchema: template.outputSchema } : {}),
      mcpServers: [],
    });
    const runAggregator = async (
      id: string,
      prompt: string,
      role: AgentRole,
    ): Promise<AgentResultInput | undefined> => {
      const entry = aggregatorEntry(id, prompt);
      const agent = await this.runInstance({ id, entry, prompt }, { phase, role, generation });
      return agent.status === 'succeeded' && agent.output ? { agentId: agent.id, output: agent.output } : undefined;
    };

    if (spec.strategy === 'judge') {
      const verdict = await runAggregator(`${phase.id}.judge`, judgePrompt(spec, phase.id, results), 'judge');
      return (
        verdict && {
          strategy: 'judge',
          ...verdict.output,
          details: { judge: verdict.agentId, candidates: results.map((r) => r.agentId) },
        }
      );
    }
    // reduce: fold `fanIn` results at a time, level by level, until one is left.
    let level = 0;
    let current = results;
    while (current.length > 1) {
      level++;
      const groups = reduceGroups(current, spec.fanIn);
      const folded = await Promise.all(
        groups.map((group, i) =>
          group.length === 1
            ? group[0]
            : runAggregator(`${phase.id}.reduce.${level}.${i}`, reducePrompt(spec, phase.id, group), 'reducer'),
        ),
      );
      if (folded.some((r) => r === undefined)) return undefined;
      current = folded as AgentResultInput[];
    }
    return { strategy: 'reduce', ...current[0]!.output, details: { levels: level, inputs: results.length } };
  }

  /**
   * A plan phase: the planner answers with tasks, Baton runs them as phases of the next generation,
   * feeds their results back, and asks again — until the planner says done or plan.maxGenerations.
   */
  private async runPlanning(phase: PhaseSpec): Promise<PhaseResult> {
    const planner = phase.agents[0]!;
    const maxGenerations = phase.plan?.maxGenerations ?? 1;
    const history: Array<{ generation: number; results: Array<{ task: string; status: string; text: string }> }> = [];
    const generatedIds: string[] = [];
    let lastPlan: Plan | undefined;
    let status: PhaseStatus = 'succeeded';
    for (let generation = 1; generation <= maxGenerations; generation++) {
      const id = `${planner.id}.g${generation}`;
      const entry: AgentEntry = { ...planner, id, outputSchema: planJsonSchema };
      const agent = await this.runInstance(
        { id, entry, prompt: nextGenerationPrompt(planner.prompt, history) },
        { phase, role: 'planner', generation },
      );
      if (agent.status !== 'succeeded')
        return {
          status: generation === 1 ? phaseStatusOf([agent.status]) : 'partial',
          ...(agent.error ? { error: agent.error } : {}),
        };
      try {
        lastPlan = parsePlan(agent.output, agent.id);
      } catch (error) {
        return { status: generation === 1 ? 'failed' : 'partial', error: toErrorInfo(error) };
      }
      this.events.emit('plan.generation', {
        runId: this.runId,
        phaseId: phase.id,
        generation,
        tasks: lastPlan.tasks.length,
        done: lastPlan.done,
      });
      if (lastPlan.done || lastPlan.tasks.length === 0) break;

      const planned = phasesFromPlan(lastPlan, phase.id, generation, planner);
      const inheritedBase = [...ancestorPhases(this.workflow, phase.id), phase.id, ...generatedIds];
      for (const spec of planned) {
        this.phases.set(spec.id, spec);
        this.generatedFrom.set(spec.id, { generation, parentId: phase.id });
        this.inheritance.set(spec.id, [...inheritedBase, ...ancestorPhases({ phases: planned }, spec.id)]);
      }
      const results = await Promise.all(planned.map((spec) => this.result(spec.id)));
      generatedIds.push(...planned.map((spec) => spec.id));
      history.push({
        generation,
        results: planned.map((spec, i) => ({
          task: lastPlan!.tasks[i]!.id,
          status: results[i]!.status,
          text: results[i]!.output?.text ?? results[i]!.error?.message ?? '',
        })),
      });
      if (results.some((r) => !satisfies(r))) status = 'partial';
      if (this.cancel.signal.aborted) return { status: 'cancelled', error: this.stopError() };
    }
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
      status,
      output: {
        strategy: 'plan',
        text,
        structured: { done: !reachedLimit, generations: history },
        details: { generations: history.length, reachedLimit },
      },
    };
  }

  /** The agent's stored record (a resumed run), or a new pending one with its own session. */
  private async agentRecord(instance: AgentInstance, where: InstanceContext): Promise<AgentRecord> {
    const existing = this.agents.get(instance.id);
    if (existing) return existing;
    const now = this.clock.now();
    const record: AgentRecord = {
      runId: this.runId,
      phaseId: where.phase.id,
      id: instance.id,
      sessionId: randomUUID(),
      status: 'pending',
      prompt: instance.prompt,
      systemPrompt: this.systemPromptFor(where.phase.id, instance.id, instance.entry),
      usage: emptyUsage(),
      costUsd: 0,
      turns: 0,
      attempts: 0,
      durationMs: 0,
      entryId: instance.entry.id,
      role: where.role,
      ...(where.generation !== undefined ? { generation: where.generation } : {}),
      ...(instance.index !== undefined ? { index: instance.index } : {}),
    };
    this.agents.set(record.id, record);
    await this.store.saveAgent(record);
    await this.store.saveSession({
      id: record.sessionId,
      runId: this.runId,
      agentId: record.id,
      phaseId: where.phase.id,
      status: 'created',
      createdAt: now,
      updatedAt: now,
    });
    return record;
  }

  /** Runs one agent once: a finished one of a resumed run is reused, anything else waits for a slot and runs. */
  private async runInstance(instance: AgentInstance, where: InstanceContext): Promise<AgentRecord> {
    const record = await this.agentRecord(instance, where);
    if (finishedStatuses.has(record.status)) {
      // Its facts may not have been saved when the orchestrator died; saving them again is a no-op.
      await this.saveFacts(record);
      this.events.emit('agent.reused', {
        runId: this.runId,
        phaseId: record.phaseId,
        agentId: record.id,
        status: record.status,
      });
      return record;
    }
    if (this.cancel.signal.aborted) return this.finish({ ...record, status: 'cancelled', error: this.stopError() });
    this.events.emit('agent.queued', { runId: this.runId, phaseId: where.phase.id, agentId: record.id });
    const { runtime } = this.options;
    // An agent that has to wait for a slot gets its process started meanwhile, while the pool has room.
    // Room is counted as taken while the agent is prepared, so a long queue does not prepare every agent.
    const warmUp =
      this.executor.local &&
      runtime.prewarm &&
      (runtime.warmCapacity ?? 0) > this.warming &&
      !this.scheduler.hasFreeSlot(this.tenant) &&
      this.budgetUsd === undefined;
    const slot = this.scheduler.acquire({
      tenant: this.tenant,
      priority: this.runRecord.priority ?? 0,
      signal: this.cancel.signal,
    });
    let prepared: PreparedAgent | AgentRecord | undefined;
    let release: () => void;
    try {
      if (warmUp) {
        this.warming++;
        try {
          prepared = await this.prepare(instance, record, where);
          if ('spec' in prepared && !this.cancel.signal.aborted) runtime.prewarm!(prepared.spec);
        } finally {
          this.warming--;
        }
      }
      release = await slot;
    } catch (error) {
      slot.then(
        (r) => r(),
        () => undefined,
      );
      if (this.cancel.signal.aborted) return this.finish({ ...record, status: 'cancelled', error: this.stopError() });
      throw error;
    }
    try {
      prepared ??= await this.prepare(instance, record, where);
      return 'spec' in prepared ? await this.launch(prepared) : prepared;
    } finally {
      release();
    }
  }

  /**
   * Everything an agent needs before its process starts: context, MCP servers, worktree, the spec.
   * Returns the agent's final record instead when it cannot start.
   */
  private async prepare(
    instance: AgentInstance,
    record: AgentRecord,
    where: InstanceContext,
  ): Promise<PreparedAgent | AgentRecord> {
    const { phase } = where;
    const { config, runId, events } = this;
    const resolved = resolveAgent(this.workflow, phase, instance.entry, this.options.workflowDir);
    const timeoutMs = resolved.timeoutMs ?? config.agent_timeout_ms;
    const startedAt = this.clock.now();

    const inheritedPhases = this.inheritedPhases(phase.id);
    const queryStarted = performance.now();
    const context = await this.accumulator.select({
      phaseIds: inheritedPhases,
      task: record.prompt,
      mode: resolved.inherit,
      budgetTokens: this.workflow.context.budgetTokens,
    });
    const queryMs = performance.now() - queryStarted;
    if (context.corrupt.length > 0)
      events.emit('context.corrupt', { runId, agentId: record.id, entryIds: context.corrupt });

    let plan: AgentMcpPlan | undefined;
    if (this.options.mcp) {
      try {
        plan = await this.options.mcp.prepareAgent({
          agentId: record.id,
          task: record.prompt,
          requested: resolved.mcpServers,
          policy: resolved.onMcpUnavailable,
          // Waiting for a server counts against the agent's own time.
          signal: AbortSignal.any([this.cancel.signal, AbortSignal.timeout(timeoutMs)]),
        });
      } catch (error) {
        return this.finish({
          ...record,
          status: 'failed',
          model: resolved.model,
          startedAt,
          error: toErrorInfo(error),
        });
      }
      const mcpConfig = { dataDir: config.data_dir, runId, agentId: record.id, tenant: this.tenant };
      plan = await finishAgentMcpConfig({ ...mcpConfig, mcp: this.options.mcp, plan });
      events.emit('agent.mcp', {
        runId,
        agentId: record.id,
        servers: Object.keys(plan.servers),
        missing: plan.missing,
      });
    }

    let workspace = record.workspace;
    if (phase.workspace === 'worktree') {
      try {
        workspace = await createWorktree(
          resolve(this.options.workflowDir, phase.repo ?? '.'),
          resolve(config.data_dir),
          runId,
          record.id,
        );
      } catch (error) {
        return this.finish({
          ...record,
          status: 'failed',
          model: resolved.model,
          startedAt,
          error: toErrorInfo(error),
        });
      }
    }
    const cwd = workspace?.path ?? resolved.cwd;

    const mcpServerNames = Object.keys(plan?.servers ?? {});
    const remainingBudget = this.budgetUsd === undefined ? undefined : Math.max(0.0001, this.budgetUsd - this.spentUsd);
    const spec: AgentSpec = {
      agentId: record.id,
      sessionId: record.sessionId,
      prompt: record.prompt,
      appendSystemPrompt: this.systemPromptFor(phase.id, record.id, instance.entry, plan, context),
      model: resolved.model,
      cwd,
      // An agent may use the tools of every MCP server it was given.
      allowedTools:
        mcpServerNames.length > 0
          ? [...(resolved.allowedTools ?? []), ...mcpServerNames.map((name) => `mcp__${name}`)]
          : resolved.allowedTools,
      disallowedTools: resolved.disallowedTools,
      mcpServers: plan?.servers,
      env: agentEnvironment(this.options.env, resolved.env),
      // The agent may not spend more than what is left of the run's budget.
      maxBudgetUsd:
        remainingBudget === undefined
          ? resolved.maxBudgetUsd
          : Math.min(resolved.maxBudgetUsd ?? Infinity, remainingBudget),
      maxTurns: resolved.maxTurns,
      outputSchema: resolved.outputSchema,
    };

    const started: AgentRecord = {
      ...record,
      status: 'running',
      systemPrompt: spec.appendSystemPrompt ?? record.systemPrompt,
      model: resolved.model,
      startedAt: record.startedAt ?? startedAt,
      ...(plan ? { mcp: { servers: mcpServerNames, chosen: plan.chosen, missing: plan.missing } } : {}),
      ...(workspace ? { workspace } : {}),
      context: {
        mode: context.mode,
        entryIds: context.entries.map((e) => e.id),
        tokens: context.tokens,
        considered: context.considered,
      },
    };
    const { env: _env, ...portable } = spec;
    const job: AgentJob = {
      runId,
      agentId: record.id,
      tenant: this.tenant,
      priority: this.runRecord.priority ?? 0,
      ...(record.generation !== undefined ? { generation: record.generation } : {}),
      ...(record.index !== undefined ? { index: record.index } : {}),
      spec: portable,
      env: resolved.env,
      retry: {
        maxRetries: config.max_retries,
        baseDelayMs: config.retry_base_delay_ms,
        maxDelayMs: config.retry_max_delay_ms,
      },
      timeoutMs,
    };
    return {
      spec,
      job,
      started,
      phase,
      inherited: { entries: context.entries.length, tokens: context.tokens, phases: inheritedPhases.length, queryMs },
      prepareMs: this.clock.now() - startedAt,
    };
  }

  /** Starts a prepared agent and runs it to its end: attempts, retries, its worktree's commit. */
  private async launch(prepared: PreparedAgent): Promise<AgentRecord> {
    const { started, phase } = prepared;
    const { runId, events } = this;
    const record = started;
    if (this.cancel.signal.aborted) return this.finish({ ...started, status: 'cancelled', error: this.stopError() });
    const startedAt = this.clock.now();
    const session = await this.store.getSession(record.sessionId);
    if (session) await this.store.saveSession({ ...session, status: 'active', updatedAt: startedAt });
    await this.saveAgent(started);
    events.emit('agent.started', {
      runId,
      phaseId: phase.id,
      agentId: record.id,
      sessionId: record.sessionId,
      inherited: prepared.inherited,
    });

    // Neither a wait for a slot (a prewarmed agent is prepared before it) nor the time between a crash and
    // `--resume` counts against the agent's timeout; its own preparation does.
    const result = await this.executor.execute(
      { ...prepared.job, timeoutMs: prepared.job.timeoutMs - prepared.prepareMs },
      this.cancel.signal,
      {
        attemptStarted: (info, attempt) =>
          events.emit('agent.attempt', { runId, agentId: record.id, attempt, resumed: info.resumed }),
        attemptFinished: (_info, attempt, outcome) => {
          this.spend(outcome.costUsd, outcome.usage.inputTokens + outcome.usage.outputTokens);
          events.emit('agent.attempt.finished', {
            runId,
            agentId: record.id,
            attempt,
            status: outcome.status,
            ...(outcome.startupMs !== undefined ? { startupMs: outcome.startupMs } : {}),
            ...(outcome.error ? { errorCode: outcome.error.code } : {}),
          });
        },
      },
    );
    if (!this.executor.local) this.spend(result.costUsd, result.usage.inputTokens + result.usage.outputTokens);

    const workspace = started.workspace;
    let finalWorkspace = workspace;
    if (workspace && phase.workspace === 'worktree') {
      finalWorkspace = await finishWorktree(workspace, record.id).catch((error: unknown) => {
        events.emit('agent.workspace.failed', { runId, agentId: record.id, error: toErrorInfo(error) });
        return workspace;
      });
    }
    return this.finish({
      ...started,
      ...result,
      ...(finalWorkspace ? { workspace: finalWorkspace } : {}),
    });
  }

  private async saveAgent(record: AgentRecord): Promise<void> {
    this.agents.set(record.id, record);
    await this.store.saveAgent(record);
  }

  /** What an agent leaves for the agents after it: the facts in its result, or why it failed. */
  private factsOf(record: AgentRecord): ContextDraft[] {
    if (record.status === 'succeeded' && record.output) return extractContext(record.output);
    if (record.status === 'failed' && record.error) {
      return [
        {
          type: 'error',
          content: `Agent ${record.id} failed: ${record.error.code}: ${record.error.message}`,
          tags: [record.error.code.toLowerCase()],
        },
      ];
    }
    return [];
  }

  /** Saves an agent's facts under ids derived from its session, so saving them twice changes nothing. */
  private async saveFacts(record: AgentRecord): Promise<void> {
    const facts = this.factsOf(record);
    if (facts.length === 0) return;
    const added = await this.accumulator.add(
      facts,
      { sessionId: record.sessionId, agentId: record.id, phaseId: record.phaseId },
      `${record.sessionId}:fact`,
    );
    this.events.emit('context.added', {
      runId: this.runId,
      agentId: record.id,
      entries: added.length,
      tokens: added.reduce((sum, e) => sum + e.tokens, 0),
    });
  }

  /**
   * Stores an agent's final record, then its facts, closes its session and tells subscribers — for
   * agents that ran, failed to start, or never started (skipped, cancelled). The record goes first:
   * once it is stored the agent never runs again, and its facts follow from it.
   */
  private async finish(record: AgentRecord): Promise<AgentRecord> {
    const now = this.clock.now();
    const finished: AgentRecord = { ...record, finishedAt: now };
    await this.saveAgent(finished);
    await this.saveFacts(finished);
    const session = await this.store.getSession(record.sessionId);
    await this.store.saveSession({
      ...(session ?? {
        id: record.sessionId,
        runId: this.runId,
        agentId: record.id,
        phaseId: record.phaseId,
        createdAt: now,
      }),
      status: finished.status === 'succeeded' ? 'completed' : 'failed',
      updatedAt: now,
      expiresAt: expiryFrom(now, this.config.session_ttl_ms),
    });
    this.events.emit('agent.finished', {
      runId: this.runId,
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
  }

  /** An aggregated output (not one agent's own) becomes a fact of its phase, for the phases after it. */
  private async passOnOutput(phase: PhaseSpec, output: PhaseOutput): Promise<void> {
    if (output.strategy === 'single' || output.strategy === 'judge' || output.strategy === 'reduce') return; // the deciding agent's own facts carry it
    const text =
      output.text.length > PHASE_OUTPUT_CONTEXT_CHARS
        ? `${output.text.slice(0, PHASE_OUTPUT_CONTEXT_CHARS)}…`
        : output.text;
    await this.accumulator.upsertKeyed(
      `phase-output/${phase.id}`,
      () => ({
        type: 'artifact',
        content: `Output of phase ${phase.id} (${output.strategy}):\n${text}`,
        tags: ['phase-output', output.strategy],
      }),
      { phaseId: phase.id },
    );
  }
}

function reasonText(reason: unknown, fallback: string): string {
  return reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : fallback;
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
