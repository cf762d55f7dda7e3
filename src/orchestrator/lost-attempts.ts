import { hostname } from 'node:os';
import { stopLeftoverAgent, transcriptSpendSince } from '../agents/index.js';
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

/** Where an agent's Claude Code keeps its session transcript: its working directory and environment. */
export interface TranscriptPlace {
  cwd: string;
  env: Record<string, string | undefined>;
}

/**
 * What a lost attempt spent, as far as its session's transcript tells (its process never reported it):
 * the responses recorded since it started, at list price, marked as an estimate.
 */
async function lostSpend(
  attempt: AttemptRecord,
  sessionId: string,
  place: TranscriptPlace | undefined,
): Promise<Pick<AttemptRecord, 'usage' | 'costUsd' | 'estimatedCostUsd'>> {
  const spent = place ? await transcriptSpendSince(sessionId, place.cwd, place.env, attempt.startedAt) : undefined;
  if (!spent || spent.costUsd <= attempt.costUsd) return { usage: attempt.usage, costUsd: attempt.costUsd };
  return { usage: spent.usage, costUsd: spent.costUsd, estimatedCostUsd: spent.costUsd };
}

/**
 * Closes the attempts of one agent still marked running, whose process died (an orchestrator or a
 * worker): what is left of them on this host is stopped, each is recorded failed with
 * BATON_ORCHESTRATOR_LOST (priced from its session's transcript, when `place` finds one) and told to
 * `onLost`, and their open tool calls are recorded failed. Returns the attempts as they are now.
 */
export async function closeLostAttempts(
  store: Store,
  agent: Pick<AgentRecord, 'runId' | 'id' | 'sessionId'> & { transcript?: TranscriptPlace },
  attempts: AttemptRecord[],
  clock: Clock,
  onLost?: AttemptLostHook,
): Promise<AttemptRecord[]> {
  const host = hostname();
  // Found lost now: the attempts and their open calls end at the same moment.
  const finishedAt = clock.now();
  const running = attempts.filter((a) => a.status === 'running');
  const closed = new Map<number, AttemptRecord>();
  for (const attempt of running) {
    if (attempt.pid !== undefined && attempt.host === host) stopLeftoverAgent(attempt.pid, agent.sessionId);
    const lost: AttemptRecord = {
      ...attempt,
      ...(await lostSpend(attempt, agent.sessionId, agent.transcript)),
      status: 'failed',
      finishedAt,
      durationMs: Math.max(0, finishedAt - attempt.startedAt),
      error: { code: ErrorCodes.orchestratorLost, message: 'the process running this attempt stopped before it ended' },
    };
    await store.saveAttempt(lost);
    closed.set(lost.attempt, lost);
    // Its process died before it could say how the attempt ended (its spans were never exported): say it now.
    onLost?.(lostAttempt(lost));
  }
  if (attempts.length > 0) await closeLostToolCalls(store, agent, finishedAt);
  return attempts.map((a) => closed.get(a.attempt) ?? a);
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

/** What closing lost attempts added to their spend (their transcripts' estimates): USD and tokens. */
export function spendAdded(before: AttemptRecord[], after: AttemptRecord[]): { usd: number; tokens: number } {
  const spent = (attempts: AttemptRecord[]) => ({
    usd: attempts.reduce((sum, a) => sum + a.costUsd, 0),
    tokens: attempts.reduce((sum, a) => sum + a.usage.inputTokens + a.usage.outputTokens, 0),
  });
  const [was, is] = [spent(before), spent(after)];
  return { usd: is.usd - was.usd, tokens: is.tokens - was.tokens };
}

/**
 * At the start of `--resume`, before any agent runs: the orchestrator that ran the run before is dead
 * (`resumableRun` checked), so every attempt of the run still marked running was left by it, or by a
 * worker that died, and is closed as lost now, whether or not its agent runs again in this run. The
 * attempts of agents a live worker still runs (`agentsHeld`) stay open: that worker ends them.
 */
export async function closeAttemptsLeftRunning(
  ctx: Pick<RunContext, 'runId' | 'store' | 'executor' | 'clock' | 'events' | 'budget' | 'workflowDir' | 'env'>,
  agents: AgentRecord[],
): Promise<void> {
  const { runId, store, clock, events } = ctx;
  const held = await ctx.executor.agentsHeld(runId);
  const onLost: AttemptLostHook = (lost) => events.emit('agent.attempt.lost', lost);
  for (const agent of agents) {
    if (held.has(agent.id)) continue;
    const attempts = await store.listAttempts(runId, agent.id);
    if (!attempts.some((a) => a.status === 'running')) continue;
    // The transcript is found by session id; the folder named after the agent's cwd is only looked in first.
    const transcript = { cwd: agent.workspace?.path ?? ctx.workflowDir, env: ctx.env };
    const closed = await closeLostAttempts(store, { ...agent, transcript }, attempts, clock, onLost);
    // The run's budget started from what was stored before: what the transcripts add counts too.
    const added = spendAdded(attempts, closed);
    if (added.usd > 0) ctx.budget.spend(added.usd, added.tokens);
  }
}
