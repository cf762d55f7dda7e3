import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import { DynamicContextAccumulator, type SelectionRequest } from './accumulator.js';
import { extractContext } from './extract.js';
import { renderContext } from './prompt.js';
import { countTokens } from './tokens.js';

const temp = useTempStore('baton-history-');
let now = 1_000;
const clock = { now: () => now++ };

/** Design decides, review revises one decision in other words and updates a keyed one; build inherits both. */
async function recorded(showSuperseded: boolean): Promise<DynamicContextAccumulator> {
  const acc = new DynamicContextAccumulator({
    store: temp.store,
    runId: 'r',
    sizeLimitBytes: 1_000_000,
    clock,
    ...(showSuperseded ? { showSuperseded } : {}),
  });
  await acc.add(
    extractContext({
      text: [
        'Decision: Sessions now end after 20 minutes idle.',
        'Decision[db]: the store is PostgreSQL 16',
        'Finding: Orders grow by 2 GB a year.',
      ].join('\n'),
    }),
    { agentId: 'backend', phaseId: 'design', sessionId: 'backend/design' },
  );
  await acc.add(
    extractContext({
      text: [
        'Decision: Idle timeout raised to 45 minutes after user complaints.',
        'Decision[db]: the store is SQLite; PostgreSQL is too much to run for 2 GB',
      ].join('\n'),
    }),
    { agentId: 'lead', phaseId: 'review', sessionId: 'lead/review' },
  );
  return acc;
}

const request = (mode: SelectionRequest['mode'], phaseIds = ['design', 'review']): SelectionRequest => ({
  phaseIds,
  task: 'Implement the idle session timeout and the store.',
  mode,
  budgetTokens: 2000,
});

describe('context.superseded: show', () => {
  it.each(['filtered', 'all'] as const)(
    '%s: a replaced decision is quoted on its replacement’s line, never alone, and counted',
    async (mode) => {
      const acc = await recorded(true);
      const selected = await acc.select(request(mode));
      const text = renderContext(selected.entries);
      expect(text).toContain(
        '- [decision] Idle timeout raised to 45 minutes after user complaints. (replacing "Sessions now end after 20 minutes idle." (agent backend))',
      );
      expect(text).toContain(
        '- [decision] the store is SQLite; PostgreSQL is too much to run for 2 GB (replacing "the store is PostgreSQL 16" (agent backend))',
      );
      // The replaced decision is not a line of its own.
      expect(text.match(/20 minutes idle/g)).toHaveLength(1);
      expect(text).not.toMatch(/^- \[decision\] Sessions now end/m);
      expect(selected.tokens).toBe(countTokens(text));
    },
  );

  it('by default a replaced decision is given to no agent', async () => {
    const acc = await recorded(false);
    const text = renderContext((await acc.select(request('filtered'))).entries);
    expect(text).toMatch(/^- \[decision\] Idle timeout raised to 45 minutes after user complaints\.$/m);
    expect(text).not.toContain('20 minutes idle');
    expect(text).not.toContain('replacing');
    expect(text).not.toContain('PostgreSQL 16');
  });

  it('an agent that does not inherit the reviser gets the value its phases wrote, with no history', async () => {
    const acc = await recorded(true);
    const text = renderContext((await acc.select(request('filtered', ['design']))).entries);
    expect(text).toMatch(/^- \[decision\] the store is PostgreSQL 16$/m);
    expect(text).toContain('Sessions now end after 20 minutes idle.');
    expect(text).not.toContain('replacing');
  });
});

