import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyUsage, openRedisStore, openSqliteStore, type AgentRecord, type Store } from '../src/store/index.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { percentile, round, type BenchResult } from './harness.js';

const agentsPerRun = Number(process.env.BENCH_STORE_AGENTS ?? 200);
const contextEntries = Number(process.env.BENCH_STORE_ENTRIES ?? 5000);
const repetitions = Number(process.env.BENCH_STORE_REPETITIONS ?? 200);

const services = [
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
];
const actions = ['retries', 'validates', 'stores', 'streams', 'caches', 'signs', 'batches', 'rejects'];
const things = ['requests', 'invoices', 'tokens', 'events', 'rows', 'files', 'sessions', 'emails'];
/** The i-th fact: every service/action/thing combination in turn, so both stores get the same text. */
const factText = (i: number): string =>
  `The ${services[i % services.length]} service ${actions[(i >> 2) % actions.length]} ${things[(i >> 5) % things.length]} in batches of ${i % 97}.`;

const agent = (i: number): AgentRecord => ({
  runId: 'bench',
  phaseId: `phase-${i % 8}`,
  id: `agent-${i}`,
  sessionId: `session-${i}`,
  status: 'succeeded',
  prompt: `Review the ${services[i % services.length]} service`,
  systemPrompt: 'You are one agent of a Baton benchmark run.',
  output: { text: factText(i).repeat(20) },
  usage: { ...emptyUsage(), inputTokens: 1000 + i, outputTokens: 200 },
  costUsd: 0.01,
  turns: 3,
  attempts: 1,
  durationMs: 1200,
});

async function timeEach(count: number, operation: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await operation(i);
    times.push(performance.now() - started);
  }
  return times;
}

/** Latency of the calls a run makes most, on one store. */
async function measure(store: Store): Promise<Record<string, number[]>> {
  await store.saveRun({
    id: 'bench',
    workflowName: 'bench',
    tenant: 'default',
    workflow: {},
    status: 'running',
    createdAt: Date.now(),
  });
  const saveAgent = await timeEach(agentsPerRun, (i) => store.saveAgent(agent(i)));
  const listAgents = await timeEach(repetitions, () => store.listAgents('bench'));
  for (let i = 0; i < contextEntries; i++) {
    await store.saveContextEntry({
      id: `fact-${i}`,
      runId: 'bench',
      phaseId: `phase-${i % 8}`,
      type: 'finding',
      content: factText(i),
      tags: [],
      tokens: 15,
      level: 0,
      checksum: '',
      version: 0,
      createdAt: i,
      updatedAt: i,
    });
  }
  const searchContext = await timeEach(repetitions, (q) =>
    store.searchContext({
      runId: 'bench',
      text: `How does the ${services[q % services.length]} service handle ${things[q % things.length]}?`,
      phaseIds: ['phase-0', 'phase-1', 'phase-2', 'phase-3'],
      limit: 100,
    }),
  );
  return { saveAgent, listAgents, searchContext };
}

/** p50/p99 of saveAgent, listAgents (of a run with `agentsPerRun` agents) and searchContext, SQLite versus Redis on loopback. */
export async function storeLatency(): Promise<BenchResult> {
  const rows: BenchResult['rows'] = [];
  const metrics: BenchResult['metrics'] = {};
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-store-'));
  const server = await startRedisServer();
  try {
    const stores: Array<[string, () => Promise<Store>]> = [
      ['sqlite', async () => openSqliteStore({ dataDir: dir })],
      ['redis', () => openRedisStore({ url: server.url })],
    ];
    for (const [kind, open] of stores) {
      const store = await open();
      try {
        for (const [operation, times] of Object.entries(await measure(store))) {
          const p50 = round(percentile(times, 50), 3);
          const p99 = round(percentile(times, 99), 3);
          rows.push({ operation, store: kind, calls: times.length, p50_ms: p50, p99_ms: p99 });
          metrics[`${kind}_${operation}_p50_ms`] = p50;
          metrics[`${kind}_${operation}_p99_ms`] = p99;
        }
      } finally {
        await store.close();
      }
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    name: 'store_latency',
    goal: `Redis within a few loopback round trips of SQLite (${agentsPerRun} agents, ${contextEntries} context entries)`,
    rows,
    metrics,
  };
}
