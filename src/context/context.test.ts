import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import { contextChecksum, openSqliteStore, type ContextEntry, type Store } from '../store/index.js';
import { DynamicContextAccumulator } from './accumulator.js';
import { extractContext } from './extract.js';
import { aggregatorTag, phaseOutputKey } from './keys.js';
import { buildAppendedSystemPrompt, renderContext } from './prompt.js';
import { archiveSessions, pruneSessions } from './sessions.js';
import type { Summarizer } from './summarize.js';
import { countTokens } from './tokens.js';
import { exportContext, importContext, type ContextExport } from './transfer.js';

let now = 1_000;
const clock = { now: () => now++ };
const temp = useTempStore('baton-context-');

const accumulator = (extra: Partial<ConstructorParameters<typeof DynamicContextAccumulator>[0]> = {}) =>
  new DynamicContextAccumulator({ store: temp.store, runId: 'run-1', sizeLimitBytes: 50_000, clock, ...extra });

describe('context inheritance', () => {
  it('a phase inherits the accumulated context of the phases it depends on, and only those', async () => {
    const acc = accumulator();
    await acc.add([{ type: 'decision', content: 'We use PostgreSQL 16', tags: [] }], {
      phaseId: 'design',
      agentId: 'architect',
      sessionId: 's1',
    });
    await acc.add([{ type: 'finding', content: 'The UI uses React', tags: [] }], {
      phaseId: 'ui',
      agentId: 'scout',
      sessionId: 's2',
    });
    const selected = await acc.select({
      phaseIds: ['design'],
      task: 'write the migration',
      mode: 'all',
      budgetTokens: 1000,
    });
    expect(selected.entries.map((e) => e.content)).toEqual(['We use PostgreSQL 16']);
    expect(selected.tokens).toBe(
      countTokens(
        '## Context from earlier agents\n### From agent architect, phase design\n- [decision] We use PostgreSQL 16',
      ),
    );
  });

  it("a child session inherits its parent session's context", async () => {
    const acc = accumulator();
    await acc.add([{ type: 'finding', content: 'The flaky test is auth.spec.ts', tags: [] }], {
      phaseId: 'p1',
      sessionId: 'parent',
    });
    await acc.add([{ type: 'finding', content: 'Unrelated session fact', tags: [] }], {
      phaseId: 'p1',
      sessionId: 'stranger',
    });
    const selected = await acc.select({
      phaseIds: [],
      sessionIds: ['parent'],
      task: 'fix it',
      mode: 'all',
      budgetTokens: 1000,
    });
    expect(selected.entries.map((e) => e.content)).toEqual(['The flaky test is auth.spec.ts']);
  });

  it('inherit none gives nothing; summary gives one summary per phase', async () => {
    const acc = accumulator();
    await acc.add(
      [
        { type: 'decision', content: 'Cache for 5 minutes.', tags: [] },
        { type: 'finding', content: 'Hit rate is 80%.', tags: [] },
      ],
      { phaseId: 'p1', agentId: 'a' },
    );
    expect((await acc.select({ phaseIds: ['p1'], task: 't', mode: 'none', budgetTokens: 100 })).entries).toEqual([]);
    const summary = await acc.select({ phaseIds: ['p1'], task: 't', mode: 'summary', budgetTokens: 100 });
    expect(summary.entries).toHaveLength(1);
    expect(summary.entries[0]).toMatchObject({ type: 'summary', level: 1, phaseId: 'p1' });
    expect(summary.entries[0]!.content).toContain('[decision] Cache for 5 minutes.');
  });

  it('sees new facts at once: the candidate cache is cleared on write', async () => {
    const acc = accumulator();
    await acc.add([{ type: 'finding', content: 'first', tags: [] }], { phaseId: 'p1' });
    expect((await acc.select({ phaseIds: ['p1'], task: 't', mode: 'all', budgetTokens: 100 })).entries).toHaveLength(1);
    await acc.add([{ type: 'finding', content: 'second', tags: [] }], { phaseId: 'p1' });
    expect(
      (await acc.select({ phaseIds: ['p1'], task: 't', mode: 'all', budgetTokens: 100 })).entries.map((e) => e.content),
    ).toEqual(['first', 'second']);
  });
});

describe('smart filtering', () => {
  it('picks the relevant entry among 1,000 distractors, within the token budget', async () => {
    const acc = accumulator();
    const topics = [
      'logging format',
      'button colours',
      'CI cache keys',
      'font loading',
      'README wording',
      'lint rules',
      'icon sizes',
      'docker layers',
    ];
    const distractors = Array.from({ length: 1000 }, (_, i) => ({
      type: 'finding' as const,
      content: `Note ${i}: the ${topics[i % topics.length]} were reviewed and left as they are.`,
      tags: [],
    }));
    await acc.add(distractors.slice(0, 500), { phaseId: 'survey', agentId: 'many' });
    await acc.add(
      [
        {
          type: 'finding',
          content:
            'The payments webhook retries with exponential backoff, max 5 attempts, and signs requests with HMAC-SHA256.',
          tags: ['payments'],
        },
      ],
      { phaseId: 'survey', agentId: 'one' },
    );
    await acc.add(distractors.slice(500), { phaseId: 'survey', agentId: 'many' });

    const selected = await acc.select({
      phaseIds: ['survey'],
      task: 'How does the payments webhook sign and retry requests?',
      mode: 'filtered',
      budgetTokens: 120,
    });
    expect(selected.considered).toBeLessThanOrEqual(1001);
    expect(selected.entries[0]?.content).toContain('payments webhook');
    expect(selected.tokens).toBeLessThanOrEqual(120);
    expect(selected.entries.length).toBeLessThan(10);
  });

  it('prefers decisions over findings of equal relevance', async () => {
    const acc = accumulator();
    await acc.add([{ type: 'finding', content: 'The queue is Redis', tags: [] }], { phaseId: 'p' });
    await acc.add([{ type: 'decision', content: 'The queue is BullMQ', tags: [] }], { phaseId: 'p' });
    const selected = await acc.select({
      phaseIds: ['p'],
      task: 'which queue',
      mode: 'filtered',
      budgetTokens: countTokens('## Context from earlier agents\n### From phase p\n- [decision] The queue is BullMQ'),
    });
    expect(selected.entries.map((e) => e.content)).toEqual(['The queue is BullMQ']);
  });
});

