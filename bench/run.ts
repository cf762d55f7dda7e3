/**
 * `npm run bench [name ...]`: runs the named benchmarks (all by default), writes
 * bench/results/<name>.json and prints a table for each.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { batonStartup, orchestratorOverhead, parallelScaling } from './agents.js';
import { orchestratorRss, sessionPool } from './orchestration.js';
import { printTable, resultsDir, type BenchResult } from './harness.js';
import { BenchInputError } from './input-error.js';
import { contextQueryLatency, tokenUsage } from './context.js';
import { contextQuality } from './context-quality.js';
import { kgQueryLatency } from './knowledge.js';
import { mcpGateway, mcpLoadingTime } from './mcp.js';
import { bridgeFanout } from './bridge.js';
import { storeLatency } from './store.js';
import { permissionDecisions } from './permissions.js';
import { workerThroughput } from './workers.js';

const benchmarks: Record<string, () => Promise<BenchResult>> = {
  orchestrator_overhead: orchestratorOverhead,
  parallel_scaling: parallelScaling,
  baton_startup: batonStartup,
  session_pool: sessionPool,
  orchestrator_rss: orchestratorRss,
  mcp_loading_time: mcpLoadingTime,
  mcp_gateway: mcpGateway,
  context_query_latency: contextQueryLatency,
  token_usage: tokenUsage,
  context_quality: contextQuality,
  bridge_fanout: bridgeFanout,
  store_latency: storeLatency,
  kg_query_latency: kgQueryLatency,
  worker_throughput: workerThroughput,
  permission_decisions: permissionDecisions,
};

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !(name in benchmarks));
if (unknown.length > 0) {
  console.error(`Unknown benchmark(s): ${unknown.join(', ')}. Known: ${Object.keys(benchmarks).join(', ')}`);
  process.exit(2);
}

mkdirSync(resultsDir, { recursive: true });
for (const name of requested.length > 0 ? requested : Object.keys(benchmarks)) {
  const result = await benchmarks[name]!().catch((error: unknown) => {
    if (!(error instanceof BenchInputError)) throw error;
    console.error(`error: ${name}: ${error.message}`);
    process.exit(2);
  });
  const record = { ...result, at: new Date().toISOString(), node: process.version, cpus: cpus().length };
  writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(record, null, 2)}\n`);
  printTable(result);
}
