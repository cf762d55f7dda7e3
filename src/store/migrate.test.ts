import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireProgram } from '../../test/support/programs.js';
import { startRedisServer, type RedisServer } from '../../test/support/redis.js';
import { fillSampleStore, readEverything } from '../../test/support/sample-store.js';
import { migrateStore } from './migrate.js';
import { openRedisStore } from './redis-store.js';
import { openSqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

const opened: Store[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

let prefixes = 0;
async function redisStore(): Promise<Store> {
  const store = await openRedisStore({ url: server.url, keyPrefix: `migrate${++prefixes}:` });
  opened.push(store);
  return store;
}
function sqliteStore(): { store: Store; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'baton-migrate-'));
  dirs.push(dir);
  const store = openSqliteStore({ dataDir: dir });
  opened.push(store);
  return { store, dir };
}

const everything = {
  runs: 2,
  phases: 4,
  agents: 4,
  attempts: 6,
  toolCalls: 4,
  sessions: 5,
  contextEntries: 5,
  auditEvents: 4,
};
const nothing = {
  runs: 0,
  phases: 0,
  agents: 0,
  attempts: 0,
  toolCalls: 0,
  sessions: 0,
  contextEntries: 0,
  auditEvents: 0,
};

describe.runIf(requireProgram('redis-server'))('migrateStore', () => {
  for (const [from, to] of [
    ['sqlite', 'redis'],
    ['redis', 'sqlite'],
  ] as const) {
    it(`moves everything from ${from} to ${to} without loss, and copies nothing twice when run again`, async () => {
      const source = from === 'sqlite' ? sqliteStore().store : await redisStore();
      const target = to === 'sqlite' ? sqliteStore().store : await redisStore();
      await fillSampleStore(source);

      const report = await migrateStore(source, target);
      expect(report).toMatchObject({
        from,
        to,
        source: everything,
        copied: everything,
        alreadyPresent: nothing,
        corrupt: [],
      });
      expect(report.verified.counts).toEqual(everything);
      expect(report.verified.contextChecksums).toBe(5);
      expect(await readEverything(target)).toEqual(await readEverything(source));
      // The keyed entry kept its version, so writers that read it before the move still update it.
      expect(await target.getContextEntryByKey('run-a', 'decision/database')).toMatchObject({
        id: 'ctx-2',
        version: 3,
        content: 'Use Postgres 16 with pgbouncer',
      });
      await expect(
        target.saveContextEntry(
          { ...(await target.getContextEntry('ctx-2'))!, content: 'stale' },
          { expectedVersion: 2 },
        ),
      ).rejects.toMatchObject({ code: 'BATON_CONTEXT_CONFLICT' });
      // The values its updates replaced come along, each with its own content and source: an agent
      // inheriting only an earlier writer's phase is given the same value as before the move.
      const replaced = (await source.listReplacedContext('run-a')).entries;
      expect(replaced.map((e) => e.content)).toEqual(['Use SQLite', 'Use Postgres']);
      expect((await target.listReplacedContext('run-a')).entries).toEqual(replaced);

      const again = await migrateStore(source, target);
      expect(again).toMatchObject({ copied: nothing, alreadyPresent: everything });
      expect(again.verified.digest).toBe(report.verified.digest);
      expect((await target.listAuditEvents()).length).toBe(4);
    });
  }

  it('refuses a target holding a different run under the same id, and writes nothing', async () => {
    const source = await redisStore();
    const { store: target } = sqliteStore();
    await fillSampleStore(source);
    const runB = (await source.getRun('run-b'))!;
    await target.saveRun({ ...runB, status: 'failed' });
    await expect(migrateStore(source, target)).rejects.toMatchObject({
      code: 'BATON_MIGRATE_CONFLICT',
      message: expect.stringMatching(
        /run run-b \(run, cancelRequested, phases, agents, attempts, approvals, toolCalls, mcpHealth, batonCalls differ\).*Nothing was written/,
      ),
    });
    expect((await target.listRuns()).map((r) => r.id)).toEqual(['run-b']);
    expect(await target.listSessions()).toEqual([]);
    expect((await target.listContextEntries({})).entries).toEqual([]);
  });

  it('reports corrupt context entries of the source instead of copying them', async () => {
    const { store: source, dir } = sqliteStore();
    const target = await redisStore();
    await fillSampleStore(source);
    const db = new Database(join(dir, 'baton.db'));
    db.prepare("UPDATE context_entries SET content = 'rewritten behind Baton''s back' WHERE id = 'ctx-4'").run();
    db.close();
    const report = await migrateStore(source, target);
    expect(report.corrupt).toEqual(['ctx-4']);
    expect(report.copied.contextEntries).toBe(4);
    expect(await target.getContextEntry('ctx-4')).toBeUndefined();
  });

  it('fails verification when the target cannot hold a field the source has', async () => {
    const source = await redisStore();
    const { store: target } = sqliteStore();
    // A field a newer Baton added to runs: Redis keeps it (records are JSON), this SQLite schema has no column for it.
    await source.saveRun({
      id: 'r1',
      workflowName: 'wf',
      tenant: 'default',
      workflow: {},
      status: 'running',
      createdAt: 1,
      shard: 'eu-1',
    } as never);
    await expect(migrateStore(source, target)).rejects.toMatchObject({
      code: 'BATON_MIGRATE_MISMATCH',
      message: expect.stringContaining('run r1: run differ'),
    });
  });
});
