import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations, SCHEMA_VERSION } from './migrations.js';
import { openSqliteStore } from './sqlite-store.js';
import { describeStoreContract } from './store.contract.js';

const tempDirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-store-'));
  tempDirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-store-'));
  const store = openSqliteStore({ dataDir: dir });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const sampleRun = {
  id: 'r1',
  workflowName: 'wf',
  tenant: 'default',
  workflow: {},
  status: 'running' as const,
  createdAt: 1,
};

describe('SqliteStore', () => {
  it('uses WAL mode and keeps data across close and reopen', async () => {
    const dir = tempDir();
    const store = openSqliteStore({ dataDir: join(dir, 'nested', 'data') });
    await store.saveRun(sampleRun);
    await store.close();
    const db = new Database(join(dir, 'nested', 'data', 'baton.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    const reopened = openSqliteStore({ dataDir: join(dir, 'nested', 'data') });
    expect(await reopened.getRun('r1')).toEqual(sampleRun);
    await reopened.close();
  });

  it('keeps what it creates to its user: the data directory 0700, the store file, its WAL and shared memory 0600', async () => {
    const dataDir = join(tempDir(), 'data');
    const store = openSqliteStore({ dataDir });
    await store.saveRun(sampleRun);
    const mode = (name: string): number => statSync(join(dataDir, name)).mode & 0o777;
    expect([mode('.'), mode('baton.db'), mode('baton.db-wal'), mode('baton.db-shm')]).toEqual([
      0o700, 0o600, 0o600, 0o600,
    ]);
    await store.close();
    // A directory the user made (shared with a group, perhaps) keeps its mode; the store in it is still private.
    const shared = join(tempDir(), 'shared');
    mkdirSync(shared, { mode: 0o750 });
    const inShared = openSqliteStore({ dataDir: shared });
    await inShared.close();
    expect([statSync(shared).mode & 0o777, statSync(join(shared, 'baton.db')).mode & 0o777]).toEqual([0o750, 0o600]);
  });

  it('lets two stores on one file see each other (a cancel from another process)', async () => {
    const dir = tempDir();
    const orchestrator = openSqliteStore({ dataDir: dir });
    const canceller = openSqliteStore({ dataDir: dir });
    await orchestrator.saveRun(sampleRun);
    expect(await canceller.requestCancel('r1')).toBe(true);
    expect(await orchestrator.isCancelRequested('r1')).toBe(true);
    await orchestrator.close();
    await canceller.close();
  });

  it('refuses a store written by a newer Baton', async () => {
    const dir = tempDir();
    const db = new Database(join(dir, 'baton.db'));
    db.pragma('user_version = 99');
    db.close();
    expect(() => openSqliteStore({ dataDir: dir })).toThrow(
      expect.objectContaining({ code: 'BATON_STORE', message: expect.stringMatching(/version 99.*Upgrade Baton/) }),
    );
  });

  it('reports a file that is not a database with its path, as BATON_STORE', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'baton.db'), 'this is not sqlite '.repeat(100));
    expect(() => openSqliteStore({ dataDir: dir })).toThrow(
      expect.objectContaining({ code: 'BATON_STORE', message: expect.stringContaining(join(dir, 'baton.db')) }),
    );
  });

  it('upgrades a version-1 store, keeping its data and backing it up first', async () => {
    const dir = tempDir();
    // A store as Baton's first schema wrote it.
    const v1 = new Database(join(dir, 'baton.db'));
    v1.pragma('journal_mode = WAL');
    migrations.find((m) => m.version === 1)!.up(v1);
    v1.pragma('user_version = 1');
    v1.prepare(
      "INSERT INTO runs (id, workflow_name, workflow_json, status, created_at) VALUES ('r1', 'wf', '{}', 'running', 1)",
    ).run();
    v1.prepare(
      `INSERT INTO agents (run_id, id, phase_id, session_id, status, prompt, system_prompt, usage_json, cost_usd, turns, attempts, duration_ms)
       VALUES ('r1', 'a', 'p', 's', 'succeeded', 'p', 's', '{"inputTokens":1,"outputTokens":2,"cacheReadTokens":0,"cacheCreationTokens":0}', 1, 1, 1, 1)`,
    ).run();
    v1.close();

    const upgraded = openSqliteStore({ dataDir: dir });
    expect(await upgraded.getRun('r1')).toEqual(sampleRun);
    expect(await upgraded.getAgent('r1', 'a')).toMatchObject({
      id: 'a',
      usage: { inputTokens: 1, outputTokens: 2 },
      costUsd: 1,
    });
    await upgraded.saveAgent({
      ...(await upgraded.getAgent('r1', 'a'))!,
      mcp: { servers: [], chosen: [], missing: [] },
    });
    await upgraded.close();

    const db = new Database(join(dir, 'baton.db'));
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(
      db.prepare("SELECT name FROM sqlite_master WHERE name IN ('context_entries', 'context_fts')").all(),
    ).toHaveLength(2);
    db.close();
    const backups = readdirSync(join(dir, 'backups'));
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(/^baton\.db\.v1\.\d+\.bak$/);
    const backup = new Database(join(dir, 'backups', backups[0]!), { readonly: true });
    expect(backup.pragma('user_version', { simple: true })).toBe(1);
    expect(backup.prepare('SELECT id FROM runs').all()).toEqual([{ id: 'r1' }]);
    backup.close();
  });

  it('applies a new migration to an existing store (one array entry is all a migration takes)', async () => {
    const dir = tempDir();
    const current = openSqliteStore({ dataDir: dir });
    await current.saveRun(sampleRun);
    await current.close();
    const next = {
      version: SCHEMA_VERSION + 1,
      description: 'test: agent labels',
      up: (db: Database.Database) => db.exec('ALTER TABLE agents ADD COLUMN label TEXT'),
    };
    const upgraded = openSqliteStore({ dataDir: dir, migrations: [...migrations, next] });
    expect(await upgraded.getRun('r1')).toEqual(sampleRun);
    await upgraded.close();
    const db = new Database(join(dir, 'baton.db'));
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1);
    expect(db.prepare("SELECT name FROM pragma_table_info('agents') WHERE name = 'label'").get()).toBeTruthy();
    db.close();
    expect(readdirSync(join(dir, 'backups'))).toEqual([
      expect.stringMatching(new RegExp(`^baton\\.db\\.v${SCHEMA_VERSION}\\.\\d+\\.bak$`)),
    ]);
    // Opening again with the same list finds nothing to do and takes no second backup.
    await openSqliteStore({ dataDir: dir, migrations: [...migrations, next] }).close();
    expect(readdirSync(join(dir, 'backups'))).toHaveLength(1);
  });

  it('does not upgrade a store it could not back up', async () => {
    const dir = tempDir();
    const current = openSqliteStore({ dataDir: dir });
    await current.saveRun(sampleRun);
    await current.close();
    writeFileSync(join(dir, 'backups'), 'a file where the backups folder should be');
    const next = {
      version: SCHEMA_VERSION + 1,
      description: 'test: never applied',
      up: (db: Database.Database) => db.exec('CREATE TABLE never (x)'),
    };
    expect(() => openSqliteStore({ dataDir: dir, migrations: [...migrations, next] })).toThrow(
      expect.objectContaining({
        code: 'BATON_STORE',
        message: expect.stringContaining(`Cannot back up the store to ${join(dir, 'backups')}`),
      }),
    );
    const reopened = openSqliteStore({ dataDir: dir });
    expect(await reopened.getRun('r1')).toEqual(sampleRun);
    await reopened.close();
  });

  it('reports a data directory that cannot be created as bad input (BATON_CONFIG_INVALID) naming --data-dir', () => {
    const dir = tempDir();
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    expect(() => openSqliteStore({ dataDir: join(blocker, 'data') })).toThrow(
      expect.objectContaining({
        code: 'BATON_CONFIG_INVALID',
        message: expect.stringMatching(new RegExp(`^data_dir ${join(blocker, 'data')} .*--data-dir`)),
      }),
    );
  });

  it('detects a context entry changed outside Baton and does not serve it', async () => {
    const dir = tempDir();
    const store = openSqliteStore({ dataDir: dir });
    const base = {
      runId: 'r1',
      type: 'finding' as const,
      tags: [],
      tokens: 3,
      level: 0 as const,
      checksum: '',
      version: 0,
      createdAt: 1,
      updatedAt: 1,
    };
    const good = await store.saveContextEntry({ ...base, id: 'good', content: 'intact fact' });
    await store.saveContextEntry({ ...base, id: 'bad', content: 'the deploy window is Tuesday' });
    const db = new Database(join(dir, 'baton.db'));
    db.prepare("UPDATE context_entries SET content = 'the deploy window is Friday' WHERE id = 'bad'").run();
    db.close();
    await expect(store.getContextEntry('bad')).rejects.toMatchObject({
      code: 'BATON_CONTEXT_CORRUPT',
      message: expect.stringContaining('bad'),
    });
    expect(await store.listContextEntries({ runId: 'r1' })).toEqual({ entries: [good], corrupt: ['bad'] });
    expect(
      (await store.searchContext({ runId: 'r1', text: 'deploy window', limit: 5 })).map((h) => h.entry.id),
    ).toEqual([]);
    await store.close();
  });

  it('does not back up a brand-new store', async () => {
    const dir = tempDir();
    await openSqliteStore({ dataDir: dir }).close();
    expect(existsSync(join(dir, 'backups'))).toBe(false);
  });
});