describe('size limits', () => {
  const bulky = (phase: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({
      type: 'finding' as const,
      // Distinct words per fact: near-duplicates would be merged.
      content: `${phase} fact ${i}: ${Array.from({ length: 40 }, (_, k) => `${phase}detail${k}n${i}`).join(' ')}`,
      tags: [],
    }));

  it('summarises the oldest phases over the limit and keeps every original', async () => {
    const summaries: string[] = [];
    const summarizer: Summarizer = {
      name: 'test-agent',
      summarize: async (r) => (summaries.push(r.scope), `summary of ${r.scope}: ${r.entries.length} facts`),
    };
    const acc = accumulator({ sizeLimitBytes: 6_000, summarizer });
    const old = await acc.add(bulky('old', 20), { phaseId: 'old' });
    await acc.add(bulky('new', 5), { phaseId: 'new' });

    const selected = await acc.select({ phaseIds: ['old', 'new'], task: 't', mode: 'all', budgetTokens: 100_000 });
    expect(summaries).toEqual(['phase old']);
    expect(selected.entries[0]).toMatchObject({
      type: 'summary',
      level: 1,
      phaseId: 'old',
      content: 'summary of phase old: 20 facts',
      tags: ['summary', 'test-agent'],
    });
    expect(selected.entries[0]!.summaryOf).toEqual(old.map((e) => e.id).sort());
    expect(selected.entries.slice(1).every((e) => e.phaseId === 'new' && e.level === 0)).toBe(true);
    // Nothing deleted: the originals are all still there, and the summary is reused next time.
    expect((await temp.store.listContextEntries({ runId: 'run-1', phaseIds: ['old'], level: 0 })).entries).toHaveLength(
      20,
    );
    await acc.select({ phaseIds: ['old', 'new'], task: 't', mode: 'all', budgetTokens: 100_000 });
    expect(summaries).toEqual(['phase old']);
  });

  it('writes a new summary when a keyed decision it covers changed: the replaced decision is never served', async () => {
    const acc = accumulator({ sizeLimitBytes: 2_000 });
    await acc.add([{ type: 'decision', key: 'db', content: 'Orders live in PostgreSQL 16.', tags: [] }], {
      phaseId: 'plan',
      agentId: 'architect',
    });
    await acc.add(bulky('plan', 10), { phaseId: 'plan', agentId: 'scout' });
    const summaryOf = async () =>
      (await acc.select({ phaseIds: ['plan'], task: 't', mode: 'summary', budgetTokens: 100_000 })).entries[0]!;
    expect((await summaryOf()).content).toContain('PostgreSQL 16');
    // A later agent of the same phase (a judge, the next generation of a planner) changes the decision in place.
    await acc.add([{ type: 'decision', key: 'db', content: 'Orders move to SQLite for the pilot.', tags: [] }], {
      phaseId: 'plan',
      agentId: 'judge',
    });
    const after = await summaryOf();
    expect(after.content).toContain('SQLite for the pilot');
    expect(after.content).not.toContain('PostgreSQL 16');
  });

  it('goes up to a run summary when phase summaries are not enough', async () => {
    const summarizer: Summarizer = {
      name: 'verbose',
      summarize: async (r) => `${r.scope} `.repeat(r.scope === 'the run so far' ? 5 : 400),
    };
    const acc = accumulator({ sizeLimitBytes: 3_000, summarizer });
    await acc.add(bulky('a', 10), { phaseId: 'a' });
    await acc.add(bulky('b', 10), { phaseId: 'b' });
    const selected = await acc.select({ phaseIds: ['a', 'b'], task: 't', mode: 'all', budgetTokens: 100_000 });
    expect(selected.entries).toHaveLength(1);
    expect(selected.entries[0]).toMatchObject({ level: 2, type: 'summary' });
    expect(selected.entries[0]!.summaryOf).toHaveLength(20);
  });

  it('falls back to a deterministic extract when the summarizer agent fails', async () => {
    const failing: Summarizer = { name: 'agent', summarize: async () => Promise.reject(new Error('no model')) };
    const acc = accumulator({ sizeLimitBytes: 2_000, summarizer: failing });
    await acc.add([{ type: 'decision', content: 'Ship on Friday. Then rest.', tags: [] }, ...bulky('x', 10)], {
      phaseId: 'x',
    });
    const first = await acc.select({ phaseIds: ['x'], task: 't', mode: 'all', budgetTokens: 100_000 });
    expect(first.entries[0]!.tags).toEqual(['summary', 'extractive']);
    expect(first.entries[0]!.content.split('\n').slice(0, 2)).toEqual([
      'Summary of phase x (11 entries):',
      '- [decision] Ship on Friday.',
    ]);
  });
});

describe('keys Baton writes itself', () => {
  it("an agent's fact keyed like a phase output neither overwrites the phase's output nor is dropped as one", async () => {
    const acc = accumulator();
    const source = { phaseId: 'build', agentId: 'dev' };
    await acc.add(extractContext({ text: 'Decision[phase-output/build]: Builds run on Node 22.' }), source);
    await acc.upsertKeyed(
      phaseOutputKey('build'),
      () => ({ type: 'artifact', content: 'Output of phase build (concat): …', tags: ['phase-output'] }),
      { phaseId: 'build' },
    );
    for (const mode of ['all', 'filtered'] as const) {
      const selected = await acc.select({
        phaseIds: ['build'],
        task: 'Which Node do builds run on?',
        mode,
        budgetTokens: 2_000,
      });
      expect(selected.entries.map((e) => e.content)).toContain('Builds run on Node 22.');
    }
    expect((await temp.store.getContextEntryByKey('run-1', 'phase-output/build'))?.content).toContain(
      'Output of phase',
    );
    expect((await temp.store.getContextEntryByKey('run-1', 'agent/phase-output/build'))?.content).toBe(
      'Builds run on Node 22.',
    );
  });

  it("takes Baton's own tags (a judge's or reducer's mark) off what an agent's result gives", () => {
    const structured = {
      context: [{ type: 'decision', content: 'Ship CSV first.', tags: ['baton:judge', 'export'] }],
    };
    expect(extractContext({ text: '', structured })).toEqual([
      { type: 'decision', content: 'Ship CSV first.', tags: ['export'] },
    ]);
    expect(extractContext({ text: 'Decision: Mark it `baton:reducer`.' })[0]!.tags).toEqual([]);
  });
});

