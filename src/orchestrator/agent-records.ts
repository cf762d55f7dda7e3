import { randomUUID } from 'node:crypto';
import { aggregatorTag, extractContext, type ContextDraft, type DynamicContextAccumulator } from '../context/index.js';
import { emptyUsage, ErrorCodes, type Clock } from '../core/index.js';
import type { AgentRecord, Store } from '../store/index.js';
import type { Workflow } from '../workflow/index.js';
import type { RunEvents, RunEventMap } from './events.js';
import { systemPromptFor } from './prepare-agent.js';
import { planFacts } from './planning.js';
import type { InstanceContext } from './run-context.js';
import { activateSession, closeSession, createSession } from './session-status.js';
import type { AgentInstance } from './swarm.js';

export interface AgentRecordsOptions {
  runId: string;
  workflow: Workflow;
  store: Store;
  clock: Clock;
  events: RunEvents;
  accumulator: DynamicContextAccumulator;
  sessionTtlMs: number;
}

/**
 * An agent's lifecycle as the store and subscribers see it: pending (with a new session) → running →
 * finished (its record, then its facts, then its session closed). Every change is stored as it
 * happens, so a resumed run picks up exactly where the last one stopped.
 */
export class AgentRecords {
  private readonly known = new Map<string, AgentRecord>();

  constructor(private readonly options: AgentRecordsOptions) {}

  /** The records a resumed run starts from. */
  load(records: AgentRecord[]): void {
    for (const record of records) this.known.set(record.id, record);
  }

  all(): AgentRecord[] {
    return [...this.known.values()];
  }

  /** The agent's stored record (a resumed run), or a new pending one with its own session. */
  async pending(instance: AgentInstance, where: InstanceContext): Promise<AgentRecord> {
    const existing = this.known.get(instance.id);
    if (existing) return existing;
    const { runId, workflow, clock } = this.options;
    const record: AgentRecord = {
      runId,
      phaseId: where.phase.id,
      id: instance.id,
      sessionId: randomUUID(),
      status: 'pending',
      prompt: instance.prompt,
      systemPrompt: systemPromptFor(workflow, where.phase.id, instance.id, instance.entry),
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
    await this.save(record);
    await createSession(this.options.store, this.sessionOwner(record), clock.now());
    return record;
  }

  /** The agent's process is about to start: its session turns active, its record running. */
  async started(record: AgentRecord, inherited: RunEventMap['agent.started']['inherited']): Promise<void> {
    const { store, clock, events, runId } = this.options;
    await activateSession(store, this.sessionOwner(record), clock.now());
    await this.save(record);
    events.emit('agent.started', {
      runId,
      phaseId: record.phaseId,
      agentId: record.id,
      sessionId: record.sessionId,
      inherited,
      ...(record.status === 'queued' ? { queued: true as const } : {}),
    });
  }

  /** A finished agent of a resumed run is kept: its facts are saved again (a no-op when they were). */
  async reused(record: AgentRecord): Promise<AgentRecord> {
    // Keyed facts written since it finished (its own, or a later agent's) stay as they are.
    await this.saveFacts(record, record.finishedAt);
    this.options.events.emit('agent.reused', {
      runId: this.options.runId,
      phaseId: record.phaseId,
      agentId: record.id,
      status: record.status,
    });
    return record;
  }

  /**
   * Stores an agent's final record, then its facts, closes its session and tells subscribers — for
   * agents that ran, failed to start, or never started (skipped, cancelled). The record goes first:
   * once it is stored the agent never runs again, and its facts follow from it.
   */
  async finish(record: AgentRecord): Promise<AgentRecord> {
    const { store, clock, events, runId, sessionTtlMs } = this.options;
    const now = clock.now();
    const finished: AgentRecord = { ...record, finishedAt: now };
    await this.save(finished);
    await this.saveFacts(finished);
    await closeSession(store, this.sessionOwner(record), finished.status === 'succeeded', now, sessionTtlMs);
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
  }

  private sessionOwner(record: AgentRecord) {
    return { id: record.sessionId, runId: this.options.runId, agentId: record.id, phaseId: record.phaseId };
  }

  private async save(record: AgentRecord): Promise<void> {
    this.known.set(record.id, record);
    await this.options.store.saveAgent(record);
  }

  /** Saves an agent's facts under ids derived from its session, so saving them twice changes nothing. */
  private async saveFacts(record: AgentRecord, finishedAt?: number): Promise<void> {
    const facts = factsOf(record);
    if (facts.length === 0) return;
    const added = await this.options.accumulator.add(
      facts,
      { sessionId: record.sessionId, agentId: record.id, phaseId: record.phaseId },
      `${record.sessionId}:fact`,
      finishedAt,
    );
    this.options.events.emit('context.added', {
      runId: this.options.runId,
      phaseId: record.phaseId,
      agentId: record.id,
      entries: added.length,
      tokens: added.reduce((sum, e) => sum + e.tokens, 0),
    });
  }
}

/**
 * Failures a person fixes outside the run, after which `--resume` runs the agent again (isFinished):
 * nobody answered an approval in time (`onTimeout: fail`, its own call's or a phase gate's: the
 * resumed run asks again), or the model refused the credentials (a key set, or `--model-script`
 * given again, since).
 */
export const failedUntilFixed: ReadonlySet<string> = new Set([ErrorCodes.approvalTimeout, ErrorCodes.modelAuth]);

/** What an agent leaves for the agents after it: the facts in its result, or why it failed. */
function factsOf(record: AgentRecord): ContextDraft[] {
  if (record.status === 'succeeded' && record.output) {
    const plan = record.role === 'planner' ? planFacts(record.output, record.generation ?? 1) : undefined;
    const facts = plan ?? extractContext(record.output);
    const { role } = record;
    // A judge or reducer ran after its phase's agents: marked, its facts have the last word in the phase.
    return role === 'judge' || role === 'reducer'
      ? facts.map((f) => ({ ...f, tags: [...f.tags, aggregatorTag(role)] }))
      : facts;
  }
  // An agent whose failure is fixed outside the run runs again on --resume (isFinished), under the same
  // session: no fact of its failure, which would hold the ids its result's facts take then. Its phase
  // did not succeed, so no dependent reads one meanwhile.
  if (record.status === 'failed' && record.error && !failedUntilFixed.has(record.error.code)) {
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
