export {
  BATON_COMMITTER,
  BATON_EMAIL,
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