describe('summaries keep what later tasks ask about', () => {
  // Findings no later task needs, saying more than the two that the readers' tasks paraphrase; a
  // summary has room for about five of the fourteen.
  const research = [
    ...Array.from({ length: 12 }, (_, i) => ({
      type: 'finding' as const,
      content: `Module ${i} of reporting has ${i + 3} cron jobs, dashboards, runbooks and pagers.`,
      tags: [],
    })),
    { type: 'finding' as const, content: 'Sign-in cookies lack the Secure flag.', tags: [] },
    { type: 'finding' as const, content: 'Invoices are rounded per line.', tags: [] },
  ];
  const summaryMode = { phaseIds: ['research'], mode: 'summary' as const, budgetTokens: 100_000 };

  it('a summary keeps first the findings the readers of its phase ask about, in words of their own', async () => {
    const acc = accumulator({
      sizeLimitBytes: 2_000, // summaries of at most 500 bytes
      readersOf: (phaseIds) =>
        phaseIds.includes('research')
          ? [{ task: 'Harden the login session cookies' }, { task: 'Fix the invoice rounding totals' }]
          : [],
    });
    await acc.add(research, { phaseId: 'research', agentId: 'scout' });
    const [summary] = (await acc.select({ ...summaryMode, task: 'Harden the login session cookies' })).entries;
    expect(summary!.content).toContain('Sign-in cookies lack the Secure flag.');
    // Another reader's question is kept too: the summary is written once for all of them.
    expect(summary!.content).toContain('Invoices are rounded per line.');
  });

  it('keeps a fact the readers ask about whole, not only its first sentence, when it fits', async () => {
    const acc = accumulator({ sizeLimitBytes: 2_000, runId: 'run-whole-fact' });
    await acc.add(
      [
        ...research,
        {
          type: 'decision',
          content: 'Invoices keep PostgreSQL 16. Rounding happens once per invoice total, half to even, in cents.',
          tags: [],
        },
      ],
      { phaseId: 'research', agentId: 'scout' },
    );
    const [summary] = (await acc.select({ ...summaryMode, task: 'Fix the invoice rounding totals' })).entries;
    expect(summary!.content).toContain('Rounding happens once per invoice total, half to even, in cents.');
    // Facts it does not ask about keep their first sentence only.
    expect(summary!.content).not.toMatch(/dashboards, runbooks and pagers\. \S/);
  });

  it('without readers, the summary keeps first what the agent asking for it needs', async () => {
    const acc = accumulator({ sizeLimitBytes: 2_000 });
    await acc.add(research, { phaseId: 'research', agentId: 'scout' });
    const [summary] = (await acc.select({ ...summaryMode, task: 'Fix the invoice rounding totals' })).entries;
    expect(summary!.content).toContain('Invoices are rounded per line.');
  });

  it("writes one summary for a phase's agents asking at the same time, not one summarizer call each", async () => {
    let calls = 0;
    const summarizer: Summarizer = { name: 'agent', summarize: async () => (calls++, 'summary') };
    const acc = accumulator({ summarizer });
    await acc.add(research, { phaseId: 'research', agentId: 'scout' });
    const selected = await Promise.all(
      ['Fix the invoice rounding totals', 'Harden the login session cookies', 'Add a report'].map((task) =>
        acc.select({ ...summaryMode, task }),
      ),
    );
    expect(calls).toBe(1);
    expect(new Set(selected.map((s) => s.entries[0]!.id)).size).toBe(1);
  });

  it('a summarizer call cancelled with the run leaves no summary behind: the resumed run writes it', async () => {
    const stop = new AbortController();
    let calls = 0;
    const summarizer: Summarizer = {
      name: 'agent',
      // The run is cancelled while the first call runs: the call stops with it.
      summarize: async (_r, signal) => {
        if (calls++ > 0) return 'the summary the agent wrote';
        stop.abort(new Error('run cancelled'));
        throw signal!.reason as Error;
      },
    };
    const cancelled = accumulator({ summarizer });
    await cancelled.add(research, { phaseId: 'research', agentId: 'scout' });
    await cancelled.select({ ...summaryMode, task: 'Add a report', signal: stop.signal }).catch(() => undefined);
    expect((await temp.store.listContextEntries({ runId: 'run-1', phaseIds: ['research'], level: 1 })).entries).toEqual(
      [],
    );
    const resumed = await accumulator({ summarizer }).select({ ...summaryMode, task: 'Add a report' });
    expect(resumed.entries[0]!.content).toContain('the summary the agent wrote');
    expect(resumed.entries[0]!.tags).toEqual(['summary', 'agent']);
  });

  it('an agent sharing a summary with one that is cancelled still gets it', async () => {
    let calls = 0;
    const summarizer: Summarizer = {
      name: 'agent',
      summarize: async (_r, signal) => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (signal?.aborted) throw signal.reason as Error;
        return 'the summary the agent wrote';
      },
    };
    const acc = accumulator({ summarizer });
    await acc.add(research, { phaseId: 'research', agentId: 'scout' });
    const first = new AbortController();
    const cancelled = acc.select({ ...summaryMode, task: 'Add a report', signal: first.signal });
    const other = acc.select({
      ...summaryMode,
      task: 'Fix the invoice rounding totals',
      signal: new AbortController().signal,
    });
    first.abort(new Error('this agent was cancelled'));
    await expect(cancelled).rejects.toThrow('this agent was cancelled');
    expect((await other).entries[0]!.content).toContain('the summary the agent wrote');
    expect(calls).toBe(2);
  });

  it('reuses a summary written in the same millisecond as its facts, and renews it when a keyed fact changes then', async () => {
    let calls = 0;
    const summarizer: Summarizer = {
      name: 'agent',
      summarize: async (r) => `summary ${++calls}: ${r.entries.map((e) => e.content).join(' ')}`,
    };
    const acc = accumulator({ summarizer, clock: { now: () => 5_000 } }); // a clock that does not move
    const source = { phaseId: 'research', agentId: 'scout' };
    await acc.add([...research, { type: 'decision', key: 'db', content: 'Use PostgreSQL.', tags: [] }], source);
    const first = await acc.select({ ...summaryMode, task: 'Fix the invoice rounding totals' });
    const again = await acc.select({ ...summaryMode, task: 'Harden the login session cookies' });
    expect(calls).toBe(1);
    expect(again.entries[0]!.id).toBe(first.entries[0]!.id);
    await acc.add([{ type: 'decision', key: 'db', content: 'Use SQLite.', tags: [] }], source);
    const renewed = await acc.select({ ...summaryMode, task: 'Harden the login session cookies' });
    expect(calls).toBe(2);
    expect(renewed.entries[0]!.content).toContain('Use SQLite.');
  });

  it("tells a summarizer agent the readers' tasks", async () => {
    const requests: Array<{ laterTasks?: string[] }> = [];
    const summarizer: Summarizer = { name: 'agent', summarize: async (r) => (requests.push(r), 'summary') };
    const acc = accumulator({ summarizer, readersOf: () => [{ task: 'Harden the login session cookies' }] });
    await acc.add(research, { phaseId: 'research', agentId: 'scout' });
    await acc.select({ ...summaryMode, task: 'Fix the invoice rounding totals' });
    expect(requests[0]!.laterTasks).toEqual(['Harden the login session cookies', 'Fix the invoice rounding totals']);
  });
});

