export { BATON_COMMITTER, git, removeStaleLocks, repositoryRoot, tryGit, worktreeBranch } from './git.js';
export type { GitOptions } from './git.js';
