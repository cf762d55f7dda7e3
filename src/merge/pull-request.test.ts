import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRepo } from '../../test/support/git-repo.js';
import { requireProgram } from '../../test/support/programs.js';
import type { MergeReport } from '../store/index.js';
import { openPullRequest } from './pull-request.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-pr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(requireProgram('git'))('openPullRequest', () => {
  it('without gh on PATH pushes nothing to origin, and says why', async () => {
    const origin = join(dir, 'origin.git');
    execFileSync('git', ['init', '-q', '--bare', origin]);
    const git = makeRepo(join(dir, 'repo'), { 'a.txt': 'a\n' });
    git('remote', 'add', 'origin', origin);
    git('branch', 'baton/run1/edit');
    const report = {
      runId: 'run1-0000',
      phaseId: 'edit',
      into: 'baton/run1/edit',
      steps: [],
    } as unknown as MergeReport;
    const path = process.env.PATH;
    // A PATH with git alone: a machine without gh, whether or not this one has it.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), join(bin, 'git'));
    process.env.PATH = bin;
    try {
      const pr = await openPullRequest(join(dir, 'repo'), report, new AbortController().signal);
      expect(pr).toEqual({ skipped: 'gh is not on PATH' });
    } finally {
      process.env.PATH = path;
    }
    expect(execFileSync('git', ['ls-remote', origin], { encoding: 'utf8' })).toBe('');
  });
});
