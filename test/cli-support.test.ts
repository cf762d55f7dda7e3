import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processAlive } from '../src/core/index.js';
import { startCli, waitFor } from './support/cli.js';

// The tests' own hygiene: a test that times out runs on in the background, so a CLI it started must
// end with it, or its run (and its clean-up) would go on into the next test.
describe('startCli', () => {
  const home = mkdtempSync(join(tmpdir(), 'baton-cli-support-'));
  const env = { ...process.env, HOME: home, BATON_DATA_DIR: join(home, 'data') };
  let left = 0;
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('leaves a long-running command running while its test goes on', async () => {
    const bridge = startCli(['bridge', '--port', '0'], { env });
    await waitFor(() => bridge.stdoutSoFar().includes('listening on') || undefined, 30_000, 'the bridge to listen');
    left = bridge.pid!;
    expect(processAlive(left)).toBe(true);
  });

  it('stops it once the test that started it has ended', async () => {
    await waitFor(() => !processAlive(left) || undefined, 10_000, 'the command to be stopped');
  });
});
