import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { processAlive, processesWithEnvEntry } from './process-alive.js';

describe('processAlive', () => {
  it('is true for a running process and false once it has exited and been reaped', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    await once(child, 'spawn');
    expect(processAlive(child.pid!)).toBe(true);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(processAlive(child.pid!)).toBe(false);
  });

  it.runIf(process.platform === 'linux')('is false for a zombie: killed, not yet reaped by its parent', async () => {
    // The shell becomes `sleep 60` (exec), which never reaps its `sleep 0.3` child.
    const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 60']);
    try {
      const [line] = (await once(parent.stdout, 'data')) as [Buffer];
      const zombie = Number(line.toString().trim());
      for (let waited = 0; !readFileSync(`/proc/${zombie}/stat`, 'utf8').includes(') Z '); waited += 10) {
        if (waited > 10_000) throw new Error('the child never became a zombie');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(processAlive(zombie)).toBe(false);
      expect(processAlive(parent.pid!)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('is true for pid 1, which always exists (as a user other than root, signalling it is EPERM)', () => {
    expect(processAlive(1)).toBe(true);
  });
});

describe.runIf(process.platform === 'linux')('processesWithEnvEntry', () => {
  it('finds every live process carrying the entry, one that left its process group included, and no zombie', async () => {
    const entry = `BATON_TEST_MARK=${randomUUID()}`;
    const [name, value] = entry.split('=') as [string, string];
    // A process in a session of its own (as `setsid` leaves it), and a zombie: a child that exits after
    // its shell has become `sleep 60` (exec), which never reaps it.
    const detached = spawn('sleep', ['60'], {
      env: { ...process.env, [name]: value },
      detached: true,
      stdio: 'ignore',
    });
    const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 60'], {
      env: { ...process.env, [name]: value },
    });
    const [line] = (await once(parent.stdout, 'data')) as [Buffer];
    const zombie = Number(line.toString().trim());
    try {
      for (let waited = 0; !readFileSync(`/proc/${zombie}/stat`, 'utf8').includes(') Z '); waited += 10) {
        if (waited > 5000) throw new Error('the zombie never appeared');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(new Set(processesWithEnvEntry(entry))).toEqual(new Set([detached.pid, parent.pid]));
      expect(processesWithEnvEntry(`${name}=another`)).toEqual([]);
    } finally {
      detached.kill('SIGKILL');
      parent.kill('SIGKILL');
    }
    await Promise.all([once(detached, 'exit'), once(parent, 'exit')]);
    expect(processesWithEnvEntry(entry)).toEqual([]);
  });
});
