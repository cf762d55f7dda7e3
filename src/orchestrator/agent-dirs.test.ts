import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PhaseSpec } from '../workflow/index.js';
import { checkAgentDirectories } from './agent-dirs.js';

const phase = (agents: PhaseSpec['agents'], workspace?: 'worktree'): PhaseSpec =>
  ({ id: 'p', agents, ...(workspace ? { workspace } : {}) }) as PhaseSpec;

describe('checkAgentDirectories', () => {
  it('refuses a resumed run whose workflow directory is gone, for the agents that work there, naming them', () => {
    const moved = mkdtempSync(join(tmpdir(), 'baton-moved-'));
    rmSync(moved, { recursive: true });
    const phases = [
      phase([
        { id: 'a', prompt: 'p' },
        { id: 'b', prompt: 'p', cwd: '/tmp' },
      ]),
      phase([{ id: 'c', prompt: 'p' }], 'worktree'),
    ];
    expect(() => checkAgentDirectories(phases, moved)).toThrow(
      `phases[0].agents[0]: works in the workflow's directory ${moved}, which is gone; put it back, or set cwd`,
    );
    expect(() => checkAgentDirectories(phases, moved)).not.toThrow(/agents\[1\]|phases\[1\]/);
    expect(() => checkAgentDirectories(phases, tmpdir())).not.toThrow();
  });
});
