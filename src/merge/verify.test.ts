import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { processesWithEnv } from '../../test/support/processes.js';
import { tempDir } from '../../test/support/temp-dir.js';
import { systemClock } from '../core/index.js';
import { runVerify, verifyFailureLine, verifyPassed } from './verify.js';

describe('runVerify', () => {
  it('ends when the command exits, though a process it left behind holds its output; the leftover is killed', async () => {
    const cwd = tempDir('baton-verify-');
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
    const cwd = tempDir('baton-verify-');
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

  it('kills what the command started in a session of its own (setsid), once it exits, past its timeout and on a cancel', async () => {
    // Out of the command's process group, a daemonised server or test worker outlived every kill.
    const cwd = tempDir('baton-verify-');
    const escaped = (name: string) => `BATON_VERIFY_${name}=${randomUUID()}`;
    const exited = escaped('EXITED');
    const passed = await runVerify(
      { command: `${exited} setsid sleep 300 & echo tests passed`, timeoutMs: 600_000 },
      cwd,
      new AbortController().signal,
      systemClock,
    );
    expect(passed.exitCode).toBe(0);
    await expect.poll(() => processesWithEnv(exited)).toEqual([]);

    const slow = escaped('SLOW');
    const timedOut = await runVerify(
      { command: `${slow} setsid sh -c 'sleep 300 & sleep 300' & echo started; sleep 300`, timeoutMs: 300 },
      cwd,
      new AbortController().signal,
      systemClock,
    );
    expect(timedOut.timedOut).toBe(true);
    await expect.poll(() => processesWithEnv(slow)).toEqual([]);

    const cancelled = escaped('CANCELLED');
    const cancel = new AbortController();
    const stopped = runVerify(
      { command: `export ${cancelled}; setsid sleep 300 & sleep 300`, timeoutMs: 600_000 },
      cwd,
      cancel.signal,
      systemClock,
    );
    await expect.poll(() => processesWithEnv(cancelled).length).toBe(2);
    cancel.abort();
    await expect(stopped).rejects.toThrow();
    await expect.poll(() => processesWithEnv(cancelled)).toEqual([]);
  }, 30_000);

  it("keeps a character whose bytes the command wrote apart (a test runner's ✓) whole in the output tail", async () => {
    const cwd = tempDir('baton-verify-');
    // ✓ is e2 9c 93: the pause lets the first byte reach Baton in a chunk of its own.
    const command = String.raw`printf '\342'; sleep 0.3; printf '\234\223 3 passed\n'`;
    const result = await runVerify({ command, timeoutMs: 60_000 }, cwd, new AbortController().signal, systemClock);
    expect(result.outputTail).toBe('✓ 3 passed\n');
  }, 20_000);

  it('a verify command dies with the Baton process that ran it, though that one was SIGKILLed, what left its group too', async () => {
    const cwd = tempDir('baton-verify-');
    const marker = `BATON_VERIFY_ORPHAN=${randomUUID()}`;
    // A daemonised test server: out of the command's process group, which the watchdog kills.
    const escaped = `BATON_VERIFY_ESCAPED=${randomUUID()}`;
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const verify = pathToFileURL(fileURLToPath(new URL('./verify.ts', import.meta.url))).href;
    const program = `const { runVerify } = await import(${JSON.stringify(verify)});
      await runVerify({ command: ${JSON.stringify(`${escaped} setsid sleep 300 & ${marker} sleep 300`)}, timeoutMs: 600000 }, ${JSON.stringify(cwd)},
        new AbortController().signal, { now: () => Date.now() });`;
    const baton = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', program], { stdio: 'ignore' });
    try {
      await expect.poll(() => processesWithEnv(marker).length, { timeout: 20_000 }).toBe(1);
      await expect.poll(() => processesWithEnv(escaped).length, { timeout: 20_000 }).toBe(1);
      baton.kill('SIGKILL');
      await expect.poll(() => processesWithEnv(marker), { timeout: 5_000 }).toEqual([]);
      await expect.poll(() => processesWithEnv(escaped), { timeout: 5_000 }).toEqual([]);
    } finally {
      baton.kill('SIGKILL');
      for (const pid of [...processesWithEnv(marker), ...processesWithEnv(escaped)]) process.kill(pid, 'SIGKILL');
    }
  }, 30_000);
});

describe('verifyFailureLine', () => {
  it("picks the line of a failed verify that names the failure, not the runner's closing timing", () => {
    const nodeTest =
      '# Subtest: add\nok 15 - add\n1..16\n# tests 16\n# pass 15\n# fail 1\n# cancelled 0\n# duration_ms 5245.96\n';
    expect(verifyFailureLine(nodeTest)).toBe('# fail 1');
    expect(verifyFailureLine('Tests:       1 failed, 15 passed, 16 total\nTime:        1.2 s\n')).toBe(
      'Tests:       1 failed, 15 passed, 16 total',
    );
    expect(verifyFailureLine('check.sh: VERSION is 1.9, expected 2.0.0\n\n')).toBe(
      'check.sh: VERSION is 1.9, expected 2.0.0',
    );
    expect(verifyFailureLine('')).toBe('');
    // A crash: its error, not Node's closing version line.
    const crash =
      "node:internal/modules/cjs/loader:1228\n  throw err;\n  ^\n\nError: Cannot find module 'leftpad'\nRequire stack:\n- /w/index.js\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15) {\n  code: 'MODULE_NOT_FOUND'\n}\n\nNode.js v20.20.2\n";
    expect(verifyFailureLine(crash)).toBe("Error: Cannot find module 'leftpad'");
    expect(verifyFailureLine('sh: 1: jest: not found\n')).toBe('sh: 1: jest: not found');
  });
});
