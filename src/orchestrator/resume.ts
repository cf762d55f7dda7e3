import { hostname } from 'node:os';
import { BatonError, ErrorCodes, processAliveSince } from '../core/index.js';
import type { AgentRecord, RunRecord, RunStatus, Store } from '../store/index.js';
import { ALIVE_STALE_MS } from './alive.js';
import { spentByBatonCalls } from './baton-calls.js';

/**
 * The stored run `baton run --resume` may continue: it exists, has not succeeded (unless `baton merge`
 * redoes its merges), and is not still
 * running in a live process on this host. Throws BATON_RUN_NOT_RESUMABLE saying which (BATON_RUN_NOT_FOUND
 * for no such run).
 */
export async function resumableRun(store: Store, runId: string, redoMerge = false): Promise<RunRecord> {
  const run = await store.getRun(runId);
  if (!run)
    throw new BatonError(ErrorCodes.runNotFound, `No run with id ${runId} to resume. List runs with: baton runs`);
  // `baton merge` continues a succeeded run to merge its branches again.
  if (run.status === 'succeeded' && !redoMerge)
    throw new BatonError(ErrorCodes.runNotResumable, `Run ${runId} already succeeded; there is nothing to resume.`);
  if (run.status === 'running' && orchestratorHere(run) === 'alive') {
    throw new BatonError(
      ErrorCodes.runNotResumable,
      `Run ${runId} is still running (pid ${run.pid}); wait for it or stop it with: baton cancel ${runId}`,
    );
  }
  const silent = silentForMs(run, Date.now());
  if (
    run.status === 'running' &&
    orchestratorHere(run) === 'elsewhere' &&
    silent !== undefined &&
    silent < ALIVE_STALE_MS
  )
    throw new BatonError(
      ErrorCodes.runNotResumable,
      `Run ${runId} is running on ${run.host} (pid ${run.pid}), last heard from ${Math.round(silent / 1000)} s ago; ` +
        `stop it with: baton cancel ${runId}. If that host is down, resume once it has been silent for ` +
        `${ALIVE_STALE_MS / 1000} s.`,
    );
  return run;
}

/** How long since the run's orchestrator last said it was alive; undefined when it never did. */
function silentForMs(run: Pick<RunRecord, 'aliveAt'>, now: number): number | undefined {
  return run.aliveAt === undefined ? undefined : now - run.aliveAt;
}

/**
 * What to tell whoever resumes a run recorded as running on another host by an orchestrator that
 * recorded no heartbeat (a Baton from before them): from here nobody can tell whether it is alive, and
 * if it is, two would drive the run. Undefined otherwise.
 */
export function resumeElsewhereWarning(
  run: Pick<RunRecord, 'id' | 'status' | 'pid' | 'host' | 'aliveAt' | 'startedAt' | 'createdAt'>,
): string | undefined {
  if (run.status !== 'running' || run.host === undefined || run.aliveAt !== undefined) return undefined;
  if (orchestratorHere(run) !== 'elsewhere') return undefined;
  return (
    `Run ${run.id} is recorded as running on ${run.host}${run.pid !== undefined ? ` (pid ${run.pid})` : ''}, ` +
    `which this host cannot check. If that orchestrator is still alive, stop it (baton cancel ${run.id}): ` +
    'two orchestrators would drive the run.\n'
  );
}

/**
 * A run's status as it stands now: a `running` run whose orchestrator has gone (killed, its host down,
 * or stopped by a full disk before it could say so) is `interrupted`, which `--resume` continues. On
 * this host the orchestrator's pid tells; elsewhere its heartbeat, silent for `ALIVE_STALE_MS`.
 */
export function currentRunStatus(
  run: Pick<RunRecord, 'status' | 'pid' | 'host' | 'aliveAt' | 'startedAt' | 'createdAt'>,
  now = Date.now(),
): RunStatus {
  if (run.status !== 'running') return run.status;
  const here = orchestratorHere(run);
  if (here === 'gone') return 'interrupted';
  const silent = silentForMs(run, now);
  return here === 'elsewhere' && silent !== undefined && silent >= ALIVE_STALE_MS ? 'interrupted' : 'running';
}

