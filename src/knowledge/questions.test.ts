import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addKnowledge } from './context.js';
import type { KnowledgeEntity, KnowledgeGraph, KnowledgeRelation } from './graph.js';
import { answerQuestion } from './questions.js';
import { openSqliteKnowledgeGraph } from './sqlite-graph.js';

const file = (id: string): KnowledgeEntity => ({
  id,
  kind: 'file',
  name: id.split('/').pop()!,
  properties: { source: 'repository' },
});
const symbol = (fileId: string, name: string): KnowledgeEntity => ({
  id: `${fileId}#${name}`,
  kind: 'symbol',
  name,
  properties: { file: fileId, declaration: 'function', line: 3 },
});
const imports = (from: string, to: string): KnowledgeRelation => ({ from, to, kind: 'imports' });

let dir: string;
let graph: KnowledgeGraph;
const ids = (answer: { entities: KnowledgeEntity[] }): string[] => answer.entities.map((e) => e.id);
const ask = (question: string, options?: { runId?: string; limit?: number }) =>
  answerQuestion(graph, question, options);

/**
 * cli/main.ts → cli/run.ts → store/index.ts → store/sqlite.ts → core/errors.ts ← core/index.ts,
 * web/index.ts (another index.ts) → zod; run.ts#start calls sqlite.ts#open; two decisions, a finding
 * and the files run r1's builder changed.
 */
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'baton-kg-questions-'));
  graph = openSqliteKnowledgeGraph({ dataDir: dir });
  const files = [
    'src/cli/main.ts',
    'src/cli/run.ts',
    'src/store/index.ts',
    'src/store/sqlite.ts',
    'src/core/errors.ts',
    'src/core/index.ts',
    'src/web/index.ts',
    'src/lonely.ts',
  ].map(file);
  await graph.upsertEntities([
    ...files,
    symbol('src/cli/run.ts', 'start'),
    symbol('src/store/sqlite.ts', 'open'),
    { id: 'module:zod', kind: 'module', name: 'zod', properties: {} },
  ]);
  await graph.upsertRelations([
    imports('src/cli/main.ts', 'src/cli/run.ts'),
    imports('src/cli/run.ts', 'src/store/index.ts'),
    imports('src/store/index.ts', 'src/store/sqlite.ts'),
    imports('src/store/sqlite.ts', 'src/core/errors.ts'),
    imports('src/core/index.ts', 'src/core/errors.ts'),
    imports('src/web/index.ts', 'module:zod'),
    { from: 'src/cli/run.ts', to: 'src/cli/run.ts#start', kind: 'defines' },
    { from: 'src/store/sqlite.ts', to: 'src/store/sqlite.ts#open', kind: 'defines' },
    { from: 'src/cli/run.ts#start', to: 'src/store/sqlite.ts#open', kind: 'calls' },
  ]);
  await addKnowledge(
    graph,
    {
      kind: 'decision',
      text: 'The database is opened in WAL mode',
      about: ['open'],
      runId: 'r1',
      agentId: 'architect',
    },
    { clock: { now: () => 2 } },
  );
  await addKnowledge(
    graph,
    { kind: 'decision', text: 'Retry writes on SQLITE_BUSY with backoff', runId: 'r1', agentId: 'architect' },
    { clock: { now: () => 1 } },
  );
  await addKnowledge(
    graph,
    { kind: 'finding', text: 'The database file grows without vacuum', runId: 'r1', agentId: 'reviewer' },
    { clock: { now: () => 3 } },
  );
  await graph.upsertEntities([
    { id: 'session:s-build', kind: 'session', name: 'builder', properties: { runId: 'r1', agentId: 'builder' } },
  ]);
  await graph.upsertRelations([
    {
      from: 'session:s-build',
      to: 'src/store/sqlite.ts',
      kind: 'touches',
      properties: { runId: 'r1', via: 'file_changed' },
    },
    {
      from: 'session:s-build',
      to: 'src/cli/run.ts',
      kind: 'touches',
      properties: { runId: 'r1', via: 'file_changed' },
    },
  ]);
});
afterAll(async () => {
  await graph.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('answerQuestion', () => {
  it('reads the ways people ask for the impact of a change the same way: transitive importers', async () => {
    for (const question of [
      'What depends on src/store/sqlite.ts?',
      'impact of changing store/sqlite.ts',
      'what breaks if I change sqlite.js',
      'dependents of src/store/sqlite.ts',
      'Which files depend on `src/store/sqlite.ts`',
    ]) {
      const answer = await ask(question);
      expect(answer.interpretation, question).toMatch(/^impact: /);
      expect(ids(answer), question).toEqual([
        'src/store/sqlite.ts',
        'src/store/index.ts',
        'src/cli/run.ts',
        'src/cli/main.ts',
      ]);
    }
    const answer = await ask('what depends on src/store/sqlite.ts');
    expect(answer.text).toBe(
      '3 files depend on src/store/sqlite.ts (1 directly):\n- src/store/index.ts — imports it\n- src/cli/run.ts — through src/store/index.ts (2 steps)\n- src/cli/main.ts — through src/cli/run.ts (3 steps)',
    );
    expect(answer.relations).toHaveLength(3);
    // A package's impact is its importers; a symbol's is its callers.
    expect(ids(await ask('what depends on zod'))).toEqual(['module:zod', 'src/web/index.ts']);
    expect(ids(await ask('impact of open'))).toEqual(['src/store/sqlite.ts#open', 'src/cli/run.ts#start']);
    expect((await ask('what depends on src/lonely.ts')).text).toBe(
      'Nothing in the graph depends on src/lonely.ts (nothing imports it).',
    );
  });

  it('reads an absolute path inside the directory the graph was built from as its repo-relative file', async () => {
    await graph.setBuildRoot('/home/dev/repo');
    const answer = await ask('what depends on /home/dev/repo/src/store/sqlite.ts');
    expect(answer.text).toMatch(/^3 files depend on src\/store\/sqlite\.ts \(1 directly\):/);
  });

  it('caps long answers and says how many more there are', async () => {
    const answer = await ask('what depends on src/core/errors.ts', { limit: 2 });
    expect(ids(answer)).toEqual(['src/core/errors.ts', 'src/core/index.ts', 'src/store/sqlite.ts']);
    expect(answer.text).toMatch(/^5 files depend on src\/core\/errors\.ts \(2 directly\):/);
    expect(answer.text).toMatch(/…and 3 more\.$/);
  });

  it('answers one-step questions: who imports, what a file imports or defines, who calls', async () => {
    expect(ids(await ask('who imports src/store/sqlite.ts'))).toEqual(['src/store/sqlite.ts', 'src/store/index.ts']);
    expect(ids(await ask('what does src/cli/run.ts import'))).toEqual(['src/cli/run.ts', 'src/store/index.ts']);
    expect(ids(await ask('what does src/cli/run.ts depend on'))).toEqual([
      'src/cli/run.ts',
      'src/store/index.ts',
      'src/store/sqlite.ts',
      'src/core/errors.ts',
    ]);
    expect(ids(await ask('what does src/store/sqlite.ts define'))).toEqual([
      'src/store/sqlite.ts',
      'src/store/sqlite.ts#open',
    ]);
    expect(ids(await ask('who calls open'))).toEqual(['src/store/sqlite.ts#open', 'src/cli/run.ts#start']);
  });

  it('finds what agents decided: facts linked to a file or its symbols, and facts that mention the words', async () => {
    // Linked: the WAL decision is about `open`, which sqlite.ts defines; no text mentions "sqlite.ts".
    const aboutFile = await ask('What did agents decide about src/store/sqlite.ts?');
    expect(aboutFile.interpretation).toMatch(/^decisions and findings about "src\/store\/sqlite\.ts"/);
    expect(aboutFile.entities.filter((e) => e.kind === 'decision').map((e) => e.name)).toEqual([
      'The database is opened in WAL mode',
    ]);
    expect(aboutFile.relations).toEqual([expect.objectContaining({ kind: 'touches', to: 'src/store/sqlite.ts#open' })]);
    // By words: decisions first, newest first, then findings.
    const aboutDatabase = await ask('what did the agents decide about the database');
    expect(aboutDatabase.entities.map((e) => e.name)).toEqual([
      'The database is opened in WAL mode',
      'The database file grows without vacuum',
    ]);
    expect(aboutDatabase.text).toContain(
      '- [decision] The database is opened in WAL mode About: open (agent architect, run r1)',
    );
    expect((await ask('what have agents found about the database')).entities[0]!.kind).toBe('finding');
    expect((await ask('decisions about sqlite busy')).entities.map((e) => e.name)).toEqual([
      'Retry writes on SQLITE_BUSY with backoff',
    ]);
    expect((await ask('what did agents decide about kubernetes')).text).toBe(
      'Agents recorded no decisions or findings about "kubernetes".',
    );
  });

  it('lists the files changed in a run, named or "this run"', async () => {
    const named = await ask('which files changed in run r1');
    expect(ids(named)).toEqual(['src/cli/run.ts', 'src/store/sqlite.ts']);
    expect(named.text).toBe(
      '2 files changed in run r1:\n- src/cli/run.ts — by builder\n- src/store/sqlite.ts — by builder',
    );
    expect(ids(await ask('Which files were changed in this run?', { runId: 'r1' }))).toEqual([
      'src/cli/run.ts',
      'src/store/sqlite.ts',
    ]);
    expect(ids(await ask('what files did the agents change', { runId: 'r1' }))).toEqual([
      'src/cli/run.ts',
      'src/store/sqlite.ts',
    ]);
    expect((await ask('which files changed in run r2')).text).toBe('No agent reported changing a file in run r2.');
    await expect(ask('which files changed in this run')).rejects.toMatchObject({
      code: 'BATON_KNOWLEDGE_INVALID',
      message: expect.stringMatching(/^run: name the run/),
    });
  });

  it('finds a path forwards, or in either direction when asked how two things are related', async () => {
    const forward = await ask('path from src/cli/main.ts to src/core/errors.ts');
    expect(ids(forward)).toEqual([
      'src/cli/main.ts',
      'src/cli/run.ts',
      'src/store/index.ts',
      'src/store/sqlite.ts',
      'src/core/errors.ts',
    ]);
    expect(forward.text).toMatch(/^src\/cli\/main\.ts reaches src\/core\/errors\.ts in 4 steps:/);
    const related = await ask('how is src/core/index.ts related to src/store/sqlite.ts');
    expect(ids(related)).toEqual(['src/core/index.ts', 'src/core/errors.ts', 'src/store/sqlite.ts']);
    expect(related.text).toMatch(/are connected in 2 steps/);
    expect((await ask('path from src/core/errors.ts to src/lonely.ts')).text).toBe(
      'No path of up to 6 relations connects src/core/errors.ts and src/lonely.ts.',
    );
  });

  it('says when a name is ambiguous or unknown, instead of guessing', async () => {
    const ambiguous = await ask('what depends on index.ts');
    expect(ambiguous.text).toMatch(/^"index\.ts" could mean 3 things/);
    expect(ids(ambiguous)).toEqual(['src/core/index.ts', 'src/store/index.ts', 'src/web/index.ts']);
    const unknown = await ask('what depends on src/nothing.ts');
    expect(unknown.entities).toEqual([]);
    expect(unknown.text).toMatch(/^The knowledge graph has no file, symbol or package called "src\/nothing\.ts"\./);
  });

  it('looks a bare name up, and searches when nothing else fits', async () => {
    const lookup = await ask('src/store/sqlite.ts');
    expect(lookup.interpretation).toBe('lookup: src/store/sqlite.ts and what it is related to');
    expect(ids(lookup)).toEqual([
      'src/store/sqlite.ts',
      'session:s-build',
      'src/core/errors.ts',
      'src/store/index.ts',
      'src/store/sqlite.ts#open',
    ]);
    const search = await ask('anything about vacuum?');
    expect(search.interpretation).toBe('search: entities matching any of "anything vacuum"');
    expect(search.entities.map((e) => e.name)).toEqual(['The database file grows without vacuum']);
    await expect(ask('  ?? ')).rejects.toMatchObject({
      code: 'BATON_KNOWLEDGE_INVALID',
      message: expect.stringMatching(/^question: is empty/),
    });
  });
});
