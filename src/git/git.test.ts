import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRepo } from '../../test/support/git-repo.js';
import { requireProgram } from '../../test/support/programs.js';
import { git, repositoryRoot } from './git.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-git-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Another Baton process holding `repo`'s worktree lock: it says `held`, then runs `whileHeld` (a
 * statement of an async function, given `log` to append to) before letting go.
 */
function otherProcessHolding(repo: string, whileHeld: string) {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const lock = pathToFileURL(fileURLToPath(new URL('./repository-lock.ts', import.meta.url))).href;
  const program = `const { withWorktreeLock } = await import(${JSON.stringify(lock)});
    const { appendFileSync } = await import('node:fs');
    const log = (line) => appendFileSync(${JSON.stringify(join(repo, '..', 'order.log'))}, line + '\\n');
    await withWorktreeLock(${JSON.stringify(join(repo, '.git'))}, async () => {
      process.stdout.write('held\\n');
      ${whileHeld}
    });`;
  const child = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', program], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const held = once(child.stdout, 'data');
  return { child, held };
}

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

  it("takes turns with another process's worktree changes on the same repository", async () => {
    // Two `baton run`s on one repository: one's prune or add ran into the other's half-made worktree.
    const repo = join(dir, 'shared', 'repo');
    makeRepo(repo, { 'README.md': 'hello\n' });
    const other = otherProcessHolding(
      repo,
      "await new Promise((r) => setTimeout(r, 1500)); log('other process done');",
    );
    await other.held;
    await git(repo, ['worktree', 'add', '-q', '-b', 'mine', join(dir, 'shared', 'mine'), 'HEAD']);
    // Added only once the other process let go, however long it held the lock.
    expect(readFileSync(join(dir, 'shared', 'order.log'), 'utf8')).toBe('other process done\n');
    expect(existsSync(join(repo, '.git', 'baton-worktrees.lock'))).toBe(false);
  });

  it('takes over the worktree lock of a process killed while holding it', async () => {
    const repo = join(dir, 'killed', 'repo');
    makeRepo(repo, { 'README.md': 'hello\n' });
    const other = otherProcessHolding(repo, 'await new Promise(() => {});');
    await other.held;
    other.child.kill('SIGKILL');
    await once(other.child, 'exit');
    expect(existsSync(join(repo, '.git', 'baton-worktrees.lock'))).toBe(true);
    await git(repo, ['worktree', 'add', '-q', '-b', 'mine', join(dir, 'killed', 'mine'), 'HEAD']);
    expect(existsSync(join(dir, 'killed', 'mine', 'README.md'))).toBe(true);
    expect(existsSync(join(repo, '.git', 'baton-worktrees.lock'))).toBe(false);
  });

  it('takes over a worktree lock whose holder pid is now a process started after it was taken', async () => {
    const repo = join(dir, 'reused', 'repo');
    makeRepo(repo, { 'README.md': 'hello\n' });
    const newcomer = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      const anHourAgo = Date.now() - 3_600_000;
      writeFileSync(join(repo, '.git', 'baton-worktrees.lock'), `${newcomer.pid} ${hostname()} ${anHourAgo} x\n`);
      await git(repo, ['worktree', 'add', '-q', '-b', 'mine', join(dir, 'reused', 'mine'), 'HEAD']);
      expect(existsSync(join(repo, '.git', 'baton-worktrees.lock'))).toBe(false);
    } finally {
      newcomer.kill('SIGKILL');
    }
  });
});
