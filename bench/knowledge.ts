import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  answerQuestion,
  openSqliteKnowledgeGraph,
  type KnowledgeEntity,
  type KnowledgeGraph,
  type KnowledgeRelation,
} from '../src/knowledge/index.js';
import { random, round, type BenchResult } from './harness.js';

const areas = [
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
const topics = [
  'retries',
  'timeouts',
  'schema',
  'indexes',
  'caching',
  'logging',
  'rounding',
  'batching',
  'locking',
  'pagination',
];

/** Node counts of the synthetic graph: 10,000 in all, shaped like a large TypeScript monorepo with a few hundred agent sessions. */
const shape = { files: 6000, symbols: 2500, modules: 50, sessions: 250, decisions: 800, findings: 400 };

/**
 * Files import 3 earlier files, mostly near them and sometimes far down (shared utilities), so some
 * files have a handful of dependents and the oldest ones thousands; facts mention files and topics.
 */
function syntheticGraph(): { entities: KnowledgeEntity[]; relations: KnowledgeRelation[]; files: string[] } {
  const next = random(10_000);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const files = Array.from({ length: shape.files }, (_, i) => `src/${areas[i % areas.length]}/module-${i}.ts`);
  const entities: KnowledgeEntity[] = files.map((id) => ({
    id,
    kind: 'file',
    name: id.split('/').pop()!,
    properties: { source: 'repository' },
  }));
  const relations: KnowledgeRelation[] = [];
  for (let i = 1; i < files.length; i++) {
    for (let k = 0; k < 3; k++) {
      const distance = 1 + Math.floor(next() ** 3 * i);
      relations.push({ from: files[i]!, to: files[i - Math.min(i, distance)]!, kind: 'imports' });
    }
  }
  const symbols: string[] = [];
  for (let s = 0; s < shape.symbols; s++) {
    const file = files[Math.floor(next() * files.length)]!;
    const id = `${file}#symbol${s}`;
    entities.push({ id, kind: 'symbol', name: `symbol${s}`, properties: { file, declaration: 'function' } });
    relations.push({ from: file, to: id, kind: 'defines' });
    if (s > 0) relations.push({ from: id, to: pick(symbols), kind: 'calls' });
    symbols.push(id);
  }
  for (let m = 0; m < shape.modules; m++) {
    entities.push({ id: `module:pkg-${m}`, kind: 'module', name: `pkg-${m}`, properties: {} });
    for (let k = 0; k < 40; k++) relations.push({ from: pick(files), to: `module:pkg-${m}`, kind: 'imports' });
  }
  for (let s = 0; s < shape.sessions; s++) {
    const runId = `run-${s % 25}`;
    entities.push({
      id: `session:${s}`,
      kind: 'session',
      name: `agent-${s}`,
      properties: { runId, agentId: `agent-${s}` },
    });
    for (let k = 0; k < 4; k++)
      relations.push({
        from: `session:${s}`,
        to: pick(files),
        kind: 'touches',
        properties: { runId, via: 'file_changed' },
      });
  }
  const facts = [
    ...Array.from({ length: shape.decisions }, () => 'decision' as const),
    ...Array.from({ length: shape.findings }, () => 'finding' as const),
  ];
  facts.forEach((kind, f) => {
    const session = Math.floor(next() * shape.sessions);
    const file = pick(files);
    const text = `${kind === 'decision' ? 'Use' : 'Saw'} ${pick(topics)} for the ${pick(areas)} ${pick(topics)} in ${file}`;
    entities.push({
      id: `${kind}:${f}`,
      kind,
      name: text,
      properties: { text, runId: `run-${session % 25}`, createdAt: f },
    });
    relations.push({
      from: `${kind}:${f}`,
      to: `session:${session}`,
      kind: 'decided_by',
      properties: { runId: `run-${session % 25}` },
    });
    relations.push({ from: `${kind}:${f}`, to: file, kind: 'touches', properties: { via: 'mention' } });
  });
  return { entities, relations, files };
}

const percentile = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

/**
 * p50/p99 of the questions agents ask most, through `answerQuestion` (name resolution, the graph
 * query and the answer text; what `baton kg query` and the MCP tool run), on a 10 k-node SQLite graph.
 */
export async function kgQueryLatency(): Promise<BenchResult> {
  const queries = Number(process.env.BENCH_QUERIES ?? 200);
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-kg-'));
  const graph: KnowledgeGraph = openSqliteKnowledgeGraph({ dataDir: dir });
  try {
    const { entities, relations, files } = syntheticGraph();
    await graph.upsertEntities(entities);
    const stored = await graph.upsertRelations(relations);
    const next = random(7);
    const kinds: Array<{ key: string; name: string; question: (i: number) => string }> = [
      {
        key: 'impact',
        name: 'impact (transitive importers)',
        question: () => `what depends on ${files[Math.floor(next() * files.length)]}`,
      },
      {
        key: 'neighbours',
        name: 'neighbours (direct importers)',
        question: () => `who imports ${files[Math.floor(next() * files.length)]}`,
      },
      {
        key: 'decisions_topic',
        name: 'decisions about a topic',
        question: (i) => `what did agents decide about ${topics[i % topics.length]} in ${areas[i % areas.length]}`,
      },
      {
        key: 'decisions_file',
        name: 'decisions about a file',
        question: () => `what did agents decide about ${files[Math.floor(next() * files.length)]}`,
      },
      {
        key: 'files_changed',
        name: 'files changed in a run',
        question: (i) => `which files changed in run run-${i % 25}`,
      },
    ];
    const rows: BenchResult['rows'] = [];
    const metrics: BenchResult['metrics'] = { nodes: entities.length, relations: stored };
    let worstP99 = 0;
    for (const kind of kinds) {
      const times: number[] = [];
      let answered = 0;
      for (let q = 0; q < queries; q++) {
        const question = kind.question(q);
        const started = performance.now();
        const answer = await answerQuestion(graph, question);
        times.push(performance.now() - started);
        answered += answer.entities.length;
      }
      const p50 = percentile(times, 50);
      const p99 = percentile(times, 99);
      worstP99 = Math.max(worstP99, p99);
      rows.push({
        query: kind.name,
        queries,
        p50_ms: round(p50, 2),
        p99_ms: round(p99, 2),
        max_ms: round(Math.max(...times), 2),
        avg_entities: round(answered / queries, 1),
      });
      metrics[`p99_ms_${kind.key}`] = round(p99, 2);
    }
    metrics.worst_p99_ms = round(worstP99, 2);
    return { name: 'kg_query_latency', goal: 'p99 < 50 ms on a 10 k-node graph', rows, metrics };
  } finally {
    await graph.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
