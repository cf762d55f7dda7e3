import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import { ErrorCodes } from '../core/index.js';
import { fullRunId } from './run-id.js';

const temp = useTempStore('baton-run-id-');

const saveRun = (id: string) =>
  temp.store.saveRun({ id, workflowName: 'w', tenant: 'default', workflow: {}, status: 'succeeded', createdAt: 1 });

describe('fullRunId', () => {
  it('takes the start of a run id that branch names and baton approvals show, and refuses one shared by two runs', async () => {
    await saveRun('5c9b515c-aeb1-47e3-a138-688bab8899ad');
    await saveRun('5c9b515c-ffff-47e3-a138-688bab8899ad');
    await saveRun('095fc2b0-9f6c-460e-bc2a-1521c410d5a9');
    expect(await fullRunId(temp.store, '095fc2b0')).toBe('095fc2b0-9f6c-460e-bc2a-1521c410d5a9');
    expect(await fullRunId(temp.store, '5c9b515c-f')).toBe('5c9b515c-ffff-47e3-a138-688bab8899ad');
    expect(await fullRunId(temp.store, '5c9b515c-aeb1-47e3-a138-688bab8899ad')).toBe(
      '5c9b515c-aeb1-47e3-a138-688bab8899ad',
    );
    await expect(fullRunId(temp.store, '5c9b515c')).rejects.toMatchObject({
      code: ErrorCodes.usage,
      message: expect.stringContaining('is the start of 2 runs') as unknown,
    });
    // Too short to be meant as a run, or no run's: left for the command to report as unknown.
    expect(await fullRunId(temp.store, '095f')).toBe('095f');
    expect(await fullRunId(temp.store, 'deadbeef')).toBe('deadbeef');
  });
});
