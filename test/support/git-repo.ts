/**
 * Real git repositories for tests, and a fingerprint of a checkout to prove Baton left it alone.
 * Suites using them run under `describe.runIf(requireProgram('git'))` (programs.ts).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { expect } from 'vitest';
import { agentProcessesWithEnv, mcpServerProcessesWithEnv } from './processes.js';

/** Runs git in `repo` as a test user and returns its trimmed stdout. */
export const gitIn =
  (repo: string) =>
  (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, encoding: 'utf8' }).trim();

/** A new repository on branch main with `files` committed. */
export function makeRepo(dir: string, files: Record<string, string>): (...args: string[]) => string {
  mkdirSync(dir, { recursive: true });
  const git = gitIn(dir);
  git('init', '-q', '-b', 'main');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git('add', '.');
  git('commit', '-q', '-m', 'init');
  return git;
}

/**
 * A copy of `dir` in a new repository of its own, committed: a worktree example planned or run from
 * there needs no checkout of Baton (a copy of the sources, a package) around it. Remove `root` after.
 */
export function committedCopy(dir: string): { root: string; path: string } {
  const root = mkdtempSync(join(tmpdir(), 'baton-example-repo-'));
  const path = join(root, 'example');
  cpSync(dir, path, { recursive: true });
  const git = gitIn(path);
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-q', '-m', 'example');
  return { root, path };
}

function treeDigest(root: string, dir: string, hash: ReturnType<typeof createHash>): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name === '.git' && dir === root) continue;
    const path = join(dir, entry.name);
    hash.update(`${relative(root, path)}\0`);
    if (entry.isDirectory()) treeDigest(root, path, hash);
    else hash.update(readFileSync(path));
  }
}

/**
 * What a user would see of their checkout: current branch and commit, the index file's bytes, every
 * working-tree file's bytes and the stash. Read without commands that refresh the index.
 */
export function checkoutFingerprint(repo: string): Record<string, string> {
  const git = gitIn(repo);
  const tree = createHash('sha256');
  treeDigest(repo, repo, tree);
  return {
    head: readFileSync(join(repo, '.git', 'HEAD'), 'utf8'),
    commit: git('rev-parse', 'HEAD'),
    index: createHash('sha256')
      .update(readFileSync(join(repo, '.git', 'index')))
      .digest('hex'),
    tree: tree.digest('hex'),
    stash: git('stash', 'list', '--format=%H %s'),
  };
}

/** Gives the checkout a stash entry, a staged change and an unstaged one: a user in the middle of work. */
export function dirtyCheckout(repo: string, file: string): void {
  const git = gitIn(repo);
  writeFileSync(join(repo, file), 'stashed work\n');
  git('stash', 'push', '-q', '-m', 'user stash');
  writeFileSync(join(repo, 'staged.txt'), 'staged work\n');
  git('add', 'staged.txt');
  writeFileSync(join(repo, file), 'unstaged work\n');
}

/** The worktree and merge directories a run left in its data directory (`worktrees/<entry>`, `merges/<entry>`). */
export function leftoverRunDirs(dataDir: string, runId: string): string[] {
  return ['worktrees', 'merges'].flatMap((kind) => {
    const under = join(dataDir, kind, runId);
    return existsSync(under) ? readdirSync(under).map((entry) => `${kind}/${entry}`) : [];
  });
}

/**
 * Asserts a worktree run left nothing behind: no claude or MCP server process of the test (whose
 * environment holds `home`), the user's checkout as `before` fingerprinted it, no worktree but the
 * checkout's own, and no worktree or merge directory of the run in its data directory.
 */
export function expectRunLeftNothing(run: {
  home: string;
  repo: string;
  before: Record<string, string>;
  dataDir: string;
  runId: string;
}): void {
  expect(agentProcessesWithEnv(run.home)).toEqual([]);
  expect(mcpServerProcessesWithEnv(run.home)).toEqual([]);
  expect(checkoutFingerprint(run.repo)).toEqual(run.before);
  expect(gitIn(run.repo)('worktree', 'list').split('\n')).toHaveLength(1);
  expect(leftoverRunDirs(run.dataDir, run.runId)).toEqual([]);
}