describe('keyed facts', () => {
  it('are presented where the agent gave them among its facts, though saved in the same millisecond', async () => {
    const frozen = { now: () => 7_000 };
    const orders = new Set<string>();
    for (let run = 0; run < 20; run++) {
      const acc = accumulator({ runId: `same-ms-${run}`, clock: frozen });
      await acc.add(
        extractContext({
          text: 'Finding: exports take 4 minutes\nDecision[bucket]: exports go to GCS\nFinding: the job runs at 02:00',
        }),
        { phaseId: 'build', agentId: 'exporter', sessionId: `exporter-${run}` },
      );
      const selected = await acc.select({ phaseIds: ['build'], task: 'Ship the export', mode: 'all', budgetTokens: 0 });
      orders.add(selected.entries.map((e) => e.content).join(' | '));
    }
    expect([...orders]).toEqual(['exports take 4 minutes | exports go to GCS | the job runs at 02:00']);
  });

  it('two agents of one phase writing one key: the agent last by id keeps it, or the judge, whichever wrote last', async () => {
    const write = async (acc: DynamicContextAccumulator, agentId: string, db: string, tags: string[] = []) =>
      acc.add([{ type: 'decision', key: 'db', content: `Use ${db} for the store.`, tags }], {
        phaseId: 'build',
        agentId,
        sessionId: `${agentId}-s`,
      });
    const current = async (runId: string) => (await temp.store.getContextEntryByKey(runId, 'db'))?.content;
    for (const order of [
      ['builder-2', 'builder-10'],
      ['builder-10', 'builder-2'],
    ]) {
      const runId = `keyed-race-${order.join('-')}`;
      const acc = accumulator({ runId });
      for (const agent of order) await write(acc, agent, agent === 'builder-2' ? 'SQLite' : 'PostgreSQL');
      expect(await current(runId)).toBe('Use PostgreSQL for the store.');
      await write(acc, 'build.judge', 'MySQL', [aggregatorTag('judge')]);
      await write(acc, 'builder-99', 'MongoDB');
      expect(await current(runId)).toBe('Use MySQL for the store.');
    }
  });

  it('a keyed fact updated by another phase: each agent gets the newest value its inherited phases wrote, cached or not', async () => {
    const acc = accumulator();
    const research = { phaseId: 'research', agentId: 'scout', sessionId: 'scout-s' };
    await acc.add(
      [
        { type: 'decision', key: 'db', content: 'Use PostgreSQL for the store.', tags: [] },
        { type: 'finding', content: 'The store has 3 tables.', tags: [] },
      ],
      research,
    );
    const requests = {
      onlyResearch: { phaseIds: ['research'] },
      both: { phaseIds: ['research', 'build'] },
      onlyBuild: { phaseIds: ['build'] },
      forkOfScout: { phaseIds: [], sessionIds: ['scout-s'] },
    };
    const modes = ['all', 'filtered', 'summary'] as const;
    const select = (a: DynamicContextAccumulator, phases: { phaseIds: string[] }, mode: (typeof modes)[number]) =>
      a.select({ ...phases, task: 'build the api on the store', budgetTokens: 2_000, mode });
    for (const phases of Object.values(requests)) for (const mode of modes) await select(acc, phases, mode); // cached now
    await acc.add([{ type: 'decision', key: 'db', content: 'Use SQLite for the store.', tags: [] }], {
      phaseId: 'build',
      agentId: 'b1',
      sessionId: 'b1-s',
    });
    const sees = async (a: DynamicContextAccumulator, phases: { phaseIds: string[] }, mode: (typeof modes)[number]) => {
      const selected = await select(a, phases, mode);
      const text = selected.entries.map((e) => e.content).join('\n');
      return ['PostgreSQL', 'SQLite'].filter((db) => text.includes(`Use ${db}`));
    };
    for (const mode of modes) {
      // Not inheriting the updater: the value its own phase wrote, the same whether or not the update came first.
      expect(await sees(acc, requests.onlyResearch, mode)).toEqual(['PostgreSQL']);
      expect(await sees(acc, requests.forkOfScout, mode)).toEqual(['PostgreSQL']);
      // Inheriting it: only the current value.
      expect(await sees(acc, requests.both, mode)).toEqual(['SQLite']);
      expect(await sees(acc, requests.onlyBuild, mode)).toEqual(['SQLite']);
      for (const phases of Object.values(requests))
        expect(await sees(accumulator(), phases, mode)).toEqual(await sees(acc, phases, mode));
    }
    // The current value is shown with its updater's provenance; the earlier one with its own.
    const both = await select(acc, requests.both, 'all');
    expect(both.entries.find((e) => e.key === 'db')).toMatchObject({ agentId: 'b1', phaseId: 'build', version: 2 });
    const old = await select(accumulator(), requests.onlyResearch, 'all');
    expect(old.entries.find((e) => e.key === 'db')).toMatchObject({
      agentId: 'scout',
      phaseId: 'research',
      version: 1,
    });
  });
  it('one key whatever its case and spacing, by a line or the structured block', async () => {
    const acc = accumulator();
    const source = { phaseId: 'plan', agentId: 'architect' };
    await acc.add(extractContext({ text: 'Decision[Cache TTL]: pages are cached for 5 minutes' }), source);
    await acc.add(extractContext({ text: 'Decision[ cache   ttl ]: pages are cached for 10 minutes' }), source);
    await acc.add(
      extractContext({
        text: '{}',
        structured: { context: [{ type: 'decision', content: 'pages are cached for 30 minutes', key: 'CACHE TTL' }] },
      }),
      source,
    );
    const { entries } = await temp.store.listContextEntries({ runId: 'run-1' });
    expect(entries.map((e) => [e.key, e.content, e.version])).toEqual([
      ['cache ttl', 'pages are cached for 30 minutes', 3],
    ]);
  });

  it('a keyed line that says nothing ("Decision[db]: no change") updates no key: the decision stays', async () => {
    const acc = accumulator();
    await acc.add(extractContext({ text: 'Decision[db]: the order store is PostgreSQL 16' }), {
      phaseId: 'plan',
      agentId: 'architect',
    });
    const unchanged = ['no change', 'unchanged', 'none', 'n/a', '(no change)'];
    for (const [i, said] of unchanged.entries())
      await acc.add(
        extractContext(
          i % 2 === 0
            ? { text: `Reviewed.\nDecision[DB]: ${said}\nFinding: the orders table has no index on customer_id` }
            : { text: '{}', structured: { context: [{ type: 'decision', content: said, key: 'db' }] } },
        ),
        { phaseId: 'review', agentId: `reviewer-${i}` },
      );
    for (const mode of ['filtered', 'all'] as const) {
      const selected = await acc.select({
        phaseIds: ['plan', 'review'],
        task: 'build the order store',
        mode,
        budgetTokens: 2_000,
      });
      expect(selected.entries.map((e) => e.content)).toContain('the order store is PostgreSQL 16');
      expect(selected.entries.map((e) => e.content)).not.toContain('unchanged');
    }
    const stored = await temp.store.getContextEntryByKey('run-1', 'db');
    expect([stored?.content, stored?.version]).toEqual(['the order store is PostgreSQL 16', 1]);
  });

  it("an unkeyed restatement of a keyed decision's value goes with that value when the key is updated", async () => {
    const acc = accumulator();
    await acc.add(extractContext({ text: 'Decision[db]: The orders store is PostgreSQL 16.' }), {
      phaseId: 'plan',
      agentId: 'architect',
    });
    const [twin] = await acc.add(extractContext({ text: 'Decision: The orders store will use PostgreSQL 16.' }), {
      phaseId: 'build',
      agentId: 'builder',
    });
    const [keyed] = await acc.add(extractContext({ text: 'Decision[db]: SQLite' }), {
      phaseId: 'review',
      agentId: 'lead',
    });
    for (const mode of ['filtered', 'all', 'summary'] as const) {
      const selected = await acc.select({
        phaseIds: ['plan', 'build', 'review'],
        task: 'build on the orders store',
        mode,
        budgetTokens: 2_000,
      });
      expect([mode, selected.superseded]).toEqual([mode, { [twin!.id]: keyed!.id }]);
      expect(JSON.stringify(selected.entries)).not.toContain('PostgreSQL');
    }
    // An agent that does not inherit the update keeps the twin (and the keyed value its phases wrote).
    const before = await acc.select({
      phaseIds: ['plan', 'build'],
      task: 'orders store',
      mode: 'all',
      budgetTokens: 0,
    });
    expect(before.entries.map((e) => e.content)).toEqual(['The orders store will use PostgreSQL 16.']);
  });

  it('reports the decisions a newer one superseded in every mode, a small context included', async () => {
    const acc = accumulator();
    const [old] = await acc.add(extractContext({ text: 'Decision: sessions expire after 20 minutes idle' }), {
      phaseId: 'plan',
      agentId: 'architect',
    });
    const [revision] = await acc.add(
      extractContext({ text: 'Decision: session idle timeout raised to 45 minutes instead of 20 minutes' }),
      { phaseId: 'review', agentId: 'reviewer' },
    );
    for (const mode of ['filtered', 'all', 'summary'] as const) {
      const selected = await acc.select({
        phaseIds: ['plan', 'review'],
        task: 'set the idle timeout',
        mode,
        budgetTokens: 2_000,
      });
      expect([mode, selected.superseded]).toEqual([mode, { [old!.id]: revision!.id }]);
      expect(JSON.stringify(selected.entries)).not.toContain('after 20 minutes idle');
    }
  });

  it("saving a kept agent's facts again keeps what an older extraction stored under their ids, without a conflict", async () => {
    const acc = accumulator();
    const source = { phaseId: 'plan', agentId: 'planner.g1', sessionId: 's1' };
    // What an earlier Baton stored for this agent: its answer's JSON as one finding.
    const [old] = await acc.add(
      [{ type: 'finding', content: '{"done":false,"tasks":[]}', tags: [] }],
      source,
      's1:fact',
    );
    const again = [
      { type: 'finding' as const, content: 'Planned task a (generation 1): do a', tags: [] },
      { type: 'finding' as const, content: 'Planned task b (generation 1): do b', tags: [] },
    ];
    const saved = await acc.add(again, source, 's1:fact', old!.createdAt + 1);
    expect(saved.map((e) => [e.id, e.content])).toEqual([
      ['s1:fact:0', '{"done":false,"tasks":[]}'],
      ['s1:fact:1', 'Planned task b (generation 1): do b'],
    ]);
    // A new fact under an id that says something else is still refused.
    await expect(acc.add([again[0]!], source, 's1:fact')).rejects.toMatchObject({ code: 'BATON_CONTEXT_CONFLICT' });
  });

  it('merges concurrent updates of one key: none is lost', async () => {
    const acc = accumulator();
    const source = { phaseId: 'p' };
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        acc.upsertKeyed(
          'tally',
          (current) => ({ type: 'finding', content: String(Number(current?.content ?? 0) + 1), tags: [`writer-${i}`] }),
          source,
        ),
      ),
    );
    const tally = await temp.store.getContextEntryByKey('run-1', 'tally');
    expect(tally).toMatchObject({ content: '25', version: 25 });
  });
});

