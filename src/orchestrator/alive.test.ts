import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import { recordAliveWhileRunning } from './alive.js';

const temp = useTempStore('baton-alive-');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('recordAliveWhileRunning', () => {
  it('records at once and then on every beat, and nothing more once stopped', async () => {
    const run = { id: 'r1', workflowName: 'w', tenant: 'default', workflow: {}, status: 'running' as const };
    await temp.store.saveRun({ ...run, createdAt: 0 });
    let now = 1_000;
    const alive = recordAliveWhileRunning(temp.store, 'r1', { now: () => now }, 10);
    await alive.first;
    expect((await temp.store.getRun('r1'))?.aliveAt).toBe(1_000);
    now = 2_000;
    for (let waited = 0; (await temp.store.getRun('r1'))?.aliveAt !== 2_000 && waited < 5_000; waited += 10)
      await sleep(10);
    expect((await temp.store.getRun('r1'))?.aliveAt).toBe(2_000);
    alive.stop();
    now = 3_000;
    await sleep(50);
    expect((await temp.store.getRun('r1'))?.aliveAt).toBe(2_000);
  });
});
