import { hostname } from 'node:os';
import { stopLeftoverAgent } from '../agents/index.js';
import { ErrorCodes, type Clock } from '../core/index.js';
import type { AgentRecord, AttemptRecord, Store } from '../store/index.js';
import type { RunEventMap } from './events.js';
import type { RunContext } from './run-context.js';

/** Says that an attempt left running by a dead process was closed as lost (the `agent.attempt.lost` event). */
export type AttemptLostHook = (lost: RunEventMap['agent.attempt.lost']) => void;

/** An attempt closed as lost, as its event tells it. */
const lostAttempt = (attempt: AttemptRecord): RunEventMap['agent.attempt.lost'] => ({
  runId: attempt.runId,
  agentId: attempt.agentId,
  attempt: attempt.attempt,
  startedAt: attempt.startedAt,
  finishedAt: attempt.finishedAt ?? attempt.startedAt,
  errorCode: attempt.error?.code ?? ErrorCodes.orchestratorLost,
});

/**
 * Closes the attempts of one agent still marked running, whose process died (an orchestrator or a
 * worker): what is left of them on this host is stopped, each is recorded failed with
 * BATON_ORCHESTRATOR_LOST and told to `onLost`, and their open tool calls are recorded failed.
 * Returns how many it closed.
 */
export async function closeLostAttempts(
  store: Store,
  agent: Pick<AgentRecord, 'runId' | 'id' | 'sessionId'>,
  attempts: AttemptRecord[],
  clock: Clock,
  onLost?: AttemptLostHook,
): Promise<number> {
  const host = hostname();
  // Found lost now: the attempts and their open calls end at the same moment.
  const finishedAt = clock.now();
  const running = attempts.filter((a) => a.status === 'running');
  for (const attempt of running) {
    if (attempt.pid !== undefined && attempt.host === host) stopLeftoverAgent(attempt.pid, agent.sessionId);
    const lost: AttemptRecord = {
      ...attempt,
      status: 'failed',
      finishedAt,
      durationMs: Math.max(0, finishedAt - attempt.startedAt),
      error: { code: ErrorCodes.orchestratorLost, message: 'the process running this attempt stopped before it ended' },
    };
    await store.saveAttempt(lost);
    // Its process died before it could say how the attempt ended (its spans were never exported): say it now.
    onLost?.(lostAttempt(lost));
  }
  if (attempts.length > 0) await closeLostToolCalls(store, agent, finishedAt);
  return running.length;
}

/** Tool calls still marked running belong to a lost attempt (no new one has started): record them failed. */
async function closeLostToolCalls(
  store: Store,
  agent: Pick<AgentRecord, 'runId' | 'id'>,
  finishedAt: number,
): Promise<void> {
  for (const call of await store.listToolCalls(agent.runId, agent.id)) {
    if (call.status !== 'running') continue;
    await store.saveToolCall({
      ...call,
      status: 'error',
      finishedAt,
      durationMs: Math.max(0, finishedAt - call.startedAt),
      outputPreview: 'the process running this attempt stopped before the tool returned',
    });
  }
}

/**
 * At the start of `--resume`, before any agent runs: the orchestrator that ran the run before is dead
 * (`resumableRun` checked), so every attempt of the run still marked running was left by it, or by a
 * worker that died, and is closed as lost now, whether or not its agent runs again in this run. The
 * attempts of agents a live worker still runs (`agentsHeld`) stay open: that worker ends them.
 */
export async function closeAttemptsLeftRunning(
  ctx: Pick<RunContext, 'runId' | 'store' | 'executor' | 'clock' | 'events'>,
  agents: AgentRecord[],
): Promise<void> {
  const { runId, store, clock, events } = ctx;
  const held = await ctx.executor.agentsHeld(runId);
  const onLost: AttemptLostHook = (lost) => events.emit('agent.attempt.lost', lost);
  for (const agent of agents) {
    if (held.has(agent.id)) continue;
    const attempts = await store.listAttempts(runId, agent.id);
    if (attempts.some((a) => a.status === 'running')) await closeLostAttempts(store, agent, attempts, clock, onLost);
  }
}
