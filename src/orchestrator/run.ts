import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { BatonError, ErrorCodes, toErrorInfo, type ErrorInfo } from '../core/index.js';
import { isDiskFull, type PhaseOutput, type PhaseRecord, type RunRecord, type RunStatus } from '../store/index.js';
import { ancestorPhases, type PhaseSpec, type Workflow } from '../workflow/index.js';
import { passOnPhaseOutput, runAgentPhase } from './aggregate-phase.js';
import { recordAliveWhileRunning } from './alive.js';
import { evaluateCondition } from './condition.js';
import { RunEvents } from './events.js';
import { runPlanningPhase, type PhaseGraph } from './planning-phase.js';
import { afterGate, mergeBack } from './merge-back.js';
import { closeBatonCallsLeftRunning } from './baton-calls.js';
import { closeAttemptsLeftRunning } from './lost-attempts.js';
import { loadResumedRun } from './resume.js';
import { createAgentRunner, type RunAgent } from './run-agent.js';
import {
  createRunContext,
  isFinished,
  phaseStatusOf,
  satisfies,
  type PhaseResult,
  type RunContext,
  type RunWorkflowOptions,
} from './run-context.js';
import { summarizeRun, type RunSummary } from './summary.js';
import { expandAgents, type AgentInstance } from './swarm.js';

function runStatusOf(phases: PhaseResult[], stop: ErrorInfo | undefined): RunStatus {
  if (stop) return stop.code === ErrorCodes.cancelled ? 'cancelled' : 'failed';
  if (phases.every(satisfies)) return 'succeeded';
  return phases.some((p) => p.status === 'succeeded' || p.status === 'partial') ? 'partial' : 'failed';
}

export type { RunWorkflowOptions };

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

/** The phase graph of one run: which phase runs when, and how each one ends. Agents go through runAgent. */
class RunExecution implements PhaseGraph {
  readonly runId: string;
  readonly workflow: Workflow;
  readonly events: RunEvents;
  private readonly ctx: RunContext;
  private readonly runAgent: RunAgent;
  private runRecord!: RunRecord;
  /** Every phase, from the workflow and from planners, by id. */
  private readonly phases = new Map<string, PhaseSpec>();
  /** The phases whose context a generated phase inherits (static ones follow dependsOn). */
  private readonly inheritance = new Map<string, string[]>();
  /** Generation and plan phase of generated phases. */
  private readonly generatedFrom = new Map<string, { generation: number; parentId: string }>();
  private readonly results = new Map<string, Promise<PhaseResult>>();
  private readonly outputs = new Map<string, PhaseOutput>();
  /** When the run ended before this resume, if its orchestrator ended it (see `askAgainBefore`). */
  private endedBefore: number | undefined;
  /** Set once the run is stored as ended: a listener's throw can no longer stop it, so it goes to the caller. */
  private ended = false;

  constructor(private readonly options: RunWorkflowOptions) {
    this.workflow = options.workflow;
    this.runId = options.runId ?? randomUUID();
    this.events = options.events ?? new RunEvents();
    for (const phase of this.workflow.phases) this.phases.set(phase.id, phase);
    this.ctx = createRunContext(options, {
      runId: this.runId,
      events: this.events,
      run: () => this.runRecord,
      askAgainBefore: () => this.endedBefore,
      inheritedPhases: (phaseId) => this.inheritedPhases(phaseId),
      outputOf: (phaseId) => this.outputs.get(phaseId),
      phases: () => this.phases.values(),
    });
    this.runAgent = createAgentRunner(this.ctx);
    this.events.onListenerError((error, event) => this.listenerFailed(error, event));
  }

  /**
   * A listener that throws (`handle.events.on(…)` in a caller's code) fails the run as any failure
   * does: every agent is stopped and stored with the error, none is left `running`.
   */
  private listenerFailed(error: unknown, event: string): void {
    if (this.ended) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    const message = `a listener of ${event} threw: ${reason} (the run was stopped)`;
    this.ctx.stop.abort(new BatonError(ErrorCodes.internal, message, { cause: error }));
  }

