export { BATON_COMMITTER, git, makeDataDir, removeStaleLocks, tryGit, worktreeBranch } from './git.js';
export type { GitOptions } from './git.js';
