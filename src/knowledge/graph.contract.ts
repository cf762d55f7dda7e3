import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KnowledgeEntity, KnowledgeGraph, KnowledgeRelation } from './graph.js';

export interface GraphHarness {
  graph: KnowledgeGraph;
  cleanup(): Promise<void>;
}

const file = (id: string, extra: Record<string, unknown> = {}): KnowledgeEntity => ({
  id,
  kind: 'file',
  name: id.split('/').pop()!,
  properties: { source: 'repository', ...extra },
});
const imports = (from: string, to: string): KnowledgeRelation => ({
  from,
  to,
  kind: 'imports',
  properties: { specifier: `./${to}` },
});

/**
 * A small project: app → api → db → errors, cli → errors, db ⇄ cache (a cycle), unrelated → util;
 * api#handler calls errors#Failure; a decision of session s1 (run r1) touches errors.ts.
 */
const project = {
  entities: [
    ...['app.ts', 'api.ts', 'db.ts', 'errors.ts', 'cli.ts', 'cache.ts', 'unrelated.ts', 'util.ts'].map((id) =>
      file(id),
    ),
    {
      id: 'errors.ts#Failure',
      kind: 'symbol',
      name: 'Failure',
      properties: { file: 'errors.ts', declaration: 'class' },
    },
    { id: 'api.ts#handler', kind: 'symbol', name: 'handler', properties: { file: 'api.ts', declaration: 'function' } },
    { id: 'session:s1', kind: 'session', name: 'reviewer', properties: { runId: 'r1', agentId: 'reviewer' } },
    {
      id: 'decision:d1',
      kind: 'decision',
      name: 'Errors carry stable codes',
      properties: {
        text: 'Errors carry stable codes; the database layer wraps driver failures',
        runId: 'r1',
        tags: ['errors'],
      },
    },
  ] satisfies KnowledgeEntity[],
  relations: [
    imports('app.ts', 'api.ts'),
    imports('api.ts', 'db.ts'),
    imports('db.ts', 'errors.ts'),
    imports('cli.ts', 'errors.ts'),
    imports('db.ts', 'cache.ts'),
    imports('cache.ts', 'db.ts'),
    imports('unrelated.ts', 'util.ts'),
    { from: 'errors.ts', to: 'errors.ts#Failure', kind: 'defines' },
    { from: 'api.ts', to: 'api.ts#handler', kind: 'defines' },
    { from: 'api.ts#handler', to: 'errors.ts#Failure', kind: 'calls' },
    { from: 'decision:d1', to: 'session:s1', kind: 'decided_by', properties: { runId: 'r1' } },
    { from: 'decision:d1', to: 'errors.ts', kind: 'touches', properties: { runId: 'r1', via: 'mention' } },
  ] satisfies KnowledgeRelation[],
};

const ids = (entities: Array<{ id: string }>): string[] => entities.map((e) => e.id);