describe('context.superseded: show, beyond one revision', () => {
  const accumulator = () =>
    new DynamicContextAccumulator({
      store: temp.store,
      runId: 'r',
      sizeLimitBytes: 1_000_000,
      clock,
      showSuperseded: true,
    });
  const add = (acc: DynamicContextAccumulator, agentId: string, phaseId: string, ...lines: string[]) =>
    acc.add(extractContext({ text: lines.join('\n') }), { agentId, phaseId, sessionId: `${agentId}/${phaseId}` });

  it('a chain of three revisions: the newest quotes both older ones, oldest first', async () => {
    const acc = accumulator();
    await add(acc, 'a', 'p1', 'Decision: Sessions end after 20 minutes idle.');
    await add(acc, 'b', 'p2', 'Decision: Idle timeout raised to 45 minutes after user complaints.');
    await add(acc, 'c', 'p3', 'Decision: Idle timeout lowered to 30 minutes after the security review.');
    for (const mode of ['filtered', 'all'] as const) {
      const selected = await acc.select({ ...request(mode, ['p1', 'p2', 'p3']), task: 'Implement the idle timeout.' });
      const text = renderContext(selected.entries);
      expect(text).toBe(
        [
          '## Context from earlier agents',
          '### From agent c, phase p3',
          '- [decision] Idle timeout lowered to 30 minutes after the security review. (replacing "Sessions end after 20 minutes idle." (agent a); "Idle timeout raised to 45 minutes after user complaints." (agent b))',
        ].join('\n'),
      );
      expect(Object.keys(selected.superseded ?? {})).toHaveLength(2);
    }
  });

  it("quotes what a judge replaced in its phase's agents' order, whichever of them finished first", async () => {
    const texts = new Set<string>();
    for (const order of [
      ['writer-2', 'writer-10'],
      ['writer-10', 'writer-2'],
    ]) {
      const acc = new DynamicContextAccumulator({
        store: temp.store,
        runId: `judged-${order.join('-')}`,
        sizeLimitBytes: 1_000_000,
        clock,
        showSuperseded: true,
      });
      for (const agentId of order)
        await add(acc, agentId, 'p1', `Decision: The export format is ${agentId === 'writer-2' ? 'CSV' : 'Parquet'}.`);
      await acc.add(
        extractContext({ text: 'Decision: The export format is Avro.' }).map((d) => ({ ...d, tags: ['baton:judge'] })),
        { agentId: 'p1.judge', phaseId: 'p1', sessionId: `${order[0]}/judge` },
      );
      const selected = await acc.select({ ...request('all', ['p1']), task: 'Write the exporter.' });
      texts.add(renderContext(selected.entries));
    }
    expect([...texts]).toEqual([
      [
        '## Context from earlier agents',
        '### From agent p1.judge, phase p1',
        '- [decision] The export format is Avro. (replacing "The export format is CSV." (agent writer-2); "The export format is Parquet." (agent writer-10))',
      ].join('\n'),
    ]);
  });

  it.each(['filtered', 'all'] as const)(
    '%s: one decision said twice by two agents is one line, not a replacement, and not listed as superseded',
    async (mode) => {
      const acc = accumulator();
      await add(
        acc,
        'a',
        'p1',
        'Decision: Use PostgreSQL 16 for the orders store.',
        'Finding: The billing cron runs nightly.',
      );
      await add(acc, 'b', 'p1', 'Decision: The orders store will use PostgreSQL 16.');
      const selected = await acc.select({ ...request(mode, ['p1']), task: 'Set up the orders store database.' });
      const text = renderContext(selected.entries);
      expect(text.match(/PostgreSQL 16/g)).toHaveLength(1);
      expect(text).not.toContain('replacing');
      expect(selected.superseded).toBeUndefined();
    },
  );
});

describe('context.superseded: show, in a small budget', () => {
  it('gives a replacement without its quote when the quote does not fit: never less than `omit` gives', async () => {
    const acc = await recorded(true);
    // `omit` gives the idle timeout at 30 tokens and both current decisions at 60 (see the test's output below).
    for (const [budgetTokens, current] of [
      [30, ['Idle timeout raised to 45 minutes after user complaints.']],
      [60, ['Idle timeout raised to 45 minutes after user complaints.', 'the store is SQLite; PostgreSQL is too much']],
    ] as const) {
      const selected = await acc.select({ ...request('filtered'), budgetTokens });
      const text = renderContext(selected.entries);
      expect(selected.tokens).toBe(countTokens(text));
      expect(selected.tokens).toBeLessThanOrEqual(budgetTokens);
      for (const decision of current) expect(text).toContain(decision);
      // The old values are never on a line of their own.
      expect(text).not.toMatch(/^- \[decision\] Sessions now end/m);
      expect(text).not.toMatch(/^- \[decision\] the store is PostgreSQL 16/m);
    }
  });
});

