import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import type { ContextEntry } from '../store/index.js';
import { addKnowledge, ingestContext } from './context.js';
import type { KnowledgeEntity, KnowledgeGraph } from './graph.js';
import { openSqliteKnowledgeGraph } from './sqlite-graph.js';

const temp = useTempStore('baton-kg-context-');
let graphDir: string;
let graph: KnowledgeGraph;

const code: KnowledgeEntity[] = [
  { id: 'src/billing/ledger.ts', kind: 'file', name: 'ledger.ts', properties: { source: 'repository' } },
  { id: 'src/billing/invoice.ts', kind: 'file', name: 'invoice.ts', properties: { source: 'repository' } },
  {
    id: 'src/billing/ledger.ts#postEntry',
    kind: 'symbol',
    name: 'postEntry',
    properties: { source: 'repository', file: 'src/billing/ledger.ts' },
  },
];

beforeEach(async () => {
  graphDir = mkdtempSync(join(tmpdir(), 'baton-kg-graph-'));
  graph = openSqliteKnowledgeGraph({ dataDir: graphDir });
  await graph.upsertEntities(code);
});
afterEach(async () => {
  await graph.close();
  rmSync(graphDir, { recursive: true, force: true });
});

let counter = 0;
function entry(type: ContextEntry['type'], content: string, extra: Partial<ContextEntry> = {}): ContextEntry {
  counter++;
  return {
    id: `e${counter}`,
    runId: 'r1',
    sessionId: 's-plan',
    agentId: 'planner',
    phaseId: 'plan',
    type,
    content,
    tags: [],
    tokens: 5,
    level: 0,
    checksum: '',
    version: 0,
    createdAt: counter,
    updatedAt: counter,
    ...extra,
  };
}

const touched = async (from: string) =>
  (await graph.findRelations({ from: [from], kinds: ['touches'] })).map((r) => r.to);