describe('system prompt generation', () => {
  const context: ContextEntry[] = [
    {
      id: 'e1',
      runId: 'r',
      agentId: 'architect',
      phaseId: 'design',
      type: 'decision',
      content: 'Use PostgreSQL 16.\nNo ORM.',
      tags: [],
      tokens: 8,
      level: 0,
      checksum: 'x',
      version: 1,
      createdAt: 1,
      updatedAt: 1,
    },
    {
      id: 'e2',
      runId: 'r',
      phaseId: 'survey',
      type: 'summary',
      content: 'Three services, one shared DB.',
      tags: [],
      tokens: 7,
      level: 1,
      checksum: 'x',
      version: 1,
      createdAt: 2,
      updatedAt: 2,
    },
  ];
  const input = {
    workflowName: 'migration',
    workflowDescription: 'Move billing to PostgreSQL',
    phaseId: 'build',
    agentId: 'migrator',
    role: 'You write careful database migrations.',
    context,
    mcp: {
      available: [{ name: 'postgres', tools: 3 }],
      missing: [{ name: 'github', reason: 'MCP server "github" is not up: exited' }],
    },
  };

  it('is deterministic and matches the snapshot', () => {
    const prompt = buildAppendedSystemPrompt(input);
    expect(buildAppendedSystemPrompt(structuredClone(input))).toBe(prompt);
    expect(prompt).toMatchSnapshot();
  });

  it('renders each fact on one line, whatever line breaks it holds (Windows ones too)', () => {
    const fact = { ...context[0]!, content: 'Use PostgreSQL 16.\r\nNo ORM.\r\n\r\nMigrations by hand.\rDone.' };
    expect(renderContext([fact]).split('\n')).toEqual([
      '## Context from earlier agents',
      '### From agent architect, phase design',
      '- [decision] Use PostgreSQL 16. No ORM. Migrations by hand. Done.',
    ]);
  });

  it('puts what agents share first and what is theirs last, so the prompt cache is reused', () => {
    const a = buildAppendedSystemPrompt({ ...input, agentId: 'a', role: 'Role A', mcp: undefined });
    const b = buildAppendedSystemPrompt({ ...input, agentId: 'b', role: 'Role B', mcp: undefined });
    const shared = a.slice(0, a.indexOf('## Your assignment'));
    expect(b.startsWith(shared)).toBe(true);
    expect(shared).toContain('## Context from earlier agents');
    expect(buildAppendedSystemPrompt({ workflowName: 'w', phaseId: 'p', agentId: 'x' })).toMatchSnapshot();
  });
});

