import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../core/index.js';
import { diskFullError } from './disk-full.js';

/** SQLite's own "database or disk is full", made real by capping the database's size. */
function sqliteFullError(): unknown {
  const db = new Database(':memory:');
  db.pragma('max_page_count = 2');
  db.exec('CREATE TABLE t (x TEXT)');
  try {
    db.prepare('INSERT INTO t VALUES (?)').run('x'.repeat(100_000));
  } catch (error) {
    return error;
  } finally {
    db.close();
  }
  throw new Error('expected SQLITE_FULL');
}

describe('disk full', () => {
  it('SQLITE_FULL becomes BATON_DISK_FULL naming the run to resume', () => {
    const error = diskFullError(sqliteFullError(), '/data', 'run-1');
    expect(error).toMatchObject({ code: ErrorCodes.diskFull });
    expect(error?.message).toBe(
      'The disk holding /data is full. Run run-1 was interrupted; nothing stored was lost. Free space, then: baton run --resume run-1',
    );
  });

  it('ENOSPC from a file write, even wrapped as a cause, is the same code; other errors are left alone', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    expect(diskFullError(new Error('write failed', { cause: enospc }), '/d', undefined)?.code).toBe(
      ErrorCodes.diskFull,
    );
    expect(diskFullError(new Error('other'), '/d', 'r')).toBeUndefined();
  });
});
