export {
  BATON_COMMITTER,
  checkedOutAt,
  freeBranchHint,
  git,
  listWorktrees,
  removeStaleLocks,
  repositoryRoot,
  tryGit,
  worktreeBranch,
} from './git.js';
export type { GitOptions, ListedWorktree } from './git.js';
