import { join } from 'node:path';
import { batonBin, claudeBin, openLab, round, timeCommand, withConcurrency, type BenchResult, type Lab } from './harness.js';

const script = { rules: [], default: { text: 'done' } };
const prompts = (n: number): string[] => Array.from({ length: n }, (_, i) => `Benchmark task ${i + 1}: reply with one word.`);

function workflowYaml(tasks: string[]): string {
  const agents = tasks.map((p, i) => `      - { id: task${i + 1}, prompt: "${p}", cwd: work }`).join('\n');
  return `version: 1\nname: bench\nphases:\n  - id: all\n    agents:\n${agents}\n`;
}

/** `baton run` of the tasks at a given parallel_limit; wall time in ms, CLI start-up included. */
function batonRun(lab: Lab, tasks: string[], parallelLimit: number): Promise<number> {
  const workflow = lab.write(`bench-${tasks.length}.yaml`, workflowYaml(tasks));
  return timeCommand(process.execPath, [batonBin, 'run', workflow, '--json'], {
    env: { ...lab.env, BATON_PARALLEL_LIMIT: String(parallelLimit) },
    cwd: lab.dir,
  });
}

/** The same tasks as plain `claude -p` processes, at most `concurrency` at once. */
async function rawClaude(lab: Lab, tasks: string[], concurrency: number): Promise<number> {
  const started = performance.now();
  await withConcurrency(
    concurrency,
    tasks.map((prompt) => () => timeCommand(claudeBin, ['-p', prompt, '--output-format', 'json'], { env: lab.env, cwd: join(lab.dir, 'work') })),
  );
  return performance.now() - started;
}

/**
 * Orchestrator overhead: N agents one at a time through `baton run` vs the same prompts through raw
 * `claude -p`, same scripted model. Also splits Baton's cost into its fixed start-up (one `baton run`
 * of a single agent) and its steady-state cost per agent.
 */
export async function orchestratorOverhead(): Promise<BenchResult> {
  const n = Number(process.env.BENCH_AGENTS ?? 8);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const lab = await openLab(script);
  try {
    const tasks = prompts(n);
    await rawClaude(lab, tasks.slice(0, 1), 1); // warm the binary's page cache before timing either side
    const raw: number[] = [];
    const baton: number[] = [];
    const batonSingle: number[] = [];
    for (let r = 0; r < rounds; r++) {
      raw.push(await rawClaude(lab, tasks, 1));
      baton.push(await batonRun(lab, tasks, 1));
      batonSingle.push(await batonRun(lab, tasks.slice(0, 1), 1));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const rawMs = median(raw);
    const batonMs = median(baton);
    const perAgentBaton = (batonMs - median(batonSingle)) / (n - 1);
    const perAgentRaw = rawMs / n;
    return {
      name: 'orchestrator_overhead',
      goal: 'baton / raw ≤ 1.03',
      rows: [
        { runner: 'raw claude -p', agents: n, median_ms: round(rawMs, 0), per_agent_ms: round(perAgentRaw, 0) },
        { runner: 'baton run', agents: n, median_ms: round(batonMs, 0), per_agent_ms: round(perAgentBaton, 0) },
      ],
      metrics: {
        agents: n,
        rounds,
        ratio: round(batonMs / rawMs, 3),
        steady_state_ratio: round(perAgentBaton / perAgentRaw, 3),
        startup_ms: round(median(batonSingle) - perAgentBaton, 0),
      },
    };
  } finally {
    await lab.close();
  }
}

/** Parallel throughput: agents per second at parallel_limit 1, 2, 4, against raw claude at the same concurrency. */
export async function parallelThroughput(): Promise<BenchResult> {
  const n = Number(process.env.BENCH_AGENTS ?? 8);
  const lab = await openLab(script);
  try {
    const tasks = prompts(n);
    const rows: BenchResult['rows'] = [];
    const metrics: BenchResult['metrics'] = { agents: n };
    for (const limit of [1, 2, 4]) {
      const rawMs = await rawClaude(lab, tasks, limit);
      const batonMs = await batonRun(lab, tasks, limit);
      const batonRate = n / (batonMs / 1000);
      const rawRate = n / (rawMs / 1000);
      rows.push({ parallel_limit: limit, baton_agents_per_s: round(batonRate), raw_agents_per_s: round(rawRate), baton_vs_raw: `${round((batonRate / rawRate) * 100, 0)}%` });
      metrics[`baton_agents_per_s_at_${limit}`] = round(batonRate);
      metrics[`raw_agents_per_s_at_${limit}`] = round(rawRate);
    }
    return { name: 'parallel_throughput', goal: 'scales with parallel_limit; close to raw claude at equal concurrency', rows, metrics };
  } finally {
    await lab.close();
  }
}
