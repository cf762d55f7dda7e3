import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BatonError, ErrorCodes, isBatonError } from '../core/index.js';
import { SCHEMA_VERSION } from './migrations.js';
import { copyStoreFile, corruptContextEntryIds } from './sqlite-store.js';

/** The store file in data_dir, and where its backups go. */
export const storeFileName = 'baton.db';
export const backupsDir = (dataDir: string): string => join(dataDir, 'backups');

/** What `baton doctor` and `baton restore` find in a store file. */
export interface StoreCheck {
  path: string;
  /** `ok`, or SQLite's integrity_check findings. */
  integrity: string[];
  schemaVersion?: number;
  /** Context entries whose content no longer matches their checksum. */
  corruptEntries: string[];
  /** Every problem in words; empty when the file is sound. */
  problems: string[];
}

/** Checks a store file without changing it: SQLite's integrity check, the schema version, every checksum. */
export function checkStoreFile(path: string): StoreCheck {
  const check: StoreCheck = { path, integrity: [], corruptEntries: [], problems: [] };
  if (!existsSync(path)) return { ...check, problems: [`${path} does not exist`] };
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    check.integrity = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map(
      (r) => r.integrity_check,
    );
    if (check.integrity.join() !== 'ok')
      check.problems.push(`integrity check: ${check.integrity.slice(0, 5).join('; ')}`);
    check.schemaVersion = db.pragma('user_version', { simple: true }) as number;
    if (check.schemaVersion === 0) check.problems.push('not a Baton store (no schema version)');
    else if (check.schemaVersion > SCHEMA_VERSION)
      check.problems.push(`schema version ${check.schemaVersion} is newer than this Baton's (${SCHEMA_VERSION})`);
    else {
      check.corruptEntries = corruptContextEntryIds(db);
      if (check.corruptEntries.length > 0)
        check.problems.push(`${check.corruptEntries.length} context entries do not match their checksums`);
    }
  } catch (cause) {
    check.problems.push(`cannot be read as a SQLite database: ${(cause as Error).message}`);
  } finally {
    db?.close();
  }
  return check;
}

export interface BackupOptions {
  /** How many backups to keep; older ones are deleted. */
  keep: number;
  /** Why the backup was taken, in its file name: `manual`, `scheduled`, `before-restore`. */
  reason: string;
  now?: () => number;
}

/** Takes an online backup of data_dir's store into data_dir/backups/ and deletes the oldest beyond `keep`. */
export function backupStore(dataDir: string, options: BackupOptions): string {
  const source = join(dataDir, storeFileName);
  if (!existsSync(source)) throw new BatonError(ErrorCodes.store, `There is no store to back up at ${source}.`);
  const stamp = new Date((options.now ?? Date.now)()).toISOString().replace(/[:.]/g, '-');
  const target = join(backupsDir(dataDir), `${storeFileName}.${stamp}.${options.reason}.bak`);
  try {
    copyStoreFile(source, target);
  } catch (cause) {
    throw (
      storeDamagedError(cause, dataDir) ??
      new BatonError(ErrorCodes.store, `Cannot back up the store to ${target}: ${(cause as Error).message}`, { cause })
    );
  }
  // A copy `baton restore` would refuse is not kept: rotating it in would push out the sound backups.
  const problems = checkStoreFile(target).problems;
  if (problems.length > 0) {
    rmSync(target, { force: true });
    throw damaged(dataDir, problems.join('; '), 'Its copy was not kept, so no backup was rotated out. ');
  }
  rotateBackups(dataDir, options.keep);
  return target;
}

