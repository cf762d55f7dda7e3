export { BATON_COMMITTER, git, tryGit, worktreeBranch } from './git.js';
export type { GitOptions } from './git.js';
