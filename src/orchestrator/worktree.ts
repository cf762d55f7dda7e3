import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BatonError, ErrorCodes } from '../core/index.js';
import { BATON_COMMITTER, git, tryGit } from '../git/index.js';
import type { AgentWorkspace } from '../store/index.js';

/** A branch name git accepts, from a run and agent id. */
export const worktreeBranch = (runId: string, agentId: string): string => `baton/${runId.slice(0, 8)}/${agentId}`;

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
  const root = await git(resolve(repo), ['rev-parse', '--show-toplevel']).catch((error: unknown) => {
    throw new BatonError(
      ErrorCodes.worktree,
      `workspace: worktree needs a git repository, and ${repo} is not one (set the phase's repo:)`,
      { cause: error },
    );
  });
  const branch = worktreeBranch(runId, agentId);
  const path = resolve(dataDir, 'worktrees', runId, agentId);
  const existing = await git(root, ['worktree', 'list', '--porcelain']);
  const reused = { branch, path, diffStat: { files: 0, insertions: 0, deletions: 0 } };
  if (existing.split('\n').includes(`worktree ${path}`))
    return { ...reused, baseCommit: base ?? (await git(root, ['merge-base', 'HEAD', branch])) };
  await mkdir(join(dataDir, 'worktrees', runId), { recursive: true });
  // The branch of an earlier attempt of this run's agent (stopped by a cancel or a detach) holds the work
  // it committed as it stopped; its resumed session remembers that work, so it is checked out, not reset.
  if ((await tryGit(root, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`])).code === 0) {
    await git(root, ['worktree', 'add', path, branch]);
    return { ...reused, baseCommit: base ?? (await git(root, ['merge-base', 'HEAD', branch])) };
  }
  const baseCommit = base ?? (await git(root, ['rev-parse', 'HEAD']));
  await git(root, ['worktree', 'add', '-b', branch, path, baseCommit]);
  return { ...reused, baseCommit };
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
  await git(workspace.path, ['add', '-A']);
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
  const diffStat = parseShortStat(await git(workspace.path, ['diff', '--shortstat', workspace.baseCommit, head]));
  const root = await git(workspace.path, ['rev-parse', '--path-format=absolute', '--git-common-dir']);
  await git(resolve(root, '..'), ['worktree', 'remove', '--force', workspace.path]);
  return { ...workspace, ...(head !== workspace.baseCommit ? { commit: head } : {}), diffStat };
}
