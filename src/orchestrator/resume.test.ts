import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { currentRunStatus, resumeElsewhereWarning } from './resume.js';

const running = { id: 'run-1', status: 'running' as const };

describe('a running run whose orchestrator may be gone', () => {
  it('warns whoever resumes it from another host, where that orchestrator cannot be checked', () => {
    expect(resumeElsewhereWarning({ ...running, host: 'build-7', pid: 4242 })).toBe(
      'Run run-1 is recorded as running on build-7 (pid 4242), which this host cannot check. ' +
        'If that orchestrator is still alive, stop it (baton cancel run-1): two orchestrators would drive the run.\n',
    );
    // Here it can be checked (resumableRun refuses a live one); an ended run has no orchestrator.
    expect(resumeElsewhereWarning({ ...running, host: hostname(), pid: process.pid })).toBeUndefined();
    expect(resumeElsewhereWarning({ ...running, status: 'cancelled', host: 'build-7', pid: 4242 })).toBeUndefined();
  });

  it('reads as interrupted once its orchestrator on this host has exited, and as running elsewhere', async () => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await once(child, 'exit');
    expect(currentRunStatus({ ...running, host: hostname(), pid: child.pid! })).toBe('interrupted');
    expect(currentRunStatus({ ...running, host: hostname(), pid: process.pid })).toBe('running');
    expect(currentRunStatus({ ...running, host: 'build-7', pid: child.pid! })).toBe('running');
  });
});
