export {
  BATON_COMMITTER,
  git,
  listWorktrees,
  removeStaleLocks,
  repositoryRoot,
  tryGit,
  worktreeBranch,
} from './git.js';
export type { GitOptions, ListedWorktree } from './git.js';
