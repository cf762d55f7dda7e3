import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import { ErrorCodes, isBatonError } from '../core/index.js';
import type { RunRecord } from '../store/index.js';
import { ALIVE_STALE_MS } from './alive.js';
import { currentRunStatus, loadResumedRun, resumableRun, resumeElsewhereWarning } from './resume.js';
import { requestRunCancel } from './run-stop.js';

const running = { id: 'run-1', status: 'running' as const, createdAt: Date.now() };
const temp = useTempStore('baton-resume-');

describe('a running run whose orchestrator may be gone', () => {
  it('warns whoever resumes it from another host when that orchestrator recorded no heartbeat', () => {
    expect(resumeElsewhereWarning({ ...running, host: 'build-7', pid: 4242 })).toBe(
      'Run run-1 is recorded as running on build-7 (pid 4242), which this host cannot check. ' +
        'If that orchestrator is still alive, stop it (baton cancel run-1): two orchestrators would drive the run.\n',
    );
    // Here it can be checked (resumableRun refuses a live one); an ended run has no orchestrator; a
    // heartbeat says more than the warning (resumableRun refuses a fresh one, a silent one is interrupted).
    expect(resumeElsewhereWarning({ ...running, host: hostname(), pid: process.pid })).toBeUndefined();
    expect(resumeElsewhereWarning({ ...running, status: 'cancelled', host: 'build-7', pid: 4242 })).toBeUndefined();
    expect(resumeElsewhereWarning({ ...running, host: 'build-7', pid: 4242, aliveAt: 0 })).toBeUndefined();
  });

  it('reads as interrupted once its orchestrator on this host has exited, and as running elsewhere', async () => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await once(child, 'exit');
    expect(currentRunStatus({ ...running, host: hostname(), pid: child.pid! })).toBe('interrupted');
    expect(currentRunStatus({ ...running, host: hostname(), pid: process.pid })).toBe('running');
    expect(currentRunStatus({ ...running, host: 'build-7', pid: child.pid! })).toBe('running');
  });

  it('baton cancel of a run whose orchestrator is gone marks it cancelled, since nobody will read the flag', async () => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await once(child, 'exit');
    const run: RunRecord = { ...running, id: 'gone', workflowName: 'w', tenant: 'default', workflow: {}, createdAt: 0 };
    await temp.store.saveRun({ ...run, host: hostname(), pid: child.pid!, startedAt: Date.now() - 60_000 });
    expect((await requestRunCancel(temp.store, 'gone')).status).toBe('interrupted');
    expect(await temp.store.getRun('gone')).toMatchObject({
      status: 'cancelled',
      finishedAt: expect.any(Number),
      error: { code: ErrorCodes.cancelled },
    });
    expect(currentRunStatus((await temp.store.getRun('gone'))!)).toBe('cancelled');
  });

  it("reads as interrupted when a process started after the run took its dead orchestrator's pid", async () => {
    const later = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const ranAt = Date.now() - 60_000;
      expect(
        currentRunStatus({ ...running, createdAt: ranAt, startedAt: ranAt, host: hostname(), pid: later.pid! }),
      ).toBe('interrupted');
      expect(currentRunStatus({ ...running, host: hostname(), pid: later.pid!, createdAt: Date.now() })).toBe(
        'running',
      );
    } finally {
      later.kill('SIGKILL');
    }
  });

  it('on another host, reads as interrupted once its orchestrator has been silent for ALIVE_STALE_MS', () => {
    const elsewhere = { ...running, host: 'build-7', pid: 4242, aliveAt: 100_000 };
    expect(currentRunStatus(elsewhere, 100_000 + ALIVE_STALE_MS - 1)).toBe('running');
    expect(currentRunStatus(elsewhere, 100_000 + ALIVE_STALE_MS)).toBe('interrupted');
  });
});

describe('resumableRun', () => {
  const stored = (fields: Partial<RunRecord>): RunRecord => ({
    id: 'r1',
    workflowName: 'w',
    tenant: 'default',
    workflow: {},
    status: 'running',
    createdAt: 0,
    host: 'build-7',
    pid: 4242,
    ...fields,
  });

  it('refuses a run whose orchestrator on another host was heard from lately, saying how to stop it', async () => {
    await temp.store.saveRun(stored({}));
    await temp.store.markRunAlive('r1', Date.now() - 5_000);
    const error = await resumableRun(temp.store, 'r1').catch((e: unknown) => e);
    expect(isBatonError(error) && error.code).toBe(ErrorCodes.runNotResumable);
    expect((error as Error).message).toMatch(
      /^Run r1 is running on build-7 \(pid 4242\), last heard from [56] s ago; stop it with: baton cancel r1\./,
    );
  });

  it('lets one of two resumes started at once drive the run; the other is refused, naming it', async () => {
    await temp.store.saveRun(stored({ id: 'twice', status: 'failed', resumes: 2 }));
    const started = { status: 'running' as const, pid: process.pid, host: hostname(), startedAt: Date.now() };
    const outcomes = await Promise.allSettled([
      loadResumedRun(temp.store, 'twice', started),
      loadResumedRun(temp.store, 'twice', started),
    ]);
    const [won] = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const [lost] = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as Error] : []));
    expect(won?.run.resumes).toBe(3);
    expect(isBatonError(lost) && lost.code).toBe(ErrorCodes.runNotResumable);
    expect(lost!.message).toBe(
      'Run twice is being resumed by another baton process already; follow it with: baton status twice',
    );
  });

  it('resumes one silent for longer, or one that never recorded a heartbeat', async () => {
    await temp.store.saveRun(stored({}));
    expect((await resumableRun(temp.store, 'r1')).id).toBe('r1');
    await temp.store.markRunAlive('r1', Date.now() - ALIVE_STALE_MS - 1_000);
    expect((await resumableRun(temp.store, 'r1')).id).toBe('r1');
  });
});
