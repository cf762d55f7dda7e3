export { BATON_COMMITTER, git, removeStaleLocks, tryGit, worktreeBranch } from './git.js';
export type { GitOptions } from './git.js';
