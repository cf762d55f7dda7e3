import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRepo } from '../../test/support/git-repo.js';
import { requireProgram } from '../../test/support/programs.js';
import { git, repositoryRoot } from './git.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-git-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(requireProgram('git'))('git', () => {
  it('adds many worktrees of one repository at once without tripping over each other', async () => {
    const repo = join(dir, 'repo');
    makeRepo(repo, { 'README.md': 'hello\n' });
    const names = Array.from({ length: 16 }, (_, i) => `agent-${i}`);
    await Promise.all(names.map((name) => git(repo, ['worktree', 'add', '-q', '-b', name, join(dir, name), 'HEAD'])));
    const listed = (await git(repo, ['worktree', 'list', '--porcelain']))
      .split('\n')
      .filter((l) => l.startsWith('worktree '));
    expect(listed).toHaveLength(names.length + 1);
    await Promise.all(names.map((name) => git(repo, ['worktree', 'remove', '--force', join(dir, name)])));
    expect((await git(repo, ['worktree', 'list'])).split('\n')).toHaveLength(1);
  });

  it("finds a repository's top level, and outside one fails with the caller's code and message", async () => {
    const repo = join(dir, 'rooted');
    makeRepo(repo, { 'src/a.txt': 'a\n' });
    expect(await repositoryRoot(join(repo, 'src'))).toBe(repo);
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    await expect(repositoryRoot(outside, { errorCode: 'BATON_MERGE_FAILED' })).rejects.toMatchObject({
      code: 'BATON_MERGE_FAILED',
      message: expect.stringContaining('not a git repository'),
    });
    await expect(repositoryRoot(outside, { notARepository: 'set the phase repo:' })).rejects.toMatchObject({
      code: 'BATON_WORKTREE',
      message: 'set the phase repo:',
    });
  });
});
