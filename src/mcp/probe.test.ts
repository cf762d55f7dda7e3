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

  it('a server that exits at start says why: the end of its stderr, without its env values', async () => {
    const script =
      'for i in 1 2 3 4 5 6 7; do echo "starting $i" >&2; done; echo "fatal: token $API_TOKEN was refused" >&2; exit 1';
    const probe = probeServer(
      'broken',
      { command: 'sh', args: ['-c', script], env: { API_TOKEN: 'tok-0123456789abcdef' } },
      { timeoutMs: 10_000 },
    );
    const error = (await probe.catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'BATON_MCP_UNAVAILABLE' });
    expect(error.message).toMatch(/^MCP server "broken" is not up: .*; its stderr ends:\n {2}starting 4\n/);
    expect(error.message).toContain('\n  fatal: token [REDACTED] was refused');
    expect(error.message).not.toContain('tok-0123456789abcdef');
    expect(error.message).not.toContain('starting 3');
  }, 20_000);
});
