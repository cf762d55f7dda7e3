import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../store/index.js';
import { DEFAULT_POLL_MS, expireOverdue } from './requests.js';

/** An agent's job: the run and agent it belongs to. */
export interface JobOwner {
  runId: string;
  agentId: string;
}

/**
 * The slots of `baton worker`s (the queue executor), which the orchestrator's own scheduler does
 * not see: an agent it counts as running may still wait in the queue for a worker.
 */
export interface WorkerSlots {
  /** The run's agents whose job waits for a worker, and the owner of every job a worker is running (any run). */
  holders(runId: string): Promise<{ queued: Set<string>; running: JobOwner[] }>;
}

/** What agents that are not started yet wait for. */
export interface SlotsWaitedFor {
  /** parallel_limit reached: no agent of the run can start before a running one ends. */
  slotsTaken?: () => boolean;
  workers?: WorkerSlots;
}

/**
 * Whether all that is left of a run waits for a person: some request is pending, every running
 * agent is one that waits, no started phase is at work past its agents (merging), and no agent of a started phase is still to start — unless it waits for a
 * slot that only a person's answer can free: parallel_limit reached (`slotsTaken`), or, with workers,
 * its job is queued while every job the workers run waits for a person (of this run or another).
 */
export async function onlyPeopleLeft(
  store: Store,
  runId: string,
  slots: SlotsWaitedFor = {},
  holds = new WorkerHolds(store),
): Promise<boolean> {
  const [listed, agents, phases] = await Promise.all([
    store.listApprovals({ runId, status: 'pending' }),
    store.listAgents(runId),
    store.listPhases(runId),
  ]);
  // A request whose deadline passed while no orchestrator ran waits for nobody: its agent, resumed,
  // finds it decided (denied, or failed) and goes on.
  const pending = (await expireOverdue(store, listed, Date.now())).filter((r) => r.status === 'pending');
  if (pending.length === 0) return false;
  const waiting = new Set(pending.map((request) => request.agentId));
  const started = new Set(phases.filter((phase) => phase.status === 'running').map((phase) => phase.id));
  const toStart = agents.filter((agent) => agent.status === 'pending' && started.has(agent.phaseId));
  if (toStart.length > 0 && !slots.slotsTaken?.()) return false;
  if (phaseAtWork(phases, agents, pending)) return false;
  const working = agents.filter(
    (agent) => (agent.status === 'running' || agent.status === 'queued') && !waiting.has(agent.id),
  );
  if (working.length === 0) return true;
  // Agents the orchestrator runs but whose jobs wait in the queue: held up only if the workers are.
  if (!slots.workers) return false;
  const { queued, running } = await slots.workers.holders(runId);
  return working.every((agent) => queued.has(agent.id)) && (await holds.allHeld(running));
}

/**
 * Whether a started phase whose agents have all finished is still at work without anyone: merging its
 * branches (verify can take minutes), aggregating, or saving its end. Its own `after` gate waits for a
 * person, and a plan phase waits for the phases it generated, which are judged on their own.
 */
function phaseAtWork(
  phases: Array<{ id: string; status: string; parentId?: string }>,
  agents: Array<{ phaseId: string; status: string }>,
  pending: Array<{ phaseId?: string }>,
): boolean {
  const running = phases.filter((phase) => phase.status === 'running');
  // Phases whose work shows elsewhere: in their agents, their gate's request, their generated phases.
  const shown = new Set([
    ...agents.filter((agent) => ['pending', 'queued', 'running'].includes(agent.status)).map((a) => a.phaseId),
    ...pending.map((request) => request.phaseId),
    ...running.map((phase) => phase.parentId),
  ]);
  return running.some((phase) => !shown.has(phase.id));
}

const jobKey = (job: JobOwner): string => `${job.runId}|${job.agentId}`;

/**
 * Whether the jobs workers run each wait for a person, kept between polls so that a poll reads only
 * what changed: a job known to wait costs one read of its request by id; only a job new since the
 * last poll, or whose request was answered, lists its own run's pending requests. Pending requests of
 * runs no worker is busy with are never read.
 */
export class WorkerHolds {
  /** Running job → the request it waits on. */
  private readonly waitingOn = new Map<string, string>();

  constructor(private readonly store: Store) {}

  async allHeld(running: JobOwner[]): Promise<boolean> {
    if (running.length === 0) return false; // no worker has taken a job: they are starting, or none runs yet
    const keys = new Set(running.map(jobKey));
    for (const key of this.waitingOn.keys()) if (!keys.has(key)) this.waitingOn.delete(key);
    const unknown = await this.stillUnknown(running);
    for (const runId of new Set(unknown.map((job) => job.runId))) {
      for (const request of await this.store.listApprovals({ runId, status: 'pending' })) {
        const key = jobKey({ runId, agentId: request.agentId ?? '' });
        if (keys.has(key)) this.waitingOn.set(key, request.id);
      }
      if (unknown.some((job) => job.runId === runId && !this.waitingOn.has(jobKey(job)))) return false;
    }
    return true;
  }

  /** The jobs not known to wait: new ones, and those whose request has been answered since. */
  private async stillUnknown(running: JobOwner[]): Promise<JobOwner[]> {
    const known = await Promise.all(
      running.map(async (job) => {
        const id = this.waitingOn.get(jobKey(job));
        if (id !== undefined && (await this.store.getApproval(id))?.status === 'pending') return true;
        this.waitingOn.delete(jobKey(job));
        return false;
      }),
    );
    return running.filter((_, i) => !known[i]);
  }
}

/**
 * Resolves true once only people are left to act in the run, seen on two polls in a row (an
 * answer or an agent starting in between shows on the second); false when `signal` aborts first.
 */
export async function untilOnlyPeopleLeft(
  store: Store,
  runId: string,
  options: SlotsWaitedFor & { signal: AbortSignal; pollMs?: number },
): Promise<boolean> {
  let seen = 0;
  const holds = new WorkerHolds(store);
  while (!options.signal.aborted) {
    const slept = await sleep(options.pollMs ?? DEFAULT_POLL_MS, true, { signal: options.signal }).catch(() => false);
    if (!slept) break;
    seen = (await onlyPeopleLeft(store, runId, options, holds).catch(() => false)) ? seen + 1 : 0;
    if (seen >= 2) return true;
  }
  return false;
}