describe('extracting context from results', () => {
  it('never injects a fact that says there is nothing, whatever word order the agent chose', async () => {
    const acc = accumulator({ runId: 'run-empty-facts' });
    const empty = [
      'Files changed: none',
      'Errors encountered: 0',
      'zero files changed',
      'Code review: no findings',
      'Blockers: none',
      'No blockers.',
    ];
    const facts = ['Files changed: none outside src/legacy', 'Errors: none in staging, 3 in production'];
    await acc.add(extractContext({ text: [...empty, ...facts].map((f) => `Finding: ${f}`).join('\n') }), {
      phaseId: 'review',
      agentId: 'reviewer',
    });
    const selected = await acc.select({ phaseIds: ['review'], task: 'Fix the build', mode: 'all', budgetTokens: 0 });
    expect(selected.entries.map((e) => e.content)).toEqual(facts);
  });

  it('reads marked lines, typed', () => {
    const drafts = extractContext({
      text: 'I did it.\n- Decision: use `pnpm` workspaces\nFile changed: src/app.ts — added retry\nError: tests in api/ fail on Node 18\nArtifact: dist/report.html',
    });
    expect(drafts).toEqual([
      { type: 'decision', content: 'use `pnpm` workspaces', tags: ['pnpm'] },
      { type: 'file_changed', content: 'src/app.ts — added retry', tags: ['src/app.ts'] },
      { type: 'error', content: 'tests in api/ fail on Node 18', tags: [] },
      { type: 'artifact', content: 'dist/report.html', tags: ['dist/report.html'] },
    ]);
  });

  it('keeps the whole result when every marked line is empty: the agent said what it knew unmarked', () => {
    const text = 'The retry logic lives in src/retry.ts and backs off exponentially.\nFile changed: none\nError: n/a';
    expect(extractContext({ text })).toEqual([
      { type: 'file_changed', content: 'none', tags: [] },
      { type: 'error', content: 'n/a', tags: [] },
      {
        type: 'finding',
        content: 'The retry logic lives in src/retry.ts and backs off exponentially.',
        tags: ['src/retry.ts'],
      },
    ]);
    // The empty lines stay the agent's record; selection never injects them.
    expect(extractContext({ text: 'File changed: none' })).toEqual([
      { type: 'file_changed', content: 'none', tags: [] },
    ]);
  });

  it('reads a key with odd characters, brackets included, and never loses the line', () => {
    const drafts = extractContext({
      text: [
        'Decision[api/v2 paths]: versioned under /v2',
        'Decision[[db]]: PostgreSQL 16',
        'Decision[cache[eu]]: Redis in eu-west-1',
        'Decision[ünïcode-ключ]: keep UTF-8 keys',
        'Decision[ ]: no key at all',
      ].join('\n'),
    });
    expect(drafts.map((d) => [d.key, d.content])).toEqual([
      ['api/v2 paths', 'versioned under /v2'],
      ['[db]', 'PostgreSQL 16'],
      ['cache[eu]', 'Redis in eu-west-1'],
      ['ünïcode-ключ', 'keep UTF-8 keys'],
      [undefined, 'no key at all'],
    ]);
  });

  it('reads marked lines written in Markdown: bold, headings, quotes, a space before the key or the colon', () => {
    const drafts = extractContext({
      text: [
        '**Decision:** use pnpm',
        '**Decision[db]:** PostgreSQL 16',
        '**Finding**: the cache is cold at 06:00',
        '__Error:__ the build fails on Node 18',
        '### Decision[cache_ttl]: 5 minutes',
        '> Finding: quoted from the log',
        'Decision [region]: eu-west-1',
        'Decision[queue] : BullMQ',
        'Finding : the worker pool is idle at night',
        '**Note:** not a fact marker',
      ].join('\n'),
    });
    expect(drafts.map((d) => [d.type, d.key, d.content])).toEqual([
      ['decision', undefined, 'use pnpm'],
      ['decision', 'db', 'PostgreSQL 16'],
      ['finding', undefined, 'the cache is cold at 06:00'],
      ['error', undefined, 'the build fails on Node 18'],
      ['decision', 'cache_ttl', '5 minutes'],
      ['finding', undefined, 'quoted from the log'],
      ['decision', 'region', 'eu-west-1'],
      ['decision', 'queue', 'BullMQ'],
      ['finding', undefined, 'the worker pool is idle at night'],
    ]);
  });

  it('keeps one of the facts an agent repeats word for word, keyed or not, in its lines or its block', () => {
    expect(
      extractContext({
        text: 'Finding: the cache is cold\nDecision[db]: PostgreSQL\nFinding:  the cache is cold \nDecision[DB]: PostgreSQL',
      }).map((d) => [d.type, d.key, d.content]),
    ).toEqual([
      ['finding', undefined, 'the cache is cold'],
      ['decision', 'db', 'PostgreSQL'],
    ]);
    const item = { type: 'finding', content: 'the cache is cold' };
    expect(extractContext({ text: '{}', structured: { context: [item, item, { ...item, type: 'error' }] } })).toEqual([
      { type: 'finding', content: 'the cache is cold', tags: [] },
      { type: 'error', content: 'the cache is cold', tags: [] },
    ]);
  });

  it('reads CRLF and CR line endings as line breaks', () => {
    expect(extractContext({ text: 'Decision[db]: PostgreSQL\r\nFinding: the cache is cold\r\n' })).toEqual([
      { type: 'decision', content: 'PostgreSQL', key: 'db', tags: [] },
      { type: 'finding', content: 'the cache is cold', tags: [] },
    ]);
    expect(extractContext({ text: 'Decision: use pnpm\rFinding: the lockfile is stale' })).toEqual([
      { type: 'decision', content: 'use pnpm', tags: [] },
      { type: 'finding', content: 'the lockfile is stale', tags: [] },
    ]);
    expect(extractContext({ text: 'The build is green.\r\nNothing else changed.\r\n' })).toEqual([
      { type: 'finding', content: 'The build is green.\nNothing else changed.', tags: [] },
    ]);
  });

  it('reads a result that is only a fenced code block as its inside; marked lines in a block are facts only when none is stated outside', () => {
    expect(extractContext({ text: '```json\n{ "orders": 12, "file": "src/orders.ts" }\n```\n' })).toEqual([
      { type: 'finding', content: '{ "orders": 12, "file": "src/orders.ts" }', tags: ['src/orders.ts'] },
    ]);
    expect(extractContext({ text: '```\nDecision[db]: PostgreSQL\nFinding: the cache is cold\n```' })).toEqual([
      { type: 'decision', content: 'PostgreSQL', key: 'db', tags: [] },
      { type: 'finding', content: 'the cache is cold', tags: [] },
    ]);
    const quoted = [
      'The tests fail:',
      '```python',
      '# Decision: retry three times',
      'raise Error("x")',
      'Error: expected 3, got 4',
      '```',
      'Finding: invoice totals are rounded twice',
    ].join('\n');
    expect(extractContext({ text: quoted })).toEqual([
      { type: 'finding', content: 'invoice totals are rounded twice', tags: [] },
    ]);
    // With no fact stated outside the blocks, the marked lines in them are the agent's facts.
    const fencedFacts =
      'My facts:\n```\nDecision[db]: PostgreSQL\nError: the build fails\n```\nThat is all.\nFile changed: none';
    expect(extractContext({ text: fencedFacts }).map((d) => [d.type, d.key, d.content])).toEqual([
      ['decision', 'db', 'PostgreSQL'],
      ['error', undefined, 'the build fails'],
      ['file_changed', undefined, 'none'],
    ]);
    // A fence never closed quotes nothing: a stray fence does not hide the facts after it.
    expect(extractContext({ text: 'Finding: a\n```\nFinding: b' }).map((d) => d.content)).toEqual(['a', 'b']);
    // A `code` span is a tag; a fence is not one.
    expect(extractContext({ text: 'Finding: `retry()` is called twice\n```\nx\n```' })[0]!.tags).toEqual(['retry()']);
  });

  it('reads a context block given as a JSON string or as one item; a string that is no list leaves the text', () => {
    const items = [{ type: 'decision', content: 'Use PostgreSQL', key: 'db' }];
    const text = 'Finding: the text fallback';
    expect(extractContext({ text, structured: { context: JSON.stringify(items) } })).toEqual([
      { type: 'decision', content: 'Use PostgreSQL', key: 'db', tags: [] },
    ]);
    expect(extractContext({ text, structured: { context: items[0] } })).toEqual([
      { type: 'decision', content: 'Use PostgreSQL', key: 'db', tags: [] },
    ]);
    for (const context of ['not json', '{"type": 3}', '42', null, 7])
      expect([context, extractContext({ text, structured: { context } })]).toEqual([
        context,
        [{ type: 'finding', content: 'the text fallback', tags: [] }],
      ]);
  });

  it('stores and updates facts with odd keys: punctuation only, unicode in two normal forms, very long', async () => {
    const acc = accumulator();
    const long = `k${'é'.repeat(4_000)}`;
    const say = (text: string) => acc.add(extractContext({ text }), { phaseId: 'p', agentId: 'a' });
    await say(`Decision[!!!]: one\nDecision[Café]: two\nDecision[${long}]: three\nDecision[]]: four`);
    await say(`Decision[!!!]: one, again\nDecision[Cafe\u0301]: two, again\nDecision[${long}]: three, again`);
    const { entries } = await temp.store.listContextEntries({ runId: 'run-1' });
    expect(entries.map((e) => [e.key, e.content, e.version])).toEqual([
      ['!!!', 'one, again', 2],
      ['café', 'two, again', 2],
      [long, 'three, again', 2],
      [']', 'four', 1],
    ]);
  });

  it("reads the marked lines in a JSON-schema agent's answer, whose result text is that answer's JSON", () => {
    const answer = { answer: 'Surveyed.\nDecision[db]: PostgreSQL 16\nFinding: the gateway is slow', files: 3 };
    // Claude Code's result text for a JSON-schema agent is the JSON of its structured output.
    expect(extractContext({ text: JSON.stringify(answer), structured: answer })).toEqual([
      { type: 'decision', content: 'PostgreSQL 16', key: 'db', tags: [] },
      { type: 'finding', content: 'the gateway is slow', tags: [] },
    ]);
    const nested = { review: { notes: ['Error: the build fails on Node 18', 'Finding: lint is clean'] } };
    expect(extractContext({ text: JSON.stringify(nested), structured: nested }).map((d) => d.type)).toEqual([
      'error',
      'finding',
    ]);
    // With no marked line in it, the answer is one finding, as any unmarked result.
    const plain = { score: 3, verdict: 'ship it' };
    expect(extractContext({ text: JSON.stringify(plain), structured: plain })).toEqual([
      { type: 'finding', content: '{"score":3,"verdict":"ship it"}', tags: [] },
    ]);
  });

  it('drops an empty or malformed item of a structured block, not the whole block', () => {
    expect(
      extractContext({
        text: 'Finding: the text fallback',
        structured: {
          context: [
            { type: 'decision', content: 'Go with plan E', key: 'plan' },
            { type: 'finding', content: '' },
            { type: 'finding', content: '   ' },
            { type: 'note', content: 'not a type' },
            { type: 'finding', content: '  Plan E is cheaper  ' },
          ],
        },
      }),
    ).toEqual([
      { type: 'decision', content: 'Go with plan E', key: 'plan', tags: [] },
      { type: 'finding', content: 'Plan E is cheaper', tags: [] },
    ]);
    // Nothing usable in it: the text is read instead.
    expect(
      extractContext({
        text: 'Finding: the text fallback',
        structured: { context: [{ type: 'finding', content: ' ' }] },
      }),
    ).toEqual([{ type: 'finding', content: 'the text fallback', tags: [] }]);
  });

  it('prefers a structured context block, and falls back to the whole text', () => {
    expect(
      extractContext({
        text: '{}',
        structured: { answer: 1, context: [{ type: 'decision', content: 'Go with plan B', key: 'plan' }] },
      }),
    ).toEqual([{ type: 'decision', content: 'Go with plan B', key: 'plan', tags: [] }]);
    // A structured key is the same key as the line's `Decision[plan]:` (trimmed); a blank one is no key.
    expect(
      extractContext({
        text: '{}',
        structured: {
          context: [
            { type: 'decision', content: 'Go with plan C', key: ' plan ' },
            { type: 'finding', content: 'Plan C is cheaper', key: '  ' },
          ],
        },
      }),
    ).toEqual([
      { type: 'decision', content: 'Go with plan C', key: 'plan', tags: [] },
      { type: 'finding', content: 'Plan C is cheaper', tags: [] },
    ]);
    // A strict output schema makes optional fields null rather than absent: no key, no tags, not no block.
    expect(
      extractContext({
        text: 'Finding: the text',
        structured: { context: [{ type: 'decision', content: 'Go with plan D', key: null, tags: null }] },
      }),
    ).toEqual([{ type: 'decision', content: 'Go with plan D', tags: [] }]);
    expect(extractContext({ text: '  The build is green.  ' })).toEqual([
      { type: 'finding', content: 'The build is green.', tags: [] },
    ]);
    expect(extractContext({ text: '' })).toEqual([]);
  });
});

