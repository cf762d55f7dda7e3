import { hostname } from 'node:os';
import { BatonError, ErrorCodes, processAlive } from '../core/index.js';
import type { AgentRecord, RunRecord, RunStatus, Store } from '../store/index.js';

/**
 * The stored run `baton run --resume` may continue: it exists, has not succeeded (unless `baton merge`
 * redoes its merges), and is not still
 * running in a live process on this host. Throws BATON_RUN_NOT_RESUMABLE saying which.
 */
export async function resumableRun(store: Store, runId: string, redoMerge = false): Promise<RunRecord> {
  const run = await store.getRun(runId);
  if (!run)
    throw new BatonError(ErrorCodes.runNotResumable, `No run with id ${runId} to resume. List runs with: baton runs`);
  // `baton merge` continues a succeeded run to merge its branches again.
  if (run.status === 'succeeded' && !redoMerge)
    throw new BatonError(ErrorCodes.runNotResumable, `Run ${runId} already succeeded; there is nothing to resume.`);
  if (run.status === 'running' && orchestratorHere(run) === 'alive') {
    throw new BatonError(
      ErrorCodes.runNotResumable,
      `Run ${runId} is still running (pid ${run.pid}); wait for it or stop it with: baton cancel ${runId}`,
    );
  }
  return run;
}

/**
 * What to tell whoever resumes a run recorded as running on another host: from here nobody can tell
 * whether that orchestrator is alive, and if it is, two would drive the run. Undefined otherwise.
 */
export function resumeElsewhereWarning(run: Pick<RunRecord, 'id' | 'status' | 'pid' | 'host'>): string | undefined {
  if (run.status !== 'running' || run.host === undefined || orchestratorHere(run) !== 'elsewhere') return undefined;
  return (
    `Run ${run.id} is recorded as running on ${run.host}${run.pid !== undefined ? ` (pid ${run.pid})` : ''}, ` +
    `which this host cannot check. If that orchestrator is still alive, stop it (baton cancel ${run.id}): ` +
    'two orchestrators would drive the run.\n'
  );
}

/**
 * A run's status as it stands now: a `running` run whose orchestrator on this host has gone (killed, or
 * stopped by a full disk before it could say so) is `interrupted`, which `--resume` continues.
 */
export function currentRunStatus(run: Pick<RunRecord, 'status' | 'pid' | 'host'>): RunStatus {
  return run.status === 'running' && orchestratorHere(run) === 'gone' ? 'interrupted' : run.status;
}

/**
 * Whether the process that orchestrates (or orchestrated) a run is alive: known only on its own host,
 * and only when its pid was recorded; `elsewhere` otherwise.
 */
export function orchestratorHere(run: Pick<RunRecord, 'pid' | 'host'>): 'alive' | 'gone' | 'elsewhere' {
  if (run.host !== hostname() || run.pid === undefined) return 'elsewhere';
  return processAlive(run.pid) ? 'alive' : 'gone';
}

/** What a resumed orchestrator starts from: the run as it goes on, its agents, and its generated phases. */
export interface ResumedRun {
  run: RunRecord;
  agents: AgentRecord[];
  generated: Array<{ id: string; generation: number; parentId: string }>;
}

/** Loads a stored run to continue it, clearing the `baton cancel` that may have stopped it before. */
export async function loadResumedRun(
  store: Store,
  runId: string,
  started: Pick<RunRecord, 'status' | 'pid' | 'host' | 'startedAt'> & { priority?: number },
): Promise<ResumedRun> {
  const stored = await store.getRun(runId);
  if (!stored)
    throw new BatonError(ErrorCodes.runNotResumable, `No run with id ${runId} to resume. List runs with: baton runs`);
  const { error: _previousError, finishedAt: _finishedAt, ...rest } = stored;
  // A `baton cancel` that stopped the run before must not stop it again (nor make workers refuse its agents).
  await store.clearCancel(runId);
  const generated = (await store.listPhases(runId)).flatMap((phase) =>
    phase.generation !== undefined && phase.parentId !== undefined
      ? [{ id: phase.id, generation: phase.generation, parentId: phase.parentId }]
      : [],
  );
  return {
    // `baton run --resume <id> --priority <n>` changes the priority of what is left to run.
    run: { ...rest, ...started, resumes: (stored.resumes ?? 0) + 1 },
    agents: await store.listAgents(runId),
    generated,
  };
}
