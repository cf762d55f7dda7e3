import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addKnowledge } from './context.js';
import { openSqliteKnowledgeGraph } from './sqlite-graph.js';
import { tenantGraph } from './tenant-graph.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-tenant-graph-'));
const graph = openSqliteKnowledgeGraph({ dataDir: dir });
afterAll(async () => {
  await graph.close();
  rmSync(dir, { recursive: true, force: true });
});

const tenants: Record<string, string> = { r1: 'acme', r2: 'globex' };
const decision = (id: string, runId: string, text: string) => ({
  id: `decision:${id}`,
  kind: 'decision' as const,
  name: text,
  properties: { runId, text },
});

describe('a tenant view of the knowledge graph', () => {
  it("shows shared code and the tenant's own facts, never another tenant's", async () => {
    await graph.upsertEntities([
      { id: 'cache.ts', kind: 'file', name: 'cache.ts', properties: {} },
      decision('a', 'r1', 'cache entries expire after an hour'),
      decision('b', 'r2', 'cache entries never expire'),
    ]);
    await graph.upsertRelations([
      { from: 'decision:a', to: 'cache.ts', kind: 'touches', properties: { runId: 'r1' } },
      { from: 'decision:b', to: 'cache.ts', kind: 'touches', properties: { runId: 'r2' } },
    ]);
    const acme = tenantGraph(graph, 'acme', (id) => Promise.resolve(tenants[id]));
    const ids = (list: Array<{ id: string }>) => list.map((e) => e.id);

    expect(ids(await acme.search('cache expire'))).not.toContain('decision:b');
    expect(ids(await acme.search('cache expire'))).toContain('decision:a');
    expect(ids(await acme.findEntities({ kinds: ['decision', 'file'] }))).toEqual(['cache.ts', 'decision:a']);
    const around = await acme.neighbours('cache.ts', { direction: 'in' });
    expect(ids(around.entities)).toEqual(['decision:a']);
    expect(around.relations.map((r) => r.from)).toEqual(['decision:a']);
    expect(await acme.neighbours('decision:b')).toEqual({ entities: [], relations: [] });
    expect(await acme.path('decision:b', 'cache.ts', { direction: 'both' })).toBeUndefined();
    expect(await acme.findRelations({ to: ['cache.ts'] })).toHaveLength(1);
    // Its counts are of what it sees: another tenant's decision is not counted either.
    const stats = await acme.stats();
    expect([stats.entities.file, stats.entities.decision, stats.relations.touches]).toEqual([1, 1, 1]);
    expect((await graph.stats()).entities.decision).toBe(2);
  });

  it("hides a file only another tenant's fact named, and shows it to the tenants whose facts name it", async () => {
    await addKnowledge(graph, {
      kind: 'decision',
      text: 'Keep this private to acme',
      about: ['plans/acme-merger-2027.md'],
      runId: 'r1',
    });
    const acme = tenantGraph(graph, 'acme', (id) => Promise.resolve(tenants[id]));
    const globex = tenantGraph(graph, 'globex', (id) => Promise.resolve(tenants[id]));
    const ids = (list: Array<{ id: string }>) => list.map((e) => e.id);

    expect(ids(await globex.search('acme merger'))).toEqual([]);
    expect(ids(await globex.findEntities({ kinds: ['file'] }))).toEqual(['cache.ts']);
    expect((await globex.stats()).entities.file).toBe(1);
    expect(ids(await acme.search('merger', { kinds: ['file'] }))).toEqual(['plans/acme-merger-2027.md']);
    expect((await acme.stats()).entities.file).toBe(2);

    await addKnowledge(graph, {
      kind: 'finding',
      text: 'globex read it too',
      about: ['plans/acme-merger-2027.md'],
      runId: 'r2',
    });
    expect(ids(await globex.search('merger', { kinds: ['file'] }))).toEqual(['plans/acme-merger-2027.md']);
  });
});