/** Whether an error, or one it was caused by, is SQLite finding the store file damaged. */
function isStoreDamaged(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 10; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** A damaged store as a coded error that says how to get the data back, naming the newest backup. */
function damaged(dataDir: string, problem: string, done = '', cause?: unknown): BatonError {
  const [newest] = listBackups(dataDir);
  const restore = newest ? `baton restore ${newest}` : 'baton restore <backup file>';
  return new BatonError(
    ErrorCodes.store,
    `The store ${join(dataDir, storeFileName)} is damaged (${problem}). ${done}See what is wrong with: baton doctor; put the newest sound backup back with: ${restore}`,
    { cause },
  );
}

/** SQLite's "database disk image is malformed" and kin as a coded error telling what to do; undefined for any other error. */
export function storeDamagedError(error: unknown, dataDir: string): BatonError | undefined {
  // One already coded has said what went wrong, with its own advice.
  return !isBatonError(error) && isStoreDamaged(error)
    ? damaged(dataDir, (error as Error).message, '', error)
    : undefined;
}

/** Backups in data_dir/backups/, newest first. */
export function listBackups(dataDir: string): string[] {
  const dir = backupsDir(dataDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.startsWith(`${storeFileName}.`) && name.endsWith('.bak'))
    .map((name) => join(dir, name))
    .sort((a, b) => backupTime(b) - backupTime(a));
}

/** Names hold an ISO time (manual, scheduled) or epoch ms (before a migration): either sorts by when. */
function backupTime(path: string): number {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const iso = /\.(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z)\./.exec(name)?.[1];
  if (iso) return Date.parse(iso.replace(/T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z/, 'T$1:$2:$3.$4Z'));
  return Number(/\.(\d{13})\.bak$/.exec(name)?.[1] ?? 0);
}

/**
 * Deletes the oldest routine backups (`manual`, `scheduled`) beyond `keep`. The ones taken before a
 * restore or a schema migration are the only way back from those, and are rare: never rotated out.
 */
function rotateBackups(dataDir: string, keep: number): void {
  const routine = listBackups(dataDir).filter((path) => /\.(manual|scheduled)\.bak$/.test(path));
  for (const old of routine.slice(keep)) rmSync(old, { force: true });
}

/**
 * Replaces data_dir's store with a backup, after checking the backup (integrity, schema version,
 * checksums). The current store is kept first: backed up when it can be read, else moved aside, so
 * a restore never loses what was stored.
 */
export function restoreStore(
  dataDir: string,
  file: string,
  options: { keep: number; now?: () => number },
): { keptAs?: string } {
  const check = checkStoreFile(file);
  if (check.problems.length > 0)
    throw new BatonError(
      ErrorCodes.backupInvalid,
      `${file} is not a sound Baton store, so nothing was restored: ${check.problems.join('; ')}.`,
    );
  const current = join(dataDir, storeFileName);
  // Copied before the current store is kept: keeping it rotates backups, which may delete `file` itself.
  const staging = `${current}.restoring`;
  copyStoreFile(file, staging);
  let keptAs: string | undefined;
  if (existsSync(current)) {
    const now = options.now ?? Date.now;
    keptAs =
      checkStoreFile(current).problems.length === 0
        ? backupStore(dataDir, { keep: options.keep + 1, reason: 'before-restore', now })
        : moveAside(current, now());
  }
  // The old store's WAL must not be replayed onto the restored file.
  for (const suffix of ['-wal', '-shm']) rmSync(`${current}${suffix}`, { force: true });
  renameSync(staging, current);
  return keptAs ? { keptAs } : {};
}

function moveAside(current: string, now: number): string {
  const aside = `${current}.damaged-${now}`;
  renameSync(current, aside);
  for (const suffix of ['-wal', '-shm'])
    if (existsSync(`${current}${suffix}`)) renameSync(`${current}${suffix}`, `${aside}${suffix}`);
  return aside;
}

/**
 * Backs the store up every `intervalMs` while a run goes (0: never). Returns the function that stops
 * it. A failed backup is reported through `onError`, never fatal to the run.
 */
export function scheduleBackups(
  dataDir: string,
  options: { keep: number; intervalMs: number; onError: (error: Error) => void; now?: () => number },
): () => void {
  if (options.intervalMs === 0) return () => undefined;
  const now = options.now ?? Date.now;
  const backUp = (): void => {
    try {
      backupStore(dataDir, { keep: options.keep, reason: 'scheduled', now });
    } catch (error) {
      options.onError(error as Error);
    }
  };
  // Counted from the newest backup, not from this process's start: runs shorter than the interval
  // (most of them) would otherwise never back the store up.
  const [newest] = listBackups(dataDir);
  const due = newest === undefined ? 0 : Math.max(0, backupTime(newest) + options.intervalMs - now());
  let interval: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    backUp();
    interval = setInterval(backUp, options.intervalMs);
    interval.unref();
  }, due);
  first.unref();
  return () => {
    clearTimeout(first);
    clearInterval(interval);
  };
}
