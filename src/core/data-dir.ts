import { accessSync, constants, existsSync, mkdirSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BatonError, ErrorCodes } from './errors.js';

/** What Baton creates for its data (prompts, results, backups) is its user's alone, whatever the umask. */
const privateDirMode = 0o700;
const privateFileMode = 0o600;

/**
 * `mkdir -p`, each directory it creates with `mode` (0700 unless given; the umask applies); returns the
 * first one it created. Node's `mkdirSync(dir, { recursive: true })` loops forever where mkdir fails with
 * ENOENT under a parent that exists (/proc): here each directory is made on its own, and that error thrown.
 */
export function makeDirs(dir: string, mode = privateDirMode): string | undefined {
  const missing: string[] = [];
  for (let current = resolve(dir); !existsSync(current); current = dirname(current)) {
    missing.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const path of missing) {
    try {
      mkdirSync(path, { mode });
    } catch (error) {
      // Another process (a second run starting) made it first.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(path).isDirectory()) throw error;
    }
  }
  return missing[0];
}

/** Creates an empty file, mode 0600, unless one is there: SQLite then opens it (and gives its WAL the same mode). */
export function createPrivateFile(path: string): void {
  try {
    writeFileSync(path, '', { mode: privateFileMode, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/** A data_dir Baton cannot make, or write a file in, as bad input naming where it is set (exit 2). */
export function unusableDataDir(dir: string, cause: unknown): BatonError {
  return new BatonError(
    ErrorCodes.configInvalid,
    `data_dir ${dir} cannot hold Baton's data: ${(cause as Error).message}. Set --data-dir (or BATON_DATA_DIR, or data_dir in baton.config) to a directory you can write, or leave it unset for .baton in the current directory.`,
    { cause },
  );
}

/**
 * Creates Baton's data directory (0700), and when Baton is the one creating it, puts a `.gitignore` of `*` in
 * it: a data directory inside a checkout (the default `.baton`, in the project) with its worktrees and
 * merges never shows in the user's `git status`. A directory that existed is left alone, mode included
 * (it may be theirs, shared on purpose). One that cannot be made or written is BATON_CONFIG_INVALID.
 */
/** procfs and sysfs: kernel views, where no directory or file of Baton's can ever be made. */
const kernelFileSystems = new Set([0x9fa0, 0x62656572]);

/**
 * Whether `dir` could be a data_dir, without making it (for commands that only read a store): not a
 * file, not under one, not in /proc or /sys. Throws as `makeDataDir` does for one that cannot.
 */
export function checkDataDirPath(dir: string): void {
  let existing = resolve(dir);
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  try {
    if (!statSync(existing).isDirectory())
      throw new Error(existing === resolve(dir) ? 'it is a file, not a directory' : `${existing} is a file`);
    if (kernelFileSystems.has(statfsSync(existing).type)) throw new Error(`${existing} is a kernel file system`);
  } catch (cause) {
    throw unusableDataDir(dir, cause);
  }
}

export function makeDataDir(dir: string): void {
  let created: string | undefined;
  try {
    created = makeDirs(dir);
    if (!statSync(dir).isDirectory()) throw new Error('it is a file, not a directory');
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (cause) {
    throw unusableDataDir(dir, cause);
  }
  if (created !== undefined)
    writeFileSync(
      join(dir, '.gitignore'),
      "# Baton's data (store, worktrees, merges): never part of a repository.\n*\n",
    );
}