/** Session s1 of agent a in run-1, finished: what the facts of the export tests come from. */
const saveFinishedSession = () =>
  temp.store.saveSession({ id: 's1', runId: 'run-1', agentId: 'a', status: 'completed', createdAt: 1, updatedAt: 2 });

describe('persistence', () => {
  it('exports and imports context, refusing a tampered file', async () => {
    const acc = accumulator();
    await saveFinishedSession();
    await acc.add(
      [
        { type: 'decision', content: 'Use tabs', tags: [] },
        { type: 'finding', content: 'CI takes 9 minutes', tags: [], key: 'ci/duration' },
      ],
      { phaseId: 'p', sessionId: 's1' },
    );
    const exported = await exportContext(temp.store, 'run-1', new Date(0));
    expect(exported.entries).toHaveLength(2);

    const otherDir = mkdtempSync(join(tmpdir(), 'baton-import-'));
    const other = openSqliteStore({ dataDir: otherDir });
    try {
      expect(await importContext(other, JSON.parse(JSON.stringify(exported)), 'export.json')).toEqual({
        entries: 2,
        replaced: 0,
        unchanged: 0,
        sessions: 1,
      });
      expect(await importContext(other, exported, 'export.json')).toEqual({
        entries: 0,
        replaced: 0,
        unchanged: 2,
        sessions: 0,
      });
      expect((await other.listContextEntries({ runId: 'run-1' })).entries.map((e) => e.content)).toEqual([
        'Use tabs',
        'CI takes 9 minutes',
      ]);
      const tampered = structuredClone(exported);
      tampered.entries[0]!.content = 'Use spaces';
      await expect(importContext(other, tampered, 'export.json')).rejects.toThrow(
        /export\.json: entries .* do not match their checksums; nothing was imported/,
      );
      await expect(importContext(other, { format: 'nope' }, 'bad.json')).rejects.toMatchObject({
        code: 'BATON_CONTEXT_IMPORT_INVALID',
      });
    } finally {
      await other.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});

describe('importing facts whose id is taken', () => {
  it('refuses before writing anything when an id belongs to another run, or twice to the file', async () => {
    await saveFinishedSession();
    await accumulator().add(
      [
        { type: 'decision', content: 'Use tabs', tags: [] },
        { type: 'finding', content: 'CI takes 9 minutes', tags: [], key: 'ci/duration' },
      ],
      { phaseId: 'p', sessionId: 's1' },
    );
    const exported = JSON.parse(JSON.stringify(await exportContext(temp.store, 'run-1', new Date(0)))) as ContextExport;
    const [unkeyed, keyed] = exported.entries;
    const otherDir = mkdtempSync(join(tmpdir(), 'baton-import-'));
    const other = openSqliteStore({ dataDir: otherDir });
    try {
      // Another run's fact under the same id as the export's unkeyed one.
      const foreign = { ...unkeyed!, runId: 'run-2', content: 'Run 2 keeps spaces' };
      await other.saveContextEntry({ ...foreign, checksum: contextChecksum(foreign) });
      await expect(importContext(other, exported, 'export.json')).rejects.toMatchObject({
        code: 'BATON_CONTEXT_IMPORT_INVALID',
        message: expect.stringMatching(
          new RegExp(`export\\.json: entries ${unkeyed!.id} have the id of another entry.*nothing was imported`),
        ),
      });
      expect(await other.getSession('s1')).toBeUndefined();
      expect((await other.listContextEntries({ runId: 'run-1' })).entries).toEqual([]);
      expect((await other.getContextEntry(unkeyed!.id))?.content).toBe('Run 2 keeps spaces');

      // The export's own unkeyed fact, edited (checksum recomputed, version raised) after it was imported.
      const mineDir = mkdtempSync(join(tmpdir(), 'baton-import-'));
      const mine = openSqliteStore({ dataDir: mineDir });
      try {
        await importContext(mine, exported, 'export.json');
        const edited = { ...unkeyed!, content: 'Use tabs, width 8', version: 5 };
        const newSession = { ...exported.sessions[0]!, id: 's2' };
        const changed = {
          ...exported,
          sessions: [newSession],
          entries: [{ ...edited, checksum: contextChecksum(edited) }, keyed!],
        };
        await expect(importContext(mine, changed, 'edited.json')).rejects.toThrow(
          /edited\.json: entries .* says something else.*nothing was imported/,
        );
        expect(await mine.getSession('s2')).toBeUndefined();
        expect((await mine.getContextEntry(unkeyed!.id))?.content).toBe('Use tabs');
      } finally {
        await mine.close();
        rmSync(mineDir, { recursive: true, force: true });
      }

      // Two entries of the file, of two runs, under one id (a hand-edited export), into an empty store.
      const clash = { ...unkeyed!, runId: 'run-3', content: 'Run 3 keeps tabs' };
      const twice = { ...exported, sessions: [], entries: [unkeyed!, { ...clash, checksum: contextChecksum(clash) }] };
      const emptyDir = mkdtempSync(join(tmpdir(), 'baton-import-'));
      const empty = openSqliteStore({ dataDir: emptyDir });
      try {
        await expect(importContext(empty, twice, 'twice.json')).rejects.toThrow(
          /twice\.json: entries .* nothing was imported/,
        );
        expect((await empty.listContextEntries({})).entries).toEqual([]);
      } finally {
        await empty.close();
        rmSync(emptyDir, { recursive: true, force: true });
      }
    } finally {
      await other.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});

describe('importing keyed facts', () => {
  it('never reverts a keyed fact to an older export, though the importing store counts its versions anew', async () => {
    const acc = accumulator();
    const save = (content: string) => acc.add([{ type: 'decision', key: 'db', content, tags: [] }], { phaseId: 'p' });
    await save('Use SQLite');
    await save('Use PostgreSQL');
    const older = JSON.parse(JSON.stringify(await exportContext(temp.store, 'run-1', new Date(0)))) as unknown;
    await save('Use MySQL');
    const newer = JSON.parse(JSON.stringify(await exportContext(temp.store, 'run-1', new Date(0)))) as unknown;
    const otherDir = mkdtempSync(join(tmpdir(), 'baton-import-'));
    const other = openSqliteStore({ dataDir: otherDir });
    try {
      expect(await importContext(other, newer, 'newer.json')).toMatchObject({ entries: 1, replaced: 2 });
      // The older export's current value and its replaced one are both older than what is there.
      expect(await importContext(other, older, 'older.json')).toMatchObject({ entries: 0, replaced: 0, unchanged: 2 });
      expect((await other.getContextEntryByKey('run-1', 'db'))?.content).toBe('Use MySQL');
      expect((await other.listReplacedContext('run-1')).entries.map((e) => e.content)).toEqual([
        'Use SQLite',
        'Use PostgreSQL',
      ]);
    } finally {
      await other.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});

describe('exporting the values keyed facts replaced', () => {
  const withOtherStore = async (use: (other: ReturnType<typeof openSqliteStore>) => Promise<void>) => {
    const otherDir = mkdtempSync(join(tmpdir(), 'baton-import-'));
    const other = openSqliteStore({ dataDir: otherDir });
    try {
      await use(other);
    } finally {
      await other.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
  };
  const revisedRun = async () => {
    const acc = accumulator();
    await acc.add([{ type: 'decision', key: 'db', content: 'Use PostgreSQL for the store.', tags: [] }], {
      phaseId: 'research',
      agentId: 'scout',
    });
    await acc.add([{ type: 'decision', key: 'db', content: 'Use SQLite for the store.', tags: [] }], {
      phaseId: 'build',
      agentId: 'b1',
    });
    return JSON.parse(JSON.stringify(await exportContext(temp.store, 'run-1', new Date(0)))) as ContextExport;
  };
  const seenBy = async (store: Store, phaseIds: string[]) => {
    const acc = new DynamicContextAccumulator({ store, runId: 'run-1', sizeLimitBytes: 50_000, clock });
    const selected = await acc.select({
      phaseIds,
      task: 'build the api on the store',
      budgetTokens: 2_000,
      mode: 'all',
    });
    return selected.entries.map((e) => [e.content, e.agentId, e.phaseId]);
  };

  it('an imported store gives an agent not inheriting the updater the value its phases wrote, as the source does', async () => {
    const exported = await revisedRun();
    expect(exported.replaced.map((e) => e.content)).toEqual(['Use PostgreSQL for the store.']);
    await withOtherStore(async (other) => {
      expect(await importContext(other, exported, 'export.json')).toEqual({
        entries: 1,
        replaced: 1,
        unchanged: 0,
        sessions: 0,
      });
      for (const phaseIds of [['research'], ['build'], ['research', 'build']])
        expect(await seenBy(other, phaseIds)).toEqual(await seenBy(temp.store, phaseIds));
      expect(await seenBy(other, ['research'])).toEqual([['Use PostgreSQL for the store.', 'scout', 'research']]);
      // Importing again changes nothing.
      expect(await importContext(other, exported, 'export.json')).toEqual({
        entries: 0,
        replaced: 0,
        unchanged: 2,
        sessions: 0,
      });
      expect((await other.listReplacedContext('run-1')).entries.map((e) => e.content)).toEqual([
        'Use PostgreSQL for the store.',
      ]);
    });
  });

  it('an export without replaced values (an older Baton) still imports; a tampered replaced value imports nothing', async () => {
    const exported = await revisedRun();
    const tampered = structuredClone(exported);
    tampered.replaced[0]!.content = 'Use MySQL for the store.';
    await withOtherStore(async (other) => {
      await expect(importContext(other, tampered, 'export.json')).rejects.toThrow(
        /export\.json: entries .* do not match their checksums; nothing was imported/,
      );
      expect((await other.listContextEntries({ runId: 'run-1' })).entries).toEqual([]);
      const { replaced: _, ...old } = exported;
      expect(await importContext(other, old, 'old.json')).toEqual({
        entries: 1,
        replaced: 0,
        unchanged: 0,
        sessions: 0,
      });
      expect(await seenBy(other, ['build'])).toEqual([['Use SQLite for the store.', 'b1', 'build']]);
    });
  });

  it("exporting every run carries each run's replaced values", async () => {
    await revisedRun();
    const all = await exportContext(temp.store, undefined, new Date(0));
    expect(all.replaced.map((e) => [e.runId, e.content])).toEqual([['run-1', 'Use PostgreSQL for the store.']]);
  });
});

describe('session lifecycle', () => {
  it('archives finished sessions past their expiry, then prunes them with their transcripts', async () => {
    const session = (id: string, status: 'completed' | 'active', expiresAt: number) => ({
      id,
      runId: 'r',
      agentId: id,
      status,
      createdAt: 1,
      updatedAt: 1,
      expiresAt,
    });
    await temp.store.saveSession(session('expired', 'completed', 100));
    await temp.store.saveSession(session('fresh', 'completed', 10_000));
    await temp.store.saveSession(session('running', 'active', 100));
    expect((await archiveSessions(temp.store, 500)).map((s) => s.id)).toEqual(['expired']);
    expect(await temp.store.getSession('expired')).toMatchObject({ status: 'archived', archivedAt: 500 });
    const deleted: string[] = [];
    expect(await pruneSessions(temp.store, 500, async (id) => void deleted.push(id))).toEqual(['expired']);
    expect(deleted).toEqual(['expired']);
    expect(await temp.store.getSession('expired')).toBeUndefined();
    expect((await temp.store.listSessions()).map((s) => s.id).sort()).toEqual(['fresh', 'running']);
  });
});
