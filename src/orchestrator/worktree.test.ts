import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRepo } from '../../test/support/git-repo.js';
import { requireProgram } from '../../test/support/programs.js';
import { createWorktree, finishWorktree } from './worktree.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-worktree-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runId = '5c9b515c-aeb1-47e3-a138-688bab8899ad';

describe.runIf(requireProgram('git'))('agent worktrees', () => {
  it('gives a resumed agent its branch back with the work an interrupted attempt committed', async () => {
    // A cancelled attempt's edits are committed to its branch as it stops and the worktree is removed;
    // the resumed session remembers making them, so the new worktree must start from that branch.
    const repo = join(dir, 'resumed');
    const repoGit = makeRepo(repo, { 'README.md': 'hello\n' });
    const dataDir = join(dir, 'resumed-data');
    const first = await createWorktree(repo, dataDir, runId, 'helper.15');
    writeFileSync(join(first.path, 'helper.js'), 'export const helper = 1;\n');
    const stopped = await finishWorktree(first, 'helper.15');
    expect(stopped.commit).toBeDefined();

    const again = await createWorktree(repo, dataDir, runId, 'helper.15');
    expect(readFileSync(join(again.path, 'helper.js'), 'utf8')).toBe('export const helper = 1;\n');
    expect(again.baseCommit).toBe(first.baseCommit);
    const done = await finishWorktree(again, 'helper.15');
    expect(done.commit).toBe(stopped.commit);
    expect(done.diffStat).toEqual({ files: 1, insertions: 1, deletions: 0 });
    expect(repoGit('rev-parse', 'baton/5c9b515c/helper.15')).toBe(stopped.commit);
  });

  it('starts a new agent at the base it is given, and reuses a worktree that is still there', async () => {
    const repo = join(dir, 'fresh');
    const repoGit = makeRepo(repo, { 'README.md': 'hello\n' });
    const head = repoGit('rev-parse', 'HEAD');
    const dataDir = join(dir, 'fresh-data');
    const made = await createWorktree(repo, dataDir, runId, 'writer');
    expect(made).toMatchObject({ branch: 'baton/5c9b515c/writer', baseCommit: head });
    writeFileSync(join(made.path, 'notes.md'), 'draft\n');
    const reused = await createWorktree(repo, dataDir, runId, 'writer');
    expect(reused.path).toBe(made.path);
    expect(existsSync(join(reused.path, 'notes.md'))).toBe(true);
  });
});