  async run(): Promise<RunSummary> {
    const { store, stop, clock } = this.ctx;
    await this.start();
    const alive = recordAliveWhileRunning(store, this.runId, clock);
    const unwatch = stop.watch(store, this.runId, this.options.signal);
    let settled: Array<PromiseSettledResult<PhaseResult>>;
    try {
      await alive.first;
      settled = await Promise.allSettled(this.workflow.phases.map((phase) => this.result(phase.id)));
    } finally {
      unwatch();
      alive.stop();
    }
    // Only a full disk rejects a phase (see result()): the run stops there, every phase wound down.
    const full = settled.find((s) => s.status === 'rejected');
    if (full) throw full.reason;
    const phaseResults = settled.map((s) => (s as PromiseFulfilledResult<PhaseResult>).value);
    const stopped = stop.stopped ? stop.error() : undefined;
    const finishedRun: RunRecord = {
      ...this.runRecord,
      status: runStatusOf(phaseResults, stopped),
      finishedAt: clock.now(),
      ...(stopped && !this.runRecord.error ? { error: stopped } : {}),
    };
    await store.saveRun(finishedRun);
    const summary = await summarizeRun(store, this.runId);
    this.ended = true;
    this.events.emit('run.finished', { runId: this.runId, status: finishedRun.status, summary });
    return summary;
  }

  /** Saves the run (new, or resumed with what it had stored) and the workflow's phases as pending. */
  private async start(): Promise<void> {
    const { store, records, clock } = this.ctx;
    const { resume, priority } = this.options;
    const started = { status: 'running' as const, pid: process.pid, host: hostname(), startedAt: clock.now() };
    if (resume) {
      const resumed = await loadResumedRun(store, this.runId, {
        ...started,
        ...(priority !== undefined ? { priority } : {}),
      });
      this.runRecord = resumed.run;
      this.endedBefore = resumed.endedAt;
      records.load(resumed.agents);
      this.ctx.budget.spentBefore(resumed.spent.usd, resumed.spent.tokens);
      for (const { id, ...origin } of resumed.generated) this.generatedFrom.set(id, origin);
    } else {
      this.runRecord = {
        id: this.runId,
        workflowName: this.workflow.name,
        tenant: this.options.tenant ?? 'default',
        workflowPath: this.options.workflowPath,
        workflow: this.workflow,
        createdAt: started.startedAt,
        priority: priority ?? this.workflow.priority,
        ...started,
      };
    }
    await store.saveRun(this.runRecord);
    // Every agent known before the run starts is stored as pending now, so the queue shows the work ahead.
    for (const phase of resume ? [] : this.workflow.phases) {
      await store.savePhase({ runId: this.runId, id: phase.id, status: 'pending' });
      const instances = phase.plan ? [] : knownAgents(phase, () => undefined, []);
      for (const instance of instances) await records.pending(instance, { phase, role: 'worker' });
    }
    const known = this.workflow.phases
      .flatMap((p) => p.agents)
      .reduce((n, a) => n + (Array.isArray(a.foreach) ? a.foreach.length : (a.count ?? 1)), 0);
    const reused = records.all().filter((a) => isFinished(a)).length;
    this.events.emit('run.started', {
      runId: this.runId,
      workflowName: this.workflow.name,
      agents: known,
      ...(resume ? { resumed: true, reused } : {}),
    });
    // Once, before any agent runs: a resumed run that stops early must not leave them running forever.
    if (resume) {
      await closeAttemptsLeftRunning(this.ctx, records.all());
      await closeBatonCallsLeftRunning(this.ctx.store, this.runId, this.ctx.clock);
    }
  }

