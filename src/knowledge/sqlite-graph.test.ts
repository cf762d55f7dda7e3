import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { describeKnowledgeGraphContract } from './graph.contract.js';
import { openSqliteKnowledgeGraph } from './sqlite-graph.js';

const tempDirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-kg-'));
  tempDirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeKnowledgeGraphContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-kg-'));
  const graph = openSqliteKnowledgeGraph({ dataDir: dir });
  return {
    graph,
    cleanup: async () => {
      await graph.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteKnowledgeGraph', () => {
  const entity = { id: 'src/a.ts', kind: 'file' as const, name: 'a.ts', properties: { lines: 3 } };

  it('lives in data_dir/knowledge.db in WAL mode and keeps its data across reopening', async () => {
    const dir = join(tempDir(), 'nested');
    const graph = openSqliteKnowledgeGraph({ dataDir: dir });
    await graph.upsertEntities([entity]);
    await graph.close();
    const db = new Database(join(dir, 'knowledge.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    const reopened = openSqliteKnowledgeGraph({ dataDir: dir });
    expect(await reopened.findEntities({ ids: ['src/a.ts'] })).toEqual([entity]);
    expect(await reopened.search('a')).toEqual([entity]);
    await reopened.close();
  });

  it('refuses a knowledge.db written by a newer Baton', () => {
    const dir = tempDir();
    const db = new Database(join(dir, 'knowledge.db'));
    db.pragma('user_version = 7');
    db.close();
    expect(() => openSqliteKnowledgeGraph({ dataDir: dir })).toThrow(
      expect.objectContaining({
        code: 'BATON_KNOWLEDGE_GRAPH',
        message: expect.stringMatching(/version 7.*Upgrade Baton/),
      }),
    );
  });

  it('reports a file that is not a database, and a data dir it cannot create (bad input, as for the store), with their paths', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'knowledge.db'), 'not sqlite '.repeat(200));
    expect(() => openSqliteKnowledgeGraph({ dataDir: dir })).toThrow(
      expect.objectContaining({
        code: 'BATON_KNOWLEDGE_GRAPH',
        message: expect.stringContaining(join(dir, 'knowledge.db')),
      }),
    );
    writeFileSync(join(dir, 'blocker'), '');
    expect(() => openSqliteKnowledgeGraph({ dataDir: join(dir, 'blocker', 'data') })).toThrow(
      expect.objectContaining({
        code: 'BATON_CONFIG_INVALID',
        message: expect.stringContaining(join(dir, 'blocker', 'data')),
      }),
    );
  });

  it('creates its data directory 0700 and knowledge.db 0600, as the store', async () => {
    const dataDir = join(tempDir(), 'data');
    const graph = openSqliteKnowledgeGraph({ dataDir });
    await graph.close();
    expect([statSync(dataDir).mode & 0o777, statSync(join(dataDir, 'knowledge.db')).mode & 0o777]).toEqual([
      0o700, 0o600,
    ]);
  });

  it('keeps the search index in step when an entity is renamed or removed', async () => {
    const graph = openSqliteKnowledgeGraph({ dataDir: tempDir() });
    await graph.upsertEntities([
      { id: 'decision:1', kind: 'decision', name: 'cache', properties: { text: 'use redis for the session cache' } },
    ]);
    await graph.upsertEntities([
      {
        id: 'decision:1',
        kind: 'decision',
        name: 'cache',
        properties: { text: 'use memcached for the session cache' },
      },
    ]);
    expect(await graph.search('redis')).toEqual([]);
    expect((await graph.search('memcached')).map((e) => e.id)).toEqual(['decision:1']);
    await graph.removeEntities(['decision:1']);
    expect(await graph.search('memcached')).toEqual([]);
    await graph.close();
  });

  it('stops a path search at maxDepth even in a graph dense with cycles', async () => {
    const graph = openSqliteKnowledgeGraph({ dataDir: tempDir() });
    // 30 files that all import each other: millions of simple paths, one hop between any two.
    const files = Array.from({ length: 30 }, (_, i) => ({
      id: `f${i}.ts`,
      kind: 'file' as const,
      name: `f${i}.ts`,
      properties: {},
    }));
    await graph.upsertEntities([...files, { id: 'island.ts', kind: 'file', name: 'island.ts', properties: {} }]);
    await graph.upsertRelations(
      files.flatMap((a) =>
        files.filter((b) => b !== a).map((b) => ({ from: a.id, to: b.id, kind: 'imports' as const })),
      ),
    );
    const started = performance.now();
    expect(await graph.path('f0.ts', 'island.ts', { direction: 'both', maxDepth: 3 })).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(5_000);
    expect((await graph.path('f0.ts', 'f29.ts'))!.relations).toHaveLength(1);
    await graph.close();
  });
});