describe('ingestContext', () => {
  it('adds decisions and findings with who made them and what they mention, and the files each session changed', async () => {
    const decision = await temp.store.saveContextEntry(
      entry('decision', 'Invoices are posted with `postEntry`; see src/billing/ledger.ts.'),
    );
    const finding = await temp.store.saveContextEntry(
      entry('finding', 'The PDF step in invoice.ts is slow', { sessionId: 's-review', agentId: 'reviewer' }),
    );
    const error = await temp.store.saveContextEntry(
      entry('error', 'Timed out rendering invoice 42', { sessionId: 's-review', agentId: 'reviewer' }),
    );
    const changed = await temp.store.saveContextEntry(
      entry('file_changed', 'src/billing/invoice.ts — batch export; also jobs/export.ts', {
        sessionId: 's-build',
        agentId: 'builder',
      }),
    );
    await temp.store.saveContextEntry(entry('summary', 'Phase plan: invoices use the ledger', { level: 1 }));
    await temp.store.saveContextEntry(entry('artifact', 'report.pdf'));
    await temp.store.saveContextEntry(entry('decision', 'Another run decided this about ledger.ts', { runId: 'r2' }));

    const counts = await ingestContext(graph, temp.store, 'r1');
    // 3 sessions, 3 facts (the error counts as a finding), 1 file the repository did not have.
    expect(counts).toEqual({ entities: 7, relations: 3 + 2 + 1 + 2 });

    expect(await graph.findEntities({ ids: [`decision:${decision.id}`] })).toEqual([
      {
        id: `decision:${decision.id}`,
        kind: 'decision',
        name: 'Invoices are posted with `postEntry`; see src/billing/ledger.ts.',
        properties: {
          text: decision.content,
          type: 'decision',
          runId: 'r1',
          agentId: 'planner',
          phaseId: 'plan',
          sessionId: 's-plan',
          tags: [],
          entryId: decision.id,
          createdAt: decision.createdAt,
        },
      },
    ]);
    expect(await graph.findRelations({ from: [`decision:${decision.id}`], kinds: ['decided_by'] })).toEqual([
      { from: `decision:${decision.id}`, to: 'session:s-plan', kind: 'decided_by', properties: { runId: 'r1' } },
    ]);
    expect(await touched(`decision:${decision.id}`)).toEqual([
      'src/billing/ledger.ts',
      'src/billing/ledger.ts#postEntry',
    ]);
    expect(await touched(`finding:${finding.id}`)).toEqual(['src/billing/invoice.ts']);
    expect((await graph.findEntities({ ids: [`finding:${error.id}`] }))[0]).toMatchObject({
      kind: 'finding',
      properties: { type: 'error' },
    });
    expect(await graph.findRelations({ from: ['session:s-build'] })).toEqual([
      {
        from: 'session:s-build',
        to: 'jobs/export.ts',
        kind: 'touches',
        properties: { runId: 'r1', via: 'file_changed', entryId: changed.id, text: changed.content },
      },
      {
        from: 'session:s-build',
        to: 'src/billing/invoice.ts',
        kind: 'touches',
        properties: { runId: 'r1', via: 'file_changed', entryId: changed.id, text: changed.content },
      },
    ]);
    expect(await graph.findEntities({ ids: ['jobs/export.ts', 'src/billing/invoice.ts'] })).toEqual([
      { id: 'jobs/export.ts', kind: 'file', name: 'export.ts', properties: { source: 'context' } },
      code[1],
    ]);
    expect(await graph.findEntities({ kinds: ['session'] })).toEqual([
      {
        id: 'session:s-build',
        kind: 'session',
        name: 'builder',
        properties: { runId: 'r1', agentId: 'builder', phaseId: 'plan', sessionId: 's-build' },
      },
      {
        id: 'session:s-plan',
        kind: 'session',
        name: 'planner',
        properties: { runId: 'r1', agentId: 'planner', phaseId: 'plan', sessionId: 's-plan' },
      },
      {
        id: 'session:s-review',
        kind: 'session',
        name: 'reviewer',
        properties: { runId: 'r1', agentId: 'reviewer', phaseId: 'plan', sessionId: 's-review' },
      },
    ]);
    expect((await graph.stats()).entities.decision).toBe(1);
  });

  it('ingests every run when none is given, and adds nothing twice when run again', async () => {
    await temp.store.saveContextEntry(entry('decision', 'Use ledger.ts for postings'));
    await temp.store.saveContextEntry(entry('decision', 'Keep invoice.ts pure', { runId: 'r2' }));
    await ingestContext(graph, temp.store);
    const once = await graph.stats();
    expect(once.entities.decision).toBe(2);
    await ingestContext(graph, temp.store);
    expect(await graph.stats()).toEqual(once);
  });

  it('follows a keyed decision that changed: it touches only what it mentions now', async () => {
    const first = await temp.store.saveContextEntry(
      entry('decision', 'Postings live in ledger.ts', { key: 'decision/postings' }),
    );
    await ingestContext(graph, temp.store, 'r1');
    expect(await touched(`decision:${first.id}`)).toEqual(['src/billing/ledger.ts']);
    await temp.store.saveContextEntry(
      { ...first, content: 'Postings move to invoice.ts' },
      { expectedVersion: first.version },
    );
    await ingestContext(graph, temp.store, 'r1');
    expect(await touched(`decision:${first.id}`)).toEqual(['src/billing/invoice.ts']);
    expect((await graph.findEntities({ ids: [`decision:${first.id}`] }))[0]!.properties.text).toBe(
      'Postings move to invoice.ts',
    );
  });
});

