import { existsSync } from 'node:fs';
import { mkdir, rename, rmdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { BatonError, ErrorCodes, makeDataDir } from '../core/index.js';
import {
  BATON_COMMITTER,
  checkedOutAt,
  freeBranchHint,
  git,
  listWorktrees,
  removeStaleLocks,
  repositoryRoot,
  tryGit,
  worktreeBranch,
  type ListedWorktree,
} from '../git/index.js';
import type { AgentWorkspace } from '../store/index.js';
import { workflowInvalid, type PhaseSpec } from '../workflow/index.js';

/**
 * Gives an agent its own worktree and branch of `repo`, started at `base` (a merged earlier phase's
 * integration head) or else the repository's HEAD. Calling it again for the same agent (a resumed
 * run) reuses the worktree it made before.
 */
export async function createWorktree(
  repo: string,
  dataDir: string,
  runId: string,
  agentId: string,
  base?: string,
): Promise<AgentWorkspace> {
  const root = await worktreeRoot(repo);
  const branch = worktreeBranch(runId, agentId);
  const path = resolve(dataDir, 'worktrees', runId, agentId);
  const listed = await listWorktrees(root);
  const reused = { branch, path, diffStat: { files: 0, insertions: 0, deletions: 0 } };
  if (listed.some((worktree) => worktree.path === path)) {
    if (existsSync(path)) return { ...reused, baseCommit: base ?? (await git(root, ['merge-base', 'HEAD', branch])) };
    // Deleted behind git's back (a cleaned data_dir): made again from its branch, below.
    await git(root, ['worktree', 'remove', '--force', path]);
  }
  makeDataDir(dataDir);
  await mkdir(join(dataDir, 'worktrees', runId), { recursive: true });
  // The branch of an earlier attempt of this run's agent (stopped by a cancel or a detach) holds the work
  // it committed as it stopped; its resumed session remembers that work, so it is checked out, not reset.
  if ((await tryGit(root, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`])).code === 0) {
    refuseCheckedOut(listed, path, branch, agentId, runId);
    await git(root, ['worktree', 'add', path, branch]);
    return { ...reused, baseCommit: base ?? (await git(root, ['merge-base', 'HEAD', branch])) };
  }
  const baseCommit = base ?? (await git(root, ['rev-parse', 'HEAD']));
  await git(root, ['worktree', 'add', '-b', branch, path, baseCommit]);
  return { ...reused, baseCommit };
}

/** Git checks a branch out in one place only: the user looking at the agent's branch in their checkout, say. */
function refuseCheckedOut(
  listed: ListedWorktree[],
  path: string,
  branch: string,
  agentId: string,
  runId: string,
): void {
  const at = checkedOutAt(listed, branch, path);
  if (at === undefined) return;
  throw new BatonError(
    ErrorCodes.worktree,
    `agent ${agentId}'s branch ${branch} is checked out at ${at}, and ${freeBranchHint(at)}, then resume the run: baton run --resume ${runId}`,
  );
}

const worktreeRoot = (repo: string): Promise<string> =>
  repositoryRoot(repo, {
    notARepository: `workspace: worktree needs a git repository, and ${repo} is not one (set the phase's repo:)`,
  });

/** The commit `repo`'s checkout is on: where a phase's branches start unless it builds on a merge. */
export async function repositoryHead(repo: string): Promise<string> {
  return git(await worktreeRoot(repo), ['rev-parse', 'HEAD']);
}

function parseShortStat(line: string): AgentWorkspace['diffStat'] {
  const number = (pattern: RegExp): number => Number(pattern.exec(line)?.[1] ?? 0);
  return {
    files: number(/(\d+) files? changed/),
    insertions: number(/(\d+) insertions?/),
    deletions: number(/(\d+) deletions?/),
  };
}

/**
 * Commits what the agent changed in its worktree to its branch and records the diff stat against
 * where it started. The worktree is removed; the branch stays for review and merging.
 */
export async function finishWorktree(workspace: AgentWorkspace, agentId: string): Promise<AgentWorkspace> {
  // The agent has ended; a git command it was running when killed (a timeout, a cancel) left its locks.
  await removeStaleLocks(workspace.path, workspace.branch);
  const embedded = await addAll(workspace.path);
  const changed = (await git(workspace.path, ['status', '--porcelain'])) !== '';
  if (changed) {
    // Unsigned and past the repository's hooks: a hook or signing key must not drop the agent's work.
    await git(workspace.path, [
      ...BATON_COMMITTER,
      'commit',
      '-q',
      '--no-verify',
      '-m',
      `baton: changes by agent ${agentId}`,
    ]);
  }
  const head = await git(workspace.path, ['rev-parse', 'HEAD']);
  // An agent that checked out another branch or a detached HEAD and committed there: its branch is
  // where its work is found (for review, and for a resumed attempt), so it is moved to that work.
  await git(workspace.path, ['update-ref', `refs/heads/${workspace.branch}`, head]);
  const diffStat = parseShortStat(await git(workspace.path, ['diff', '--shortstat', workspace.baseCommit, head]));
  // Removed from inside: the repository's git directory may be anywhere (a submodule, --separate-git-dir).
  await git(workspace.path, ['worktree', 'remove', '--force', workspace.path]);
  // The run's folder goes with its last worktree (rmdir fails while another agent's is still there).
  await rmdir(dirname(workspace.path)).catch(() => undefined);
  return {
    ...workspace,
    ...(head !== workspace.baseCommit ? { commit: head } : {}),
    diffStat,
    ...(embedded.length > 0 ? { embeddedRepositories: embedded } : {}),
  };
}

/**
 * `git add -A`, with the files of the repositories the agent made inside its worktree (a `git init`, a
 * `git clone`) added as its own: git would add each as a bare gitlink, its files lost to the merge, or
 * fail the whole add for one without a commit. Each one's `.git` is moved out of the worktree for the
 * add (inner ones come to light as outer ones go) and put back. Returns their paths, sorted.
 */
async function addAll(path: string): Promise<string[]> {
  const aside: Array<{ from: string; to: string }> = [];
  try {
    for (;;) {
      const found = (await git(path, ['ls-files', '-z', '--others', '--exclude-standard']))
        .split('\0')
        .filter((file) => file.endsWith('/') && !aside.some(({ from }) => from === join(path, file, '.git')));
      if (found.length === 0) break;
      for (const repo of found) {
        const moved = { from: join(path, repo, '.git'), to: `${path}.embedded-${aside.length}.git` };
        await rename(moved.from, moved.to);
        aside.push(moved);
      }
    }
    await git(path, ['add', '-A']);
  } finally {
    for (const { from, to } of aside.reverse()) await rename(to, from);
  }
  return aside.map(({ from }) => relative(path, dirname(from))).sort();
}

/**
 * Before any agent starts: each worktree phase's repository must exist, be a git repository and have a
 * commit, or every agent of the phase would fail on its own to get a branch (refused here naming the
 * field, exit 2). Returns a note per repository whose tracked files have uncommitted changes, which
 * the agents' branches, made at HEAD, will not have.
 */
export async function checkWorktreeRepos(phases: readonly PhaseSpec[], workflowDir: string): Promise<string[]> {
  const problems: string[] = [];
  const roots = new Set<string>();
  for (const [i, phase] of phases.entries()) {
    if (phase.workspace !== 'worktree') continue;
    const repo = resolve(workflowDir, phase.repo ?? '.');
    const found = await repositoryWithCommit(repo);
    if ('problem' in found) problems.push(`phases[${i}].repo: ${found.problem}`);
    else roots.add(found.root);
  }
  if (problems.length > 0) throw workflowInvalid(problems);
  const notes = await Promise.all([...roots].map(uncommittedNote));
  return notes.filter((note): note is string => note !== undefined);
}

async function repositoryWithCommit(repo: string): Promise<{ root: string } | { problem: string }> {
  if (!existsSync(repo)) return { problem: `${repo} does not exist; workspace: worktree needs a git repository` };
  const root = await tryGit(repo, ['rev-parse', '--show-toplevel']);
  if (root.code !== 0)
    return {
      problem: `${repo} is not a git repository; workspace: worktree gives each agent a branch of one (git init it, or set repo:)`,
    };
  if ((await tryGit(root.stdout, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'])).code !== 0)
    return {
      problem: `${root.stdout} has no commit yet, and the agents' branches start at HEAD; commit first: git -C ${root.stdout} add -A && git -C ${root.stdout} commit -m init`,
    };
  return { root: root.stdout };
}

/**
 * Tracked files only: Baton's own data_dir may sit untracked in the checkout. Without optional locks:
 * a plain status writes the user's index back under index.lock, in the way of their own git commands.
 */
async function uncommittedNote(root: string): Promise<string | undefined> {
  const status = await tryGit(root, ['--no-optional-locks', 'status', '--porcelain', '--untracked-files=no']);
  const changed = status.stdout.split('\n').filter((line) => line.trim()).length;
  if (status.code !== 0 || changed === 0) return undefined;
  const head = await git(root, ['rev-parse', '--short=10', 'HEAD']);
  return `${root} has uncommitted changes (${changed} file${changed === 1 ? '' : 's'}); the agents' branches start at HEAD ${head} without them: commit them first to include them`;
}