/** The behaviour every KnowledgeGraph backend has: SQLite always, Neo4j when a server is reachable. */
export function describeKnowledgeGraphContract(
  name: string,
  makeGraph: () => Promise<GraphHarness>,
  options: { skip?: boolean } = {},
): void {
  describe.skipIf(options.skip ?? false)(`KnowledgeGraph contract: ${name}`, () => {
    let harness: GraphHarness;
    let graph: KnowledgeGraph;
    beforeEach(async () => {
      harness = await makeGraph();
      graph = harness.graph;
      await graph.upsertEntities(project.entities);
      expect(await graph.upsertRelations(project.relations)).toBe(project.relations.length);
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    it('round-trips entities with their properties, ordered by id, and filters them', async () => {
      expect(await graph.findEntities({ ids: ['decision:d1', 'errors.ts', 'missing'] })).toEqual([
        project.entities.find((e) => e.id === 'decision:d1'),
        file('errors.ts'),
      ]);
      expect(ids(await graph.findEntities({ kinds: ['symbol'] }))).toEqual(['api.ts#handler', 'errors.ts#Failure']);
      expect(ids(await graph.findEntities({ names: ['Failure', 'db.ts'] }))).toEqual(['db.ts', 'errors.ts#Failure']);
      expect(ids(await graph.findEntities({ runId: 'r1' }))).toEqual(['decision:d1', 'session:s1']);
      expect(ids(await graph.findEntities({ kinds: ['file'], limit: 2 }))).toEqual(['api.ts', 'app.ts']);
    });

    it('upsert replaces an entity, ensure leaves an existing one alone, and neither touches its relations', async () => {
      await graph.upsertEntities([file('db.ts', { lines: 10 })]);
      await graph.ensureEntities([file('db.ts', { lines: 99 }), file('new.ts')]);
      expect(await graph.findEntities({ ids: ['db.ts', 'new.ts'] })).toEqual([
        file('db.ts', { lines: 10 }),
        file('new.ts'),
      ]);
      expect(await graph.findRelations({ from: ['db.ts'] })).toHaveLength(2);
    });

    it('stores a relation only when both ends exist, and replaces its properties on upsert', async () => {
      expect(
        await graph.upsertRelations([
          imports('app.ts', 'ghost.ts'),
          { from: 'app.ts', to: 'db.ts', kind: 'imports', properties: { typeOnly: true } },
        ]),
      ).toBe(1);
      expect(await graph.findRelations({ from: ['app.ts'] })).toEqual([
        imports('app.ts', 'api.ts'),
        { from: 'app.ts', to: 'db.ts', kind: 'imports', properties: { typeOnly: true } },
      ]);
      await graph.upsertRelations([{ from: 'app.ts', to: 'db.ts', kind: 'imports', properties: { typeOnly: false } }]);
      expect(await graph.findRelations({ from: ['app.ts'], to: ['db.ts'] })).toEqual([
        { from: 'app.ts', to: 'db.ts', kind: 'imports', properties: { typeOnly: false } },
      ]);
    });

    it('finds relations by end, kind and run', async () => {
      expect(await graph.findRelations({ to: ['errors.ts'] })).toEqual([
        imports('cli.ts', 'errors.ts'),
        imports('db.ts', 'errors.ts'),
        project.relations[11],
      ]);
      expect(await graph.findRelations({ kinds: ['calls', 'defines'], from: ['api.ts', 'api.ts#handler'] })).toEqual([
        { from: 'api.ts', to: 'api.ts#handler', kind: 'defines' },
        { from: 'api.ts#handler', to: 'errors.ts#Failure', kind: 'calls' },
      ]);
      expect(await graph.findRelations({ runId: 'r1', kinds: ['touches'] })).toEqual([
        { from: 'decision:d1', to: 'errors.ts', kind: 'touches', properties: { runId: 'r1', via: 'mention' } },
      ]);
    });

    it('removing an entity removes its relations; removing relations keeps the entities', async () => {
      await graph.removeEntities(['db.ts']);
      expect(await graph.findEntities({ ids: ['db.ts'] })).toEqual([]);
      expect(await graph.findRelations({ to: ['db.ts'] })).toEqual([]);
      expect(await graph.findRelations({ from: ['db.ts'] })).toEqual([]);
      await graph.removeRelations({ from: ['api.ts', 'cli.ts'], kinds: ['defines'] });
      expect(await graph.findRelations({ from: ['api.ts', 'cli.ts'] })).toEqual([imports('cli.ts', 'errors.ts')]);
      expect(ids(await graph.findEntities({ ids: ['api.ts', 'api.ts#handler'] }))).toEqual([
        'api.ts',
        'api.ts#handler',
      ]);
    });

    it('lists neighbours in either direction, of chosen kinds', async () => {
      const incoming = await graph.neighbours('errors.ts', { direction: 'in' });
      expect(ids(incoming.entities)).toEqual(['cli.ts', 'db.ts', 'decision:d1']);
      expect(incoming.relations).toHaveLength(3);
      expect(ids((await graph.neighbours('errors.ts', { direction: 'in', kinds: ['imports'] })).entities)).toEqual([
        'cli.ts',
        'db.ts',
      ]);
      expect(ids((await graph.neighbours('errors.ts', { direction: 'out' })).entities)).toEqual(['errors.ts#Failure']);
      const both = await graph.neighbours('db.ts');
      expect(ids(both.entities)).toEqual(['api.ts', 'cache.ts', 'errors.ts']);
      expect(both.relations).toEqual(
        expect.arrayContaining([imports('db.ts', 'cache.ts'), imports('cache.ts', 'db.ts')]),
      );
      expect(both.relations).toHaveLength(4);
    });

    it('reach: the impact of a change is every transitive importer, nearest first, through cycles', async () => {
      const impact = await graph.reach('errors.ts', { direction: 'in', kinds: ['imports'] });
      expect(impact.reached.map((r) => [r.entity.id, r.depth, r.via])).toEqual([
        ['cli.ts', 1, 'errors.ts'],
        ['db.ts', 1, 'errors.ts'],
        ['api.ts', 2, 'db.ts'],
        ['cache.ts', 2, 'db.ts'],
        ['app.ts', 3, 'api.ts'],
      ]);
      expect(impact.relations).toEqual(
        expect.arrayContaining([
          imports('db.ts', 'errors.ts'),
          imports('app.ts', 'api.ts'),
          imports('cache.ts', 'db.ts'),
        ]),
      );
      expect(impact.relations.every((r) => r.kind === 'imports')).toBe(true);
      expect(impact.total).toBe(5);
      // The nearest few, with the count of all: what a short answer about a much-used file needs.
      const nearest = await graph.reach('errors.ts', { direction: 'in', kinds: ['imports'], limit: 3 });
      expect(nearest.reached.map((r) => r.entity.id)).toEqual(['cli.ts', 'db.ts', 'api.ts']);
      expect(nearest.total).toBe(5);
      expect(nearest.relations).toEqual(
        expect.arrayContaining([
          imports('cli.ts', 'errors.ts'),
          imports('db.ts', 'errors.ts'),
          imports('api.ts', 'db.ts'),
        ]),
      );
      expect(nearest.relations).toHaveLength(3);
      // Forwards, other kinds, and entities that reach nothing.
      expect(
        ids((await graph.reach('app.ts', { direction: 'out', kinds: ['imports'] })).reached.map((r) => r.entity)),
      ).toEqual(['api.ts', 'db.ts', 'cache.ts', 'errors.ts']);
      expect(
        ids(
          (await graph.reach('errors.ts#Failure', { direction: 'in', kinds: ['calls'] })).reached.map((r) => r.entity),
        ),
      ).toEqual(['api.ts#handler']);
      expect((await graph.reach('util.ts', { direction: 'out', kinds: ['imports'] })).reached).toEqual([]);
      expect(await graph.reach('missing.ts', { direction: 'in', kinds: ['imports'] })).toEqual({
        reached: [],
        total: 0,
        relations: [],
      });
    });

    it('path: the shortest way forwards, or ignoring direction, within a depth', async () => {
      const forward = await graph.path('app.ts', 'errors.ts');
      expect(ids(forward!.entities)).toEqual(['app.ts', 'api.ts', 'db.ts', 'errors.ts']);
      expect(forward!.relations).toEqual([
        imports('app.ts', 'api.ts'),
        imports('api.ts', 'db.ts'),
        imports('db.ts', 'errors.ts'),
      ]);
      expect(await graph.path('errors.ts', 'app.ts', { direction: 'out' })).toBeUndefined();
      const either = await graph.path('cli.ts', 'db.ts', { direction: 'both', kinds: ['imports'] });
      expect(ids(either!.entities)).toEqual(['cli.ts', 'errors.ts', 'db.ts']);
      expect(either!.relations).toEqual([imports('cli.ts', 'errors.ts'), imports('db.ts', 'errors.ts')]);
      expect(await graph.path('app.ts', 'errors.ts', { maxDepth: 2 })).toBeUndefined();
      expect(await graph.path('app.ts', 'util.ts', { direction: 'both' })).toBeUndefined();
      expect(await graph.path('app.ts', 'missing.ts')).toBeUndefined();
      expect(await graph.path('app.ts', 'app.ts')).toEqual({ entities: [file('app.ts')], relations: [] });
      // Only the allowed kinds: through the decision, errors.ts and the session are one hop apart each.
      expect(
        ids(
          (await graph.path('session:s1', 'errors.ts', { direction: 'both', kinds: ['decided_by', 'touches'] }))!
            .entities,
        ),
      ).toEqual(['session:s1', 'decision:d1', 'errors.ts']);
    });

    it('searches names, ids and text by whole words and word beginnings, optionally of some kinds', async () => {
      expect(ids(await graph.search('database wraps'))).toEqual(['decision:d1']);
      expect(ids(await graph.search('DATAB'))).toEqual(['decision:d1']);
      expect(ids(await graph.search('failure', { kinds: ['symbol'] }))).toEqual(['errors.ts#Failure']);
      expect(ids(await graph.search('database cache', { anyWord: true }))).toEqual(
        expect.arrayContaining(['decision:d1', 'cache.ts']),
      );
      expect(await graph.search('database cache')).toEqual([]);
      expect(await graph.search('   ')).toEqual([]);
      expect(await graph.search('nothing-like-this')).toEqual([]);
    });

    it('remembers the directory it was built from', async () => {
      expect(await graph.buildRoot()).toBeUndefined();
      await graph.setBuildRoot('/work/one');
      await graph.setBuildRoot('/work/two');
      expect(await graph.buildRoot()).toBe('/work/two');
      expect((await graph.stats()).entities.file).toBe(8);
      expect(ids(await graph.findEntities({}))).not.toContain('/work/two');
    });

    it('counts entities and relations by kind', async () => {
      const stats = await graph.stats();
      expect(stats.entities).toEqual({ file: 8, symbol: 2, module: 0, decision: 1, finding: 0, session: 1 });
      expect(stats.relations).toEqual({ imports: 7, defines: 2, calls: 1, decided_by: 1, touches: 1 });
    });
  });
}
