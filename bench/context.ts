import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamicContextAccumulator, countTokens, renderContext, type ContextDraft } from '../src/context/index.js';
import { openSqliteStore, type Store } from '../src/store/index.js';
import { random, round, type BenchResult } from './harness.js';

const subjects = [
  'billing',
  'checkout',
  'search',
  'auth',
  'payments',
  'ledger',
  'webhooks',
  'reports',
  'cache',
  'queue',
  'mailer',
  'profile',
  'admin',
  'export',
  'import',
  'metrics',
];
const verbs = ['retries', 'validates', 'stores', 'streams', 'caches', 'signs', 'batches', 'logs', 'rejects', 'renders'];
const objects = ['requests', 'invoices', 'tokens', 'events', 'rows', 'files', 'sessions', 'emails', 'images', 'jobs'];
const types = ['decision', 'finding', 'file_changed', 'error', 'artifact'] as const;

function fact(next: () => number, i: number): ContextDraft {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  return {
    type: pick(types),
    content: `The ${pick(subjects)} service ${pick(verbs)} ${pick(objects)} with ${pick(objects)} (${i}).`,
    tags: [],
  };
}

async function seed(store: Store, runId: string, count: number, phases: string[]): Promise<void> {
  const next = random(count);
  const accumulator = new DynamicContextAccumulator({ store, runId, sizeLimitBytes: Number.MAX_SAFE_INTEGER });
  const batch = 500;
  for (let i = 0; i < count; i += batch) {
    const drafts = Array.from({ length: Math.min(batch, count - i) }, (_, j) => fact(next, i + j));
    await accumulator.add(drafts, { phaseId: phases[Math.floor(i / batch) % phases.length] });
  }
}

const percentile = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

/**
 * Filtered queries against one run of `size` entries: with the run's own accumulator (as the
 * orchestrator keeps one per run; its candidate sets are maintained on write, and an agent's result is
 * written every `WRITE_EVERY` queries), or a fresh accumulator per query (every query reads and
 * verifies its candidates from the store again).
 */
async function queryTimes(store: Store, size: number, queries: number, warm: boolean): Promise<number[]> {
  const phases = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8'];
  const open = (): DynamicContextAccumulator =>
    new DynamicContextAccumulator({ store, runId: 'bench', sizeLimitBytes: Number.MAX_SAFE_INTEGER });
  const runAccumulator = open();
  const next = random(7);
  const times: number[] = [];
  for (let q = 0; q < queries; q++) {
    if (warm && q > 0 && q % WRITE_EVERY === 0)
      await runAccumulator.add([fact(next, size + q)], { phaseId: 'p1', agentId: `writer-${q}` });
    const task = `How does the ${subjects[q % subjects.length]} service handle ${objects[Math.floor(next() * objects.length)]}?`;
    const accumulator = warm ? runAccumulator : open();
    const started = performance.now();
    await accumulator.select({ phaseIds: phases.slice(0, 6), task, mode: 'filtered', budgetTokens: 2000 });
    times.push(performance.now() - started);
  }
  return times;
}

/** An agent's result lands this often between queries of the run's accumulator. */
const WRITE_EVERY = 10;

/** p50/p99 of filtered context queries at 1 k, 10 k and 100 k entries. */
export async function contextQueryLatency(): Promise<BenchResult> {
  const sizes = (process.env.BENCH_CONTEXT_SIZES ?? '1000,10000,100000').split(',').map(Number);
  const queries = Number(process.env.BENCH_QUERIES ?? 200);
  const rows: BenchResult['rows'] = [];
  const metrics: BenchResult['metrics'] = {};
  for (const size of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'baton-bench-context-'));
    const store = openSqliteStore({ dataDir: dir });
    try {
      await seed(store, 'bench', size, ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8']);
      for (const warm of [true, false]) {
        const times = await queryTimes(store, size, warm ? queries : Math.min(queries, 30), warm);
        const [p50, p99] = [percentile(times, 50), percentile(times, 99)];
        const accumulator = warm ? 'run (maintained on write)' : 'fresh per query';
        rows.push({ entries: size, accumulator, queries: times.length, p50_ms: round(p50, 2), p99_ms: round(p99, 2) });
        const suffix = warm ? '' : '_fresh';
        metrics[`p50_ms_at_${size}${suffix}`] = round(p50, 2);
        metrics[`p99_ms_at_${size}${suffix}`] = round(p99, 2);
      }
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    name: 'context_query_latency',
    goal: "p50 well under 100 ms at 10 k entries with the run's accumulator; 100 k not seconds (docs/context.md)",
    rows,
    metrics,
  };
}

/**
 * Tokens injected per child agent with filtering versus naive full inheritance, on the same
 * accumulated context, and the share of the facts each child needs that it actually got.
 */
export async function tokenUsage(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-tokens-'));
  const store = openSqliteStore({ dataDir: dir });
  try {
    const accumulator = new DynamicContextAccumulator({
      store,
      runId: 'tokens',
      sizeLimitBytes: Number.MAX_SAFE_INTEGER,
    });
    const next = random(42);
    // Phase 1: 12 agents report 25 facts each; each of 8 topics has 3 facts a later child needs.
    const needed = new Map<string, string[]>(subjects.slice(0, 8).map((s) => [s, []]));
    for (let agent = 0; agent < 12; agent++) {
      const drafts = Array.from({ length: 25 }, (_, i) => fact(next, agent * 100 + i));
      await accumulator.add(drafts, { phaseId: 'survey', agentId: `surveyor-${agent}` });
    }
    for (const [subject, ids] of needed) {
      // Three different decisions per migration (not three versions of one: a newer version would supersede).
      const saved = await accumulator.add(
        [
          `The ${subject} migration copies rows in batches of 500.`,
          `The ${subject} migration runs in the maintenance window from 01:00 to 03:00 UTC.`,
          `Team ${subject}-core owns the ${subject} migration and its rollback.`,
        ].map((content) => ({ type: 'decision' as const, content, tags: [subject] })),
        { phaseId: 'survey', agentId: 'planner' },
      );
      ids.push(...saved.map((e) => e.id));
    }
    const rows: BenchResult['rows'] = [];
    let naiveTotal = 0;
    let filteredTotal = 0;
    let neededFound = 0;
    let neededAll = 0;
    for (const [subject, ids] of needed) {
      const task = `Carry out the ${subject} migration with the agreed batch size, window and owner.`;
      // Naive: every fact of the phase, rendered as the agent would see it.
      const everything = await store.listContextEntries({ runId: 'tokens', phaseIds: ['survey'], level: 0 });
      const naive = { tokens: countTokens(renderContext(everything.entries)) };
      const filtered = await accumulator.select({ phaseIds: ['survey'], task, mode: 'filtered', budgetTokens: 400 });
      const found = ids.filter((id) => filtered.entries.some((e) => e.id === id)).length;
      naiveTotal += naive.tokens;
      filteredTotal += filtered.tokens;
      neededFound += found;
      neededAll += ids.length;
      rows.push({
        child: subject,
        naive_tokens: naive.tokens,
        filtered_tokens: filtered.tokens,
        needed_facts_present: `${found}/${ids.length}`,
      });
    }
    return {
      name: 'token_usage',
      goal: 'far fewer tokens per child than full inheritance, every needed fact present',
      rows,
      metrics: {
        children: needed.size,
        naive_tokens_per_child: round(naiveTotal / needed.size, 0),
        filtered_tokens_per_child: round(filteredTotal / needed.size, 0),
        reduction: round(1 - filteredTotal / naiveTotal, 3),
        needed_facts_share: round(neededFound / neededAll, 3),
      },
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
