import type { AgentRuntime } from '../agents/index.js';
import { PhaseGates } from '../approvals/index.js';
import type { BatonConfig } from '../config/index.js';
import { AgentReranker, AgentSummarizer, DynamicContextAccumulator, type TaskDescription } from '../context/index.js';
import { ErrorCodes, systemClock, type Clock, type ErrorInfo } from '../core/index.js';
import type { McpManager } from '../mcp/index.js';
import type { AgentRole, AgentStatus, PhaseOutput, PhaseStatus, RunRecord, Store } from '../store/index.js';
import type { AgentEntry, InheritMode, PhaseSpec, Workflow } from '../workflow/index.js';
import { AgentRecords, failedUntilFixed } from './agent-records.js';
import { recordBatonCalls } from './baton-calls.js';
import type { RunEvents } from './events.js';
import { LocalExecutor, type AgentExecutor } from './execute.js';
import { RunBudget } from './run-budget.js';
import { RunStop } from './run-stop.js';
import { AgentScheduler } from './scheduler.js';
import { expandAgents } from './swarm.js';

/** What the modules of one run share: its record, its seams (store, executor, events) and its controls. */
export interface RunContext {
  readonly runId: string;
  readonly workflow: Workflow;
  /** Directory that relative paths in the workflow resolve against. */
  readonly workflowDir: string;
  /** Base environment of the run's agent processes (where their Claude Code keeps its transcripts). */
  readonly env: NodeJS.ProcessEnv;
  readonly config: BatonConfig;
  readonly store: Store;
  readonly clock: Clock;
  readonly events: RunEvents;
  readonly executor: AgentExecutor;
  readonly scheduler: AgentScheduler;
  readonly accumulator: DynamicContextAccumulator;
  readonly mcp?: McpManager;
  readonly stop: RunStop;
  readonly budget: RunBudget;
  readonly records: AgentRecords;
  /** Phase gates (`approval: { before, after }`): a person approves before a phase starts or passes on. */
  readonly gates: PhaseGates;
  /** `baton merge`: the phases whose branches are merged again from their base commit. */
  readonly redoMerge?: string[];
  /** The commit each worktree phase's agents branch from, settled by its first agent (prepare-agent.ts). */
  readonly worktreeBases: Map<string, Promise<string>>;
  /** The run as stored; set once the run starts. */
  readonly run: () => RunRecord;
  /**
   * For a run resumed after it ended (failed, cancelled): when it ended. A tool call or gate denied or
   * expired by then was told to that orchestrator, and this one asks a person again.
   */
  readonly askAgainBefore: () => number | undefined;
  /** The phases whose context an agent of this phase inherits. */
  inheritedPhases(phaseId: string): string[];
}

/** Where an agent comes from and what it is for, beyond its workflow entry. */
export interface InstanceContext {
  phase: PhaseSpec;
  role: AgentRole;
  generation?: number;
}

/** How a phase ended, as its dependents see it. */
export interface PhaseResult {
  status: PhaseStatus;
  output?: PhaseOutput;
  error?: ErrorInfo;
}

/** Whether a resumed run reuses an agent's stored result instead of running it again. */
export const isFinished = (agent: { status: AgentStatus; error?: ErrorInfo }): boolean =>
  agent.status === 'succeeded' || (agent.status === 'failed' && !failedUntilFixed.has(agent.error?.code ?? ''));

/** A phase skipped because its `when:` did not hold still lets its dependents run. */
export const satisfies = (result: PhaseResult): boolean =>
  result.status === 'succeeded' || result.error?.code === ErrorCodes.conditionFalse;

export function phaseStatusOf(statuses: AgentStatus[]): PhaseStatus {
  if (statuses.every((s) => s === 'succeeded')) return 'succeeded';
  if (statuses.some((s) => s === 'cancelled')) return 'cancelled';
  if (statuses.every((s) => s === 'skipped')) return 'skipped';
  return statuses.some((s) => s === 'succeeded') ? 'partial' : 'failed';
}

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
  /** What is left of the tenant's daily USD budget (the run may spend the lower of it and the workflow's budgetUsd). */
  budgetUsd?: number;
  /** Tokens (input + output) the run may use: what is left of its tenant's daily token budget. */
  budgetTokens?: number;
  /** Who runs the agents: this process (default) or `baton worker`s through a queue. */
  executor?: AgentExecutor;
  /** Shared by runs in one process so parallel_limit, priorities and tenant limits hold across them. */
  scheduler?: AgentScheduler;
  /** `baton merge`: the phases whose branches are merged again from their base commit. */
  redoMerge?: string[];
  /** Aborting it cancels the run: every agent is killed. */
  signal?: AbortSignal;
  events?: RunEvents;
  clock?: Clock;
}

/** Modes in which an agent may be given a summary (`all` over the size limit); `filtered` and `none` never read one. */
const readsSummaries: ReadonlySet<InheritMode> = new Set(['all', 'summary']);

/** More distinct reader tasks than this (a large swarm) add little to what a summary keeps first. */
const MAX_READERS = 200;

/**
 * The agents that may read a summary of `phaseIds` (their phase — in the workflow or added by a planner —
 * inherits all of them, in `summary` or `all` mode; a run summary covers several), a swarm as its members (their `{{item}}` filled in once the list is known):
 * a summary of those phases keeps first what they ask about.
 */