  /** The phase's result, starting it on first ask (dependencies first, through the same map). */
  result(phaseId: string): Promise<PhaseResult> {
    let result = this.results.get(phaseId);
    if (!result) {
      const phase = this.phases.get(phaseId);
      if (!phase) throw new BatonError(ErrorCodes.internal, `phase ${phaseId} is not part of run ${this.runId}`);
      result = this.runPhase(phase).catch(async (error: unknown): Promise<PhaseResult> => {
        // Nothing more can be stored: stop every agent, and let the caller mark the run interrupted.
        if (isDiskFull(error)) {
          this.ctx.stop.abort(new BatonError(ErrorCodes.diskFull, 'the disk holding data_dir is full'));
          throw error;
        }
        const failed = { status: 'failed' as const, error: toErrorInfo(error) };
        this.runRecord.error ??= failed.error;
        await this.storeFailedPhase(phaseId, failed.error);
        return failed;
      });
      this.results.set(phaseId, result);
    }
    return result;
  }

  /**
   * A phase that failed unexpectedly is stored as failed with its error, not left `running` with no
   * reason in `baton status`; what else it stored (a generated phase's spec) is kept.
   */
  private async storeFailedPhase(phaseId: string, error: ErrorInfo): Promise<void> {
    const { store, clock } = this.ctx;
    try {
      const stored = (await store.listPhases(this.runId)).find((p) => p.id === phaseId);
      await store.savePhase({
        ...stored,
        runId: this.runId,
        id: phaseId,
        status: 'failed',
        finishedAt: clock.now(),
        error,
      });
    } catch {
      // The store itself is failing: the run's own error (above) is what is left to report.
    }
  }

  addPhase(spec: PhaseSpec, origin: { generation: number; parentId: string }, inherits: string[]): void {
    this.phases.set(spec.id, spec);
    this.generatedFrom.set(spec.id, origin);
    this.inheritance.set(spec.id, inherits);
  }

  /**
   * The phases whose context a phase's agents inherit: a generated phase's were set by its planner; a
   * workflow phase's are its ancestors, each plan phase followed by the phases its planner generated,
   * where that plan's work (and its facts) happened.
   */
  private inheritedPhases(phaseId: string): string[] {
    const ofGenerated = this.inheritance.get(phaseId);
    if (ofGenerated) return ofGenerated;
    const generatedBy = (planId: string) =>
      [...this.generatedFrom].flatMap(([id, origin]) => (origin.parentId === planId ? [id] : []));
    return ancestorPhases(this.workflow, phaseId).flatMap((id) => [id, ...generatedBy(id)]);
  }

  readonly stopped = (): boolean => this.ctx.stop.stopped;
  readonly stopError = (): ErrorInfo => this.ctx.stop.error();

  private async runPhase(phase: PhaseSpec): Promise<PhaseResult> {
    const { store, clock, stop } = this.ctx;
    const dependencies = await Promise.all((phase.dependsOn ?? []).map((id) => this.result(id)));
    const origin = this.generatedFrom.get(phase.id);
    const record: PhaseRecord = {
      runId: this.runId,
      id: phase.id,
      status: 'running',
      startedAt: clock.now(),
      ...(origin ? { generation: origin.generation, parentId: origin.parentId, spec: phase } : {}),
    };
    // A dependency that did not succeed blocks the phase, unless its `when` asks for exactly that status (an on-failure phase).
    const wanted = (id: string, result: PhaseResult): boolean =>
      phase.when?.phase === id && (phase.when.status as string[] | undefined)?.includes(result.status) === true;
    const blockedBy = (phase.dependsOn ?? []).filter(
      (id, i) => !satisfies(dependencies[i]!) && !wanted(id, dependencies[i]!),
    );
    let result: PhaseResult;
    if (blockedBy.length > 0 || stop.stopped) {
      const error: ErrorInfo = stop.stopped
        ? stop.error()
        : { code: ErrorCodes.dependencyFailed, message: `not run: phase ${blockedBy.join(', ')} did not succeed` };
      result = await this.skipPhase(phase, stop.stopped ? 'cancelled' : 'skipped', error);
    } else {
      const unmet = await this.unmetCondition(phase);
      result = unmet
        ? await this.skipPhase(phase, 'skipped', unmet)
        : await this.runGatedPhase(phase, record, origin?.generation);
    }
    if (result.output) {
      this.outputs.set(phase.id, result.output);
      await passOnPhaseOutput(this.ctx.accumulator, phase, result.output);
    }
    await store.savePhase({
      ...record,
      status: result.status,
      finishedAt: clock.now(),
      ...(result.output ? { output: result.output } : {}),
      ...(result.error ? { error: result.error } : {}),
    });
    this.events.emit('phase.finished', { runId: this.runId, phaseId: phase.id, status: result.status });
    return result;
  }