/**
 * Whether the process that orchestrates (or orchestrated) a run is alive: known only on its own host,
 * and only when its pid was recorded; `elsewhere` otherwise.
 */
export function orchestratorHere(
  run: Pick<RunRecord, 'pid' | 'host' | 'startedAt' | 'createdAt'>,
): 'alive' | 'gone' | 'elsewhere' {
  if (run.host !== hostname() || run.pid === undefined) return 'elsewhere';
  // A process that started after the orchestrator recorded the run took a dead orchestrator's pid.
  return processAliveSince(run.pid, run.startedAt ?? run.createdAt) ? 'alive' : 'gone';
}

/** What a resumed orchestrator starts from: the run as it goes on, its agents, and its generated phases. */
export interface ResumedRun {
  run: RunRecord;
  agents: AgentRecord[];
  generated: Array<{ id: string; generation: number; parentId: string }>;
  /** What the run's attempts and Baton's own calls spent before: its budget covers the whole run, not each orchestrator. */
  spent: { usd: number; tokens: number };
  /** When the orchestrator before ended the run itself (not killed): every answer until then reached it. */
  endedAt?: number;
}

async function spentByAttempts(store: Store, runId: string, agents: AgentRecord[]): Promise<ResumedRun['spent']> {
  const attempts = (await Promise.all(agents.map((a) => store.listAttempts(runId, a.id)))).flat();
  return {
    usd: attempts.reduce((sum, a) => sum + a.costUsd, 0),
    tokens: attempts.reduce((sum, a) => sum + a.usage.inputTokens + a.usage.outputTokens, 0),
  };
}

/** What the run spent before: its agents' attempts and Baton's own model calls (summaries, re-ranking). */
async function spentBefore(store: Store, runId: string, agents: AgentRecord[]): Promise<ResumedRun['spent']> {
  const [attempts, own] = await Promise.all([spentByAttempts(store, runId, agents), spentByBatonCalls(store, runId)]);
  return { usd: attempts.usd + own.usd, tokens: attempts.tokens + own.tokens };
}

/** Loads a stored run to continue it, clearing the `baton cancel` that may have stopped it before. */
export async function loadResumedRun(
  store: Store,
  runId: string,
  started: Pick<RunRecord, 'status' | 'pid' | 'host' | 'startedAt'> & { priority?: number },
): Promise<ResumedRun> {
  const stored = await store.getRun(runId);
  if (!stored)
    throw new BatonError(ErrorCodes.runNotFound, `No run with id ${runId} to resume. List runs with: baton runs`);
  // Two `--resume` started at once both find the run resumable: only the one that claims it goes on.
  if (!(await store.claimResume(runId, stored.resumes ?? 0)))
    throw new BatonError(
      ErrorCodes.runNotResumable,
      `Run ${runId} is being resumed by another baton process already; follow it with: baton status ${runId}`,
    );
  const { error: _previousError, finishedAt: _finishedAt, ...rest } = stored;
  // A `baton cancel` that stopped the run before must not stop it again (nor make workers refuse its agents).
  await store.clearCancel(runId);
  const generated = (await store.listPhases(runId)).flatMap((phase) =>
    phase.generation !== undefined && phase.parentId !== undefined
      ? [{ id: phase.id, generation: phase.generation, parentId: phase.parentId }]
      : [],
  );
  const agents = await store.listAgents(runId);
  return {
    // `baton run --resume <id> --priority <n>` changes the priority of what is left to run.
    run: { ...rest, ...started, resumes: (stored.resumes ?? 0) + 1 },
    agents,
    generated,
    spent: await spentBefore(store, runId, agents),
    ...(stored.finishedAt !== undefined ? { endedAt: stored.finishedAt } : {}),
  };
}
