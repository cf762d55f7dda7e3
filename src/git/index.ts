export { git, tryGit } from './git.js';
export type { GitOptions, GitOutcome } from './git.js';
