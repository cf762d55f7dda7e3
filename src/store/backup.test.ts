import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fillSampleStore, readEverything } from '../../test/support/sample-store.js';
import { ErrorCodes } from '../core/index.js';
import { backupStore, checkStoreFile, listBackups, restoreStore, scheduleBackups, storeFileName } from './backup.js';
import { openSqliteStore } from './sqlite-store.js';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'baton-backup-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

async function filledStore(): Promise<void> {
  const store = openSqliteStore({ dataDir });
  await fillSampleStore(store);
  await store.close();
}

async function everything(): Promise<Record<string, unknown>> {
  const store = openSqliteStore({ dataDir });
  try {
    return await readEverything(store);
  } finally {
    await store.close();
  }
}

let tick = Date.parse('2026-11-30T10:00:00Z');
const clock = (): number => (tick += 1000);

describe('store backups', () => {
  it('never keeps a copy of a tampered or damaged store: the sound backups are not rotated out, and no part-copy is left', async () => {
    await filledStore();
    const sound = backupStore(dataDir, { keep: 1, reason: 'manual', now: clock });
    const path = join(dataDir, storeFileName);
    const db = new Database(path);
    db.prepare("UPDATE context_entries SET content = 'forged'").run();
    db.close();
    const refusal = (): unknown => {
      try {
        backupStore(dataDir, { keep: 1, reason: 'scheduled', now: clock });
      } catch (error) {
        return error;
      }
      return undefined;
    };
    expect(refusal()).toMatchObject({
      code: ErrorCodes.store,
      message: expect.stringMatching(/is damaged \(.*checksums\).*baton restore .*manual\.bak/),
    });
    expect(listBackups(dataDir)).toEqual([sound]);

    const bytes = readFileSync(path);
    bytes.fill(0x5a, 4096, Math.min(bytes.length, 4096 * 3));
    writeFileSync(path, bytes);
    expect(refusal()).toMatchObject({ code: ErrorCodes.store, message: expect.stringContaining(sound) });
    expect(listBackups(dataDir)).toEqual([sound]);
    expect(readdirSync(join(dataDir, 'backups'))).toEqual([basename(sound)]);
  });

  it('round trip: a backup restores the store after its content was tampered with and its file damaged', async () => {
    await filledStore();
    const before = await everything();
    const backup = backupStore(dataDir, { keep: 5, reason: 'manual', now: clock });
    expect(checkStoreFile(backup).problems).toEqual([]);

    // Tampering: a context entry changed outside Baton no longer matches its checksum.
    const db = new Database(join(dataDir, storeFileName));
    db.prepare('UPDATE context_entries SET content = ? WHERE rowid = (SELECT MIN(rowid) FROM context_entries)').run(
      'forged',
    );
    db.close();
    const tampered = checkStoreFile(join(dataDir, storeFileName));
    expect(tampered.corruptEntries).toHaveLength(1);
    expect(tampered.problems).toEqual(['1 context entries do not match their checksums']);

    // Damage: overwrite pages in the middle of the file.
    const path = join(dataDir, storeFileName);
    const bytes = readFileSync(path);
    bytes.fill(0x5a, 4096, Math.min(bytes.length, 4096 * 3));
    writeFileSync(path, bytes);
    expect(checkStoreFile(path).problems).not.toEqual([]);

    const { keptAs } = restoreStore(dataDir, backup, { keep: 5, now: clock });
    expect(checkStoreFile(path).problems).toEqual([]);
    expect(await everything()).toEqual(before);
    // The damaged store was kept, not deleted.
    expect(keptAs).toMatch(/baton\.db\.(damaged-\d+|.*before-restore\.bak)$/);
    expect(readFileSync(keptAs!).length).toBeGreaterThan(0);
  });

  it('refuses to restore an unsound file and leaves the current store exactly as it was', async () => {
    await filledStore();
    const junk = join(dataDir, 'junk.bak');
    writeFileSync(junk, 'not a database at all');
    const storeBytes = readFileSync(join(dataDir, storeFileName));
    expect(() => restoreStore(dataDir, junk, { keep: 5 })).toThrow(
      expect.objectContaining({
        code: ErrorCodes.backupInvalid,
        message: expect.stringContaining('nothing was restored'),
      }),
    );
    expect(readFileSync(join(dataDir, storeFileName)).equals(storeBytes)).toBe(true);
  });

  it('restores the oldest backup even when keeping the current store rotates it out (backup_keep lowered since)', async () => {
    await filledStore();
    const before = await everything();
    const oldest = backupStore(dataDir, { keep: 10, reason: 'manual', now: clock });
    for (let i = 0; i < 3; i++) backupStore(dataDir, { keep: 10, reason: 'scheduled', now: clock });
    const store = openSqliteStore({ dataDir });
    await store.saveRun({ ...(await store.getRun('run-a'))!, workflowName: 'changed since' });
    await store.close();

    restoreStore(dataDir, oldest, { keep: 1, now: clock });
    expect(await everything()).toEqual(before);
  });

  it('keeps backups and a restored store to their user: backups/ 0700, each copy 0600', async () => {
    await filledStore();
    const backup = backupStore(dataDir, { keep: 2, reason: 'manual', now: clock });
    restoreStore(dataDir, backup, { keep: 2, now: clock });
    const mode = (path: string): number => statSync(path).mode & 0o777;
    expect(mode(join(dataDir, 'backups'))).toBe(0o700);
    expect(listBackups(dataDir).map(mode)).toEqual([0o600, 0o600]);
    expect(mode(join(dataDir, storeFileName))).toBe(0o600);
  });

  it('keeps only the newest `keep` backups', async () => {
    await filledStore();
    const made = [1, 2, 3, 4].map(() => backupStore(dataDir, { keep: 2, reason: 'scheduled', now: clock }));
    expect(listBackups(dataDir)).toEqual([made[3], made[2]]);
  });

  it('never rotates out the backup taken before a restore or a schema migration', async () => {
    await filledStore();
    const first = backupStore(dataDir, { keep: 2, reason: 'manual', now: clock });
    const { keptAs } = restoreStore(dataDir, first, { keep: 2, now: clock });
    const premigration = join(dataDir, 'backups', `${storeFileName}.v3.1700000000000.bak`);
    copyFileSync(first, premigration);
    const routine = [1, 2, 3, 4].map(() => backupStore(dataDir, { keep: 2, reason: 'scheduled', now: clock }));
    expect(listBackups(dataDir).sort()).toEqual([keptAs!, premigration, routine[3]!, routine[2]!].sort());
  });

  it('scheduled backups count from the newest backup, so runs shorter than the interval still take them', async () => {
    await filledStore();
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'] });
    try {
      const hour = 3_600_000;
      let now = Date.parse('2026-11-30T10:00:00Z');
      const schedule = () =>
        scheduleBackups(dataDir, {
          keep: 5,
          intervalMs: hour,
          onError: (e) => {
            throw e;
          },
          now: () => now,
        });
      // No backup yet: one is taken as soon as the run has started.
      let stop = schedule();
      vi.advanceTimersByTime(0);
      expect(listBackups(dataDir)).toHaveLength(1);
      stop();
      // A run starting 10 minutes later takes none before the hour is up, then one.
      now += 10 * 60_000;
      stop = schedule();
      vi.advanceTimersByTime(49 * 60_000);
      expect(listBackups(dataDir)).toHaveLength(1);
      now += 50 * 60_000;
      vi.advanceTimersByTime(60_000);
      expect(listBackups(dataDir)).toHaveLength(2);
      stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
