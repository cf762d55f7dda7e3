import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processesWithEnv } from '../../test/support/processes.js';
import { systemClock } from '../core/index.js';
import { runVerify, verifyPassed } from './verify.js';

describe('runVerify', () => {
  it('ends when the command exits, though a process it left behind holds its output; the leftover is killed', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'baton-verify-'));
    // A test script that starts a server in the background and forgets it: the merge must not wait for it.
    const marker = `BATON_VERIFY_LEFTOVER=${randomUUID()}`;
    const command = `${marker} sleep 300 & echo tests passed`;
    const result = await runVerify({ command, timeoutMs: 600_000 }, cwd, new AbortController().signal, systemClock);
    expect(result).toMatchObject({ command, exitCode: 0 });
    expect(result.outputTail).toContain('tests passed');
    expect(result.timedOut).toBeUndefined();
    expect(verifyPassed(result)).toBe(true);
    await expect.poll(() => processesWithEnv(marker)).toEqual([]);
  }, 20_000);

  it('fails a command that runs past its timeout, and kills it', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'baton-verify-'));
    const marker = `BATON_VERIFY_SLOW=${randomUUID()}`;
    const result = await runVerify(
      { command: `echo started; ${marker} sleep 300`, timeoutMs: 300 },
      cwd,
      new AbortController().signal,
      systemClock,
    );
    expect(result).toMatchObject({ exitCode: null, timedOut: true });
    expect(result.outputTail).toContain('started');
    expect(verifyPassed(result)).toBe(false);
    expect(processesWithEnv(marker)).toEqual([]);
  }, 20_000);
});