describe('context.superseded: show, keyed and unkeyed mixed', () => {
  it('an unkeyed revision of a keyed decision quotes the keyed one’s earlier values too, oldest first', async () => {
    const acc = new DynamicContextAccumulator({
      store: temp.store,
      runId: 'r',
      sizeLimitBytes: 1_000_000,
      clock,
      showSuperseded: true,
    });
    const add = (agentId: string, phaseId: string, text: string) =>
      acc.add(extractContext({ text }), { agentId, phaseId, sessionId: `${agentId}/${phaseId}` });
    await add('a', 'p1', 'Decision[db]: the store is PostgreSQL 14');
    await add('b', 'p2', 'Decision[db]: the store is PostgreSQL 15');
    await add('c', 'p3', 'Decision: the store is PostgreSQL 16 instead of 15, after the upgrade review');
    const selected = await acc.select({ ...request('filtered', ['p1', 'p2', 'p3']), task: 'Set up the store.' });
    expect(renderContext(selected.entries)).toContain(
      '- [decision] the store is PostgreSQL 16 instead of 15, after the upgrade review (replacing "the store is PostgreSQL 14" (agent a); "the store is PostgreSQL 15" (agent b))',
    );
  });
});

describe('context.superseded: show, with summaries', () => {
  it('a summary is of the current decisions only, whichever mode asked for it first', async () => {
    for (const order of [
      ['all', 'summary'],
      ['summary', 'all'],
    ] as const) {
      const acc = new DynamicContextAccumulator({
        store: temp.store,
        runId: `summaries-${order[0]}`,
        sizeLimitBytes: 300,
        clock,
        showSuperseded: true,
      });
      const add = (agentId: string, phaseId: string, ...lines: string[]) =>
        acc.add(extractContext({ text: lines.join('\n') }), { agentId, phaseId, sessionId: `${agentId}/${phaseId}` });
      await add(
        'backend',
        'design',
        'Decision[db]: the store is PostgreSQL 16',
        ...Array.from({ length: 8 }, (_, i) => `Finding: Module m${i} has ${i} lint warnings about spacing.`),
      );
      await add('lead', 'review', 'Decision[db]: the store is SQLite; PostgreSQL is too much to run');
      for (const mode of order) {
        const text = renderContext((await acc.select(request(mode))).entries);
        expect(text).toMatch(/summary\]/);
        expect(text).toContain('the store is SQLite');
        expect([mode, text.includes('PostgreSQL 16')]).toEqual([mode, false]);
      }
    }
  });
});

describe('context.superseded: show, in a small context', () => {
  it('a context given whole without quotes is given whole with them: quoting never turns it into a filtered one', async () => {
    const acc = new DynamicContextAccumulator({
      store: temp.store,
      runId: 'small-whole',
      sizeLimitBytes: 1_000_000,
      clock,
      showSuperseded: true,
    });
    const plain = new DynamicContextAccumulator({
      store: temp.store,
      runId: 'small-plain',
      sizeLimitBytes: 1e6,
      clock,
    });
    for (const a of [acc, plain]) {
      await a.add(
        extractContext({
          text: [
            'Decision: Sessions now end after 20 minutes idle, measured from the last request the browser sent.',
            'Finding: The release notes are written in docs/releases/ as one Markdown file per version.',
            'Finding: Support tickets about logouts mostly come from users of the mobile web checkout.',
            'Finding: The staging cluster is shared with the data team and is reset every Sunday night.',
            'Finding: Feature flags are served by Unleash and rolled out by percentage of accounts per region.',
            'Finding: The carts table keeps abandoned carts for thirty days before a nightly purge job.',
            'Finding: Translations live in messages/<locale>.json and go through next-intl at build time.',
            'Finding: Metrics are scraped by Prometheus every 30 seconds.',
          ].join('\n'),
        }),
        { agentId: 'backend', phaseId: 'design', sessionId: 'backend/design' },
      );
      await a.add(
        extractContext({
          text: 'Decision: Idle timeout raised to 45 minutes after user complaints about losing their carts at checkout.',
        }),
        { agentId: 'lead', phaseId: 'review', sessionId: 'lead/review' },
      );
    }
    const omitted = await plain.select(request('filtered'));
    const shown = await acc.select(request('filtered'));
    // Given whole without quotes (under smallContextTokens), and over it with them.
    expect(omitted.entries).toHaveLength(8);
    expect(omitted.tokens).toBeLessThanOrEqual(200);
    expect(shown.entries).toHaveLength(8);
    expect(shown.tokens).toBeGreaterThan(200);
    const text = renderContext(shown.entries);
    expect(text).toContain('The staging cluster is shared with the data team');
    expect(text).toContain('(replacing "Sessions now end after 20 minutes idle');
    expect(shown.tokens).toBe(countTokens(text));
    expect(shown.tokens).toBeLessThanOrEqual(2000);
  });
});
