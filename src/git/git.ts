import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { BatonError, ErrorCodes, type ErrorCode } from '../core/index.js';
import { withWorktreeLock } from './repository-lock.js';

const exec = promisify(execFile);

export interface GitOptions {
  /** Added to the process environment (commit dates, for one). */
  env?: Record<string, string>;
  signal?: AbortSignal;
  /** The code a failure is reported under (default BATON_WORKTREE). */
  errorCode?: ErrorCode;
}

/** What a git command printed and how it ended, for the commands whose failure is an answer. */
export interface GitOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

const execOptions = (cwd: string, options: GitOptions) => ({
  cwd,
  maxBuffer: 16 * 1024 * 1024,
  ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  ...(options.signal ? { signal: options.signal } : {}),
});

/**
 * `git worktree add|remove|prune` of one repository must not run at once: git writes the shared
 * `.git/worktrees/` without a lock, and a concurrent add fails reading another's half-made entry
 * ("failed to read .git/worktrees/<name>/commondir"), or a prune deletes it ("could not open
 * .git/worktrees/<name>/locked"). They take ~50 ms, so one queue for the process is simpler than
 * finding each command's repository first (a promise chain, no library needed); across processes (two
 * `baton run`s on one repository) a lock file in the repository's git directory orders them.
 */
let worktreeQueue: Promise<unknown> = Promise.resolve();
const changesWorktrees = (args: string[]): boolean =>
  args[0] === 'worktree' && ['add', 'remove', 'prune', 'move'].includes(args[1] ?? '');

/**
 * A repository's hooks are its user's, for their own checkouts and commits: a failing, slow or
 * interactive one (a post-checkout install, a commitizen prepare-commit-msg) must not stop the
 * worktrees and commits Baton makes for itself, which `--no-verify` alone does not cover.
 */
const NO_HOOKS = ['-c', 'core.hooksPath=/dev/null'];

function runGit(cwd: string, args: string[], options: GitOptions) {
  if (!changesWorktrees(args)) return exec('git', args, execOptions(cwd, options));
  const command = args[1] === 'add' ? [...NO_HOOKS, ...args] : args;
  const turn = worktreeQueue.then(async () => {
    const common = await exec(
      'git',
      ['rev-parse', '--path-format=absolute', '--git-common-dir'],
      execOptions(cwd, options),
    );
    return withWorktreeLock(
      common.stdout.trim(),
      () => exec('git', command, execOptions(cwd, options)),
      options.signal,
    );
  });
  worktreeQueue = turn.catch(() => undefined);
  return turn;
}

/** Runs git and returns its trimmed stdout; a non-zero exit is a BatonError carrying git's stderr. */
export async function git(cwd: string, args: string[], options: GitOptions = {}): Promise<string> {
  try {
    const { stdout } = await runGit(cwd, args, options);
    return stdout.trim();
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new BatonError(
      options.errorCode ?? ErrorCodes.worktree,
      `git ${args.join(' ')} failed in ${cwd}: ${stderr || (error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * The top level of the repository containing `repo` (any directory inside it). Not in one, it fails
 * under `options.errorCode` with `notARepository` as the message when given (one naming the caller's
 * field and fix), else with git's own.
 */
export async function repositoryRoot(
  repo: string,
  options: GitOptions & { notARepository?: string } = {},
): Promise<string> {
  const { notARepository, ...gitOptions } = options;
  try {
    return await git(resolve(repo), ['rev-parse', '--show-toplevel'], gitOptions);
  } catch (error) {
    if (notARepository === undefined || options.signal?.aborted) throw error;
    throw new BatonError(options.errorCode ?? ErrorCodes.worktree, notARepository, { cause: error });
  }
}

/** A worktree of a repository, as `git worktree list` has it. */
export interface ListedWorktree {
  path: string;
  /** The branch it has checked out; absent for a detached HEAD. */
  branch?: string;
}

/** The repository's worktrees, its main checkout first; ones whose directory is gone are listed too. */
export async function listWorktrees(repo: string, options: GitOptions = {}): Promise<ListedWorktree[]> {
  const listing = await git(repo, ['worktree', 'list', '--porcelain'], options);
  return listing.split('\n\n').map((entry) => {
    const lines = entry.split('\n');
    const field = (name: string): string | undefined =>
      lines.find((line) => line.startsWith(`${name} `))?.slice(name.length + 1);
    const branch = field('branch')?.replace(/^refs\/heads\//, '');
    return { path: field('worktree') ?? '', ...(branch ? { branch } : {}) };
  });
}

/** Where `branch` is checked out among `worktrees` other than at `except` (Baton's own worktree for it), if anywhere. */
export const checkedOutAt = (worktrees: ListedWorktree[], branch: string, except: string): string | undefined =>
  worktrees.find((worktree) => worktree.branch === branch && worktree.path !== except)?.path;

/** Why a branch checked out at `at` is in the way, and how to free it keeping that checkout's files. */
export const freeBranchHint = (at: string): string =>
  `git checks a branch out in one place only: switch that checkout to another branch, or keep its files as they are with git -C ${at} switch --detach`;

/** Runs git and reports how it ended, without throwing on a non-zero exit (a merge with conflicts, say). */
export async function tryGit(cwd: string, args: string[], options: GitOptions = {}): Promise<GitOutcome> {
  try {
    const { stdout, stderr } = await runGit(cwd, args, options);
    return { code: 0, stdout: stdout.trim(), stderr: stderr.trim() };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error; // git did not run at all, or was aborted
    return { code: failed.code, stdout: failed.stdout?.trim() ?? '', stderr: failed.stderr?.trim() ?? '' };
  }
}

/**
 * Git options for the commits Baton makes itself (an agent's changes, merges): as Baton, unsigned, and
 * without hooks (`--no-verify` is added by the caller too), so a user's signing setup or hooks cannot
 * refuse them; and without the housekeeping a commit starts (`git maintenance run --auto`, a gc in the
 * background packing refs and pruning worktrees while Baton makes others'): the user's own git runs it.
 */
/** The committer email of every commit Baton makes, which tells its commits from a person's. */
export const BATON_EMAIL = 'baton@localhost';

export const BATON_COMMITTER = [
  ...NO_HOOKS,
  '-c',
  'maintenance.auto=false',
  '-c',
  'gc.auto=0',
  '-c',
  'user.name=Baton',
  '-c',
  `user.email=${BATON_EMAIL}`,
  '-c',
  'commit.gpgSign=false',
  // A repository that asks for signed merges would refuse every agent's branch, which Baton commits unsigned.
  '-c',
  'merge.verifySignatures=false',
];

/** A worktree agent's branch: a name git accepts, from the run and agent ids. */
export const worktreeBranch = (runId: string, agentId: string): string => `baton/${runId.slice(0, 8)}/${agentId}`;

/**
 * Removes the locks a git process killed mid-command (with its agent, or with the orchestrator's whole
 * process group) left in one of Baton's own worktrees and on its branch; they would stop every later
 * git command there ("File exists"). Called only when nothing else runs git in that worktree.
 */
export async function removeStaleLocks(worktree: string, branch: string, options: GitOptions = {}): Promise<void> {
  const locks = ['index.lock', 'HEAD.lock', `refs/heads/${branch}.lock`].flatMap((lock) => ['--git-path', lock]);
  const paths = await git(worktree, ['rev-parse', '--path-format=absolute', ...locks], options);
  await Promise.all(paths.split('\n').map((lock) => rm(lock, { force: true })));
}
