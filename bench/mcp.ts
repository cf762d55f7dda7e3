import { join } from 'node:path';
import { buildCatalog, McpManager, type McpServerEntry } from '../src/mcp/index.js';
import { root, round, type BenchResult } from './harness.js';

const node = (script: string, ...args: string[]): McpServerEntry => ({
  command: process.execPath,
  args: [join(root, script), ...args],
});

/** Three real servers from npm and two of ours that take 300 ms to start. */
const servers: Record<string, McpServerEntry> = {
  memory: node('node_modules/@modelcontextprotocol/server-memory/dist/index.js'),
  filesystem: node('node_modules/@modelcontextprotocol/server-filesystem/dist/index.js', root),
  everything: node('node_modules/@modelcontextprotocol/server-everything/dist/index.js'),
  slow1: node('test/fixtures/fault-mcp-server.mjs', '--start-delay', '300'),
  slow2: node('test/fixtures/fault-mcp-server.mjs', '--start-delay', '300'),
};

const fresh = () =>
  new McpManager({ catalog: buildCatalog({ workflow: servers }), env: process.env, timeoutMs: 10_000 });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Preflight of 5 cold stdio servers in parallel, against the slowest one started alone; then a warm (cached) check. */
export async function mcpLoadingTime(): Promise<BenchResult> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const names = Object.keys(servers);
  const alone: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const together: number[] = [];
  const warm: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      const [health] = await fresh().check([name]);
      if (health!.status !== 'up') throw new Error(`${name} is down: ${health!.error?.message}`);
      alone[name]!.push(health!.latencyMs);
    }
    const manager = fresh();
    const started = performance.now();
    const health = await manager.check(names);
    together.push(performance.now() - started);
    if (health.some((h) => h.status !== 'up')) throw new Error('a server was down in the parallel preflight');
    const warmStarted = performance.now();
    await manager.check(names);
    warm.push(performance.now() - warmStarted);
  }
  const slowestAlone = Math.max(...names.map((n) => median(alone[n]!)));
  const all = median(together);
  return {
    name: 'mcp_loading_time',
    goal: 'all 5 ≤ 1.2 × slowest alone, < 2000 ms; warm ≤ 10 ms',
    rows: [
      ...names.map((n) => ({ preflight: `${n} alone (cold)`, median_ms: round(median(alone[n]!), 0) })),
      { preflight: 'all 5 in parallel (cold)', median_ms: round(all, 0) },
      { preflight: 'all 5 again (cached)', median_ms: round(median(warm), 3) },
    ],
    metrics: {
      rounds,
      slowest_alone_ms: round(slowestAlone, 0),
      all_parallel_ms: round(all, 0),
      ratio: round(all / slowestAlone, 2),
      warm_ms: round(median(warm), 3),
    },
  };
}