describe('absolute paths (what editors and the bridge send)', () => {
  it('are read as the repo-relative files of the directory the graph was built from', async () => {
    await graph.setBuildRoot('/home/dev/repo');
    const fact = await addKnowledge(graph, {
      kind: 'finding',
      text: 'Postings are rounded twice',
      about: ['/home/dev/repo/src/billing/ledger.ts', '/home/dev/repo/notes/rounding.md', '/elsewhere/x.md'],
    });
    expect(await touched(fact.id)).toEqual(['/elsewhere/x.md', 'notes/rounding.md', 'src/billing/ledger.ts']);

    const changed = await temp.store.saveContextEntry(
      entry('file_changed', 'File changed: /home/dev/repo/src/billing/invoice.ts /home/dev/repo/notes/new-plan.md'),
    );
    await ingestContext(graph, temp.store, 'r1');
    const changes = await graph.findRelations({ kinds: ['touches'], from: ['session:s-plan'] });
    expect(changes.filter((r) => r.properties?.entryId === changed.id).map((r) => r.to)).toEqual([
      'notes/new-plan.md',
      'src/billing/invoice.ts',
    ]);
  });
});

describe('addKnowledge', () => {
  const clock = { now: () => 1_700_000_000_000 };

  it('records a fact about files and symbols, linked to the session ingestion made for that agent', async () => {
    await temp.store.saveContextEntry(entry('finding', 'started'));
    await ingestContext(graph, temp.store, 'r1');
    const fact = await addKnowledge(
      graph,
      {
        kind: 'decision',
        text: 'Ledger postings are idempotent',
        about: ['postEntry', 'src/billing/new-file.ts'],
        runId: 'r1',
        agentId: 'planner',
      },
      { clock },
    );
    expect(fact).toMatchObject({
      kind: 'decision',
      name: 'Ledger postings are idempotent',
      properties: {
        source: 'agent',
        runId: 'r1',
        agentId: 'planner',
        createdAt: 1_700_000_000_000,
        about: ['postEntry', 'src/billing/new-file.ts'],
      },
    });
    expect(await graph.findRelations({ from: [fact.id] })).toEqual([
      { from: fact.id, to: 'session:s-plan', kind: 'decided_by', properties: { runId: 'r1' } },
      {
        from: fact.id,
        to: 'src/billing/ledger.ts#postEntry',
        kind: 'touches',
        properties: { runId: 'r1', via: 'about' },
      },
      { from: fact.id, to: 'src/billing/new-file.ts', kind: 'touches', properties: { runId: 'r1', via: 'about' } },
    ]);
    // The same fact again is the same entity.
    expect(
      (
        await addKnowledge(
          graph,
          {
            kind: 'decision',
            text: 'Ledger postings are idempotent',
            about: ['postEntry'],
            runId: 'r1',
            agentId: 'planner',
          },
          { clock },
        )
      ).id,
    ).toBe(fact.id);
    expect((await graph.stats()).entities.decision).toBe(1);
    expect(await touched(fact.id)).toEqual(['src/billing/ledger.ts#postEntry']);
  });

  it('names the session after the run and agent when there is none yet, and needs no links at all', async () => {
    const fact = await addKnowledge(
      graph,
      { kind: 'finding', text: 'Rounding happens twice', runId: 'r9', agentId: 'auditor' },
      { clock },
    );
    expect(await graph.findRelations({ from: [fact.id] })).toEqual([
      { from: fact.id, to: 'session:r9/auditor', kind: 'decided_by', properties: { runId: 'r9' } },
    ]);
    const anonymous = await addKnowledge(graph, { kind: 'finding', text: 'A fact from nobody' }, { clock });
    expect(await graph.findRelations({ from: [anonymous.id] })).toEqual([]);
  });

  it('rejects a fact that is not one, naming the field', async () => {
    await expect(addKnowledge(graph, { kind: 'decision', text: '   ' })).rejects.toMatchObject({
      code: 'BATON_KNOWLEDGE_INVALID',
      message: expect.stringMatching(/text: must not be empty/),
    });
    await expect(addKnowledge(graph, { kind: 'rumour', text: 'x' } as never)).rejects.toMatchObject({
      code: 'BATON_KNOWLEDGE_INVALID',
      message: expect.stringContaining('kind'),
    });
    await expect(addKnowledge(graph, { kind: 'finding', text: 'x', about: 'src/a.ts' } as never)).rejects.toMatchObject(
      { code: 'BATON_KNOWLEDGE_INVALID', message: expect.stringContaining('about') },
    );
  });
});
