import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { processesWithEnv } from '../../test/support/processes.js';
import { probeServer } from './probe.js';

describe('probeServer', () => {
  it('a stdio server that never answers is stopped with what it started (a wrapper: sh, npx, uvx)', async () => {
    const marker = `BATON_PROBE_CHILD=${randomUUID()}`;
    const probe = probeServer('wrapped', { command: 'sh', args: ['-c', `${marker} sleep 300`] }, { timeoutMs: 1500 });
    await expect(probe).rejects.toThrow(/did not answer initialize \+ tools\/list within 1500 ms/);
    try {
      await expect.poll(() => processesWithEnv(marker), { timeout: 5_000 }).toEqual([]);
    } finally {
      for (const pid of processesWithEnv(marker)) process.kill(pid, 'SIGKILL');
    }
  }, 20_000);
});