export function readersOf(
  workflow: Workflow,
  graph: {
    phases: () => Iterable<PhaseSpec>;
    inheritedPhases: (phaseId: string) => string[];
    outputOf: (phaseId: string) => PhaseOutput | undefined;
  },
) {
  const { inheritedPhases, outputOf } = graph;
  const membersOf = (entry: AgentEntry): Array<{ prompt: string }> => {
    try {
      return expandAgents([entry], outputOf);
    } catch {
      return [entry]; // a foreach whose list is not there yet
    }
  };
  return (phaseIds: string[]): TaskDescription[] => {
    const readers = [...graph.phases()]
      .filter((phase) => phaseIds.every((id) => inheritedPhases(phase.id).includes(id)))
      .flatMap((phase) =>
        phase.agents
          .filter((agent) => readsSummaries.has(agent.inherit ?? phase.inherit ?? workflow.context.inherit))
          .flatMap((agent) =>
            membersOf(agent).map((member) => ({
              task: member.prompt,
              ...(agent.systemPrompt ? { role: agent.systemPrompt } : {}),
              phaseId: phase.id,
            })),
          ),
      );
    // One reader per task (a swarm's members without {{item}} ask the same), the first MAX_READERS.
    const seen = new Set<string>();
    return readers.filter((reader) => !seen.has(reader.task) && seen.add(reader.task)).slice(0, MAX_READERS);
  };
}

/**
 * Whether some agent of the workflow is given earlier agents' context: its phase inherits a phase and
 * its mode is not `none` (one phase, or agents that all inherit nothing, never select any).
 */
export function inheritsContext(workflow: Workflow, inheritedPhases: (phaseId: string) => string[]): boolean {
  return workflow.phases.some(
    (phase) =>
      inheritedPhases(phase.id).length > 0 &&
      phase.agents.some((agent) => (agent.inherit ?? phase.inherit ?? workflow.context.inherit) !== 'none'),
  );
}

/** Builds the context of a run from its options; `graph` is what the phase graph itself provides. */
export function createRunContext(
  options: RunWorkflowOptions,
  graph: Pick<RunContext, 'runId' | 'events' | 'run' | 'askAgainBefore' | 'inheritedPhases'> & {
    /** A finished phase's output (a swarm's `foreach` list may come from one). */
    outputOf?: (phaseId: string) => PhaseOutput | undefined;
    /** Every phase known so far: the workflow's and those planners added. */
    phases?: () => Iterable<PhaseSpec>;
  },
): RunContext {
  const { workflow } = options;
  const { runId, events } = graph;
  const { config, store } = options;
  const clock = options.clock ?? systemClock;
  const stop = new RunStop();
  const budget = new RunBudget({
    runId,
    tenant: () => graph.run().tenant,
    ...(workflow.budgetUsd !== undefined ? { runBudgetUsd: workflow.budgetUsd } : {}),
    ...(options.budgetUsd !== undefined ? { tenantLeftUsd: options.budgetUsd } : {}),
    ...(options.budgetTokens !== undefined ? { tenantLeftTokens: options.budgetTokens } : {}),
    events,
    stop,
  });
  // The summarizer's and re-ranker's model calls are the run's spend too: budgeted and stored.
  const oneTurn = {
    runtime: options.runtime,
    env: options.env,
    cwd: options.workflowDir,
    model: workflow.defaults?.model,
    maxBudgetUsd: () => budget.remainingUsd(),
    ...recordBatonCalls({ runId, run: graph.run, store, clock, events, budget }),
  };
  const accumulator = new DynamicContextAccumulator({
    store,
    runId,
    sizeLimitBytes: config.context_size_limit,
    ...(workflow.context.summarizer === 'agent' ? { summarizer: new AgentSummarizer(oneTurn) } : {}),
    ...(workflow.context.rerank === 'agent' ? { reranker: new AgentReranker(oneTurn) } : {}),
    ...(workflow.context.superseded === 'show' ? { showSuperseded: true } : {}),
    readersOf: readersOf(workflow, {
      phases: graph.phases ?? (() => workflow.phases),
      inheritedPhases: graph.inheritedPhases,
      outputOf: graph.outputOf ?? (() => undefined),
    }),
    // No selection of the workflow's will need WordNet (a planner's may: it loads then).
    preloadWordNet: inheritsContext(workflow, graph.inheritedPhases),
    clock,
  });
  return {
    runId,
    workflow,
    workflowDir: options.workflowDir,
    env: options.env,
    config,
    store,
    clock,
    events,
    stop,
    accumulator,
    ...(options.mcp ? { mcp: options.mcp } : {}),
    ...(options.redoMerge ? { redoMerge: options.redoMerge } : {}),
    executor:
      options.executor ??
      new LocalExecutor({ store, runtime: options.runtime, env: options.env, ...(options.clock ? { clock } : {}) }),
    scheduler:
      options.scheduler ??
      new AgentScheduler({ limit: config.parallel_limit, tenantLimits: config.tenant_max_concurrent_agents }),
    budget,
    records: new AgentRecords({
      runId,
      workflow,
      store,
      clock,
      events,
      accumulator,
      sessionTtlMs: config.session_ttl_ms,
    }),
    gates: new PhaseGates({ ...options, runId, stop, clock, askAgainBefore: graph.askAgainBefore }),
    worktreeBases: new Map(),
    run: graph.run,
    askAgainBefore: graph.askAgainBefore,
    inheritedPhases: graph.inheritedPhases,
  };
}
