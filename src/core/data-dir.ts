import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Creates Baton's data directory, and when Baton is the one creating it, puts a `.gitignore` of `*` in
 * it: a data directory inside a checkout (the default `.baton`, in the project) with its worktrees and
 * merges never shows in the user's `git status`. A directory that existed is left alone (it may be theirs).
 */
export function makeDataDir(dir: string): void {
  if (mkdirSync(dir, { recursive: true }) === undefined) return;
  writeFileSync(join(dir, '.gitignore'), "# Baton's data (store, worktrees, merges): never part of a repository.\n*\n");
}
