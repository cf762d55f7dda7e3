import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../store/index.js';
import { DEFAULT_POLL_MS } from './requests.js';

/**
 * Whether all that is left of a run waits for a person: some request is pending, every running
 * agent is one that waits, and no agent of a started phase is still to start — unless it waits for a
 * slot (`slotsTaken`: parallel_limit reached), which only a person's answer can free.
 */
export async function onlyPeopleLeft(store: Store, runId: string, slotsTaken = (): boolean => false): Promise<boolean> {
  const [pending, agents, phases] = await Promise.all([
    store.listApprovals({ runId, status: 'pending' }),
    store.listAgents(runId),
    store.listPhases(runId),
  ]);
  if (pending.length === 0) return false;
  const waiting = new Set(pending.map((request) => request.agentId));
  const started = new Set(phases.filter((phase) => phase.status === 'running').map((phase) => phase.id));
  const toStart = agents.filter((agent) => agent.status === 'pending' && started.has(agent.phaseId));
  return (
    agents.every((agent) => agent.status !== 'running' || waiting.has(agent.id)) &&
    (toStart.length === 0 || slotsTaken())
  );
}

/**
 * Resolves true once only people are left to act in the run, seen on two polls in a row (an
 * answer or an agent starting in between shows on the second); false when `signal` aborts first.
 */
export async function untilOnlyPeopleLeft(
  store: Store,
  runId: string,
  options: { signal: AbortSignal; pollMs?: number; slotsTaken?: () => boolean },
): Promise<boolean> {
  let seen = 0;
  while (!options.signal.aborted) {
    const slept = await sleep(options.pollMs ?? DEFAULT_POLL_MS, true, { signal: options.signal }).catch(() => false);
    if (!slept) break;
    seen = (await onlyPeopleLeft(store, runId, options.slotsTaken).catch(() => false)) ? seen + 1 : 0;
    if (seen >= 2) return true;
  }
  return false;
}
