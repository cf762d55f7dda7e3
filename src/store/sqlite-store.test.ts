import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from './migrations.js';
import { openSqliteStore } from './sqlite-store.js';
import { emptyUsage } from './store.js';
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

const sampleRun = { id: 'r1', workflowName: 'wf', workflow: {}, status: 'running' as const, createdAt: 1 };

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
    expect(() => openSqliteStore({ dataDir: dir })).toThrow(expect.objectContaining({ code: 'BATON_STORE', message: expect.stringMatching(/version 99.*Upgrade Baton/) }));
  });

  it('reports a file that is not a database with its path, as BATON_STORE', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'baton.db'), 'this is not sqlite '.repeat(100));
    expect(() => openSqliteStore({ dataDir: dir })).toThrow(expect.objectContaining({ code: 'BATON_STORE', message: expect.stringContaining(join(dir, 'baton.db')) }));
  });

  it('upgrades a version-1 store, keeping its data and backing it up first', async () => {
    const dir = tempDir();
    const v1 = openSqliteStore({ dataDir: dir, migrations: migrations.filter((m) => m.version === 1) });
    await v1.saveRun(sampleRun);
    await v1.saveAgent({ runId: 'r1', phaseId: 'p', id: 'a', sessionId: 's', status: 'succeeded', prompt: 'p', systemPrompt: 's', usage: emptyUsage(), costUsd: 1, turns: 1, attempts: 1, durationMs: 1 });
    await v1.close();

    const v2 = [...migrations, { version: 2, description: 'test: agent labels', up: (db: Database.Database) => db.exec('ALTER TABLE agents ADD COLUMN label TEXT') }];
    const upgraded = openSqliteStore({ dataDir: dir, migrations: v2 });
    expect(await upgraded.getRun('r1')).toEqual(sampleRun);
    expect((await upgraded.listAgents('r1')).map((a) => a.id)).toEqual(['a']);
    await upgraded.close();

    const db = new Database(join(dir, 'baton.db'));
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    expect(db.prepare("SELECT name FROM pragma_table_info('agents') WHERE name = 'label'").get()).toBeTruthy();
    db.close();
    const backups = readdirSync(join(dir, 'backups'));
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(/^baton\.db\.v1\.\d+\.bak$/);
    const backup = new Database(join(dir, 'backups', backups[0]!), { readonly: true });
    expect(backup.pragma('user_version', { simple: true })).toBe(1);
    expect(backup.prepare('SELECT id FROM runs').all()).toEqual([{ id: 'r1' }]);
    backup.close();
  });

  it('does not back up a brand-new store', async () => {
    const dir = tempDir();
    await openSqliteStore({ dataDir: dir }).close();
    expect(existsSync(join(dir, 'backups'))).toBe(false);
  });
});