  /**
   * Why a phase its dependencies let run is skipped all the same (a skip its dependents accept): its
   * `when` does not hold, or its foreach reads a phase that was skipped so, which has no list to give.
   */
  private async unmetCondition(phase: PhaseSpec): Promise<ErrorInfo | undefined> {
    const condition = phase.when ? evaluateCondition(phase.when, await this.result(phase.when.phase)) : undefined;
    if (condition && !condition.holds)
      return { code: ErrorCodes.conditionFalse, message: `not run: when: ${condition.reason}` };
    for (const { foreach } of phase.agents) {
      if (!foreach || Array.isArray(foreach)) continue;
      if ((await this.result(foreach.phase)).error?.code === ErrorCodes.conditionFalse)
        return {
          code: ErrorCodes.conditionFalse,
          message: `not run: its foreach reads phase ${foreach.phase}, which was skipped by its when`,
        };
    }
    return undefined;
  }

  /** A phase that may run: its `before` gate, its agents (or planner), merge-back, then its `after` gate. */
  private async runGatedPhase(phase: PhaseSpec, record: PhaseRecord, generation?: number): Promise<PhaseResult> {
    const refused = await this.ctx.gates.before(phase, this.outputs);
    if (refused) return this.skipPhase(phase, refused.status, refused.error);
    await this.ctx.store.savePhase(record);
    this.events.emit('phase.started', { runId: this.runId, phaseId: phase.id });
    const result = phase.plan
      ? await runPlanningPhase(phase, this, this.runAgent)
      : await runAgentPhase(phase, generation, (id) => this.outputs.get(id), this.runAgent);
    return afterGate(this.ctx, phase, await mergeBack(this.ctx, phase, result, this.runAgent));
  }

  /**
   * Records every agent of a phase that will not run as skipped or cancelled (reusing ones already finished),
   * or failed: its gate expired with `onTimeout: fail`.
   */
  private async skipPhase(
    phase: PhaseSpec,
    status: 'skipped' | 'cancelled' | 'failed',
    error: ErrorInfo,
  ): Promise<PhaseResult> {
    const { records } = this.ctx;
    const entries = phase.agents.map((entry) => ({ id: entry.id, entry, prompt: entry.prompt }));
    const instances = knownAgents(phase, (id) => this.outputs.get(id), entries);
    const generation = this.generatedFrom.get(phase.id)?.generation;
    const finished = await Promise.all(
      instances.map(async (instance) => {
        const agent = await records.pending(instance, { phase, role: 'worker', generation });
        return isFinished(agent) ? agent : records.finish({ ...agent, status, error });
      }),
    );
    // A run stopped before a phase it finished earlier (a resume cancelled at once) keeps what its
    // agents did; any other skip is what the phase is, even where agents kept from before succeeded
    // (a dependency that failed this time, say), and so is a phase with no agent to go by.
    const byAgents = status === 'cancelled' && phase.plan === undefined && finished.length > 0;
    return { status: byAgents ? phaseStatusOf(finished.map((a) => a.status)) : status, error };
  }
}

/** The agents of a phase as far as they are known; `unknown` when a foreach's list is not there yet. */
function knownAgents(
  phase: PhaseSpec,
  outputOf: (id: string) => PhaseOutput | undefined,
  unknown: AgentInstance[],
): AgentInstance[] {
  try {
    return expandAgents(phase.agents, outputOf);
  } catch {
    return unknown;
  }
}
