export { BATON_COMMITTER, git, tryGit } from './git.js';
export type { GitOptions } from './git.js';
