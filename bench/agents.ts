import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import {
  batonBin,
  childrenCpuSeconds,
  claudeBin,
  openLab,
  percentile,
  round,
  timeCommand,
  withConcurrency,
  type BenchResult,
  type Lab,
} from './harness.js';

const script = { rules: [], default: { text: 'done' } };
const prompts = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `Benchmark task ${i + 1}: reply with one word.`);

function workflowYaml(tasks: string[]): string {
  const agents = tasks.map((p, i) => `      - { id: task${i + 1}, prompt: "${p}", cwd: work }`).join('\n');
  return `version: 1\nname: bench\nphases:\n  - id: all\n    agents:\n${agents}\n`;
}

/** `baton run` of the tasks at a given parallel_limit; wall time in ms, CLI start-up included. */
function batonRun(lab: Lab, tasks: string[], parallelLimit: number, env: NodeJS.ProcessEnv = {}): Promise<number> {
  const workflow = lab.write(`bench-${tasks.length}.yaml`, workflowYaml(tasks));
  return timeCommand(process.execPath, [batonBin, 'run', workflow, '--json'], {
    env: { ...lab.env, BATON_PARALLEL_LIMIT: String(parallelLimit), ...env },
    cwd: lab.dir,
  });
}

/**
 * A `claude_path` (a `sh` script that then runs the real `claude`) noting, as Baton starts its first
 * `claude`, how long after the start of `baton run` that is and the CPU time Baton (its parent) had
 * used by then: the start-up it adds before an agent can work, its CPU far less moved by other work
 * on the machine than wall times are. Linux (/proc); NaN elsewhere.
 */
function firstSpawnRecorder(lab: Lab) {
  const log = join(lab.dir, 'first-spawn.log');
  const script = `#!/bin/sh\necho "$(date +%s%N) $(cut -d' ' -f14,15 /proc/$PPID/stat)" >> '${log}'\nexec '${claudeBin}' "$@"\n`;
  const wrapper = lab.write('claude-first-spawn.sh', script);
  chmodSync(wrapper, 0o755);
  return {
    env: { BATON_CLAUDE_PATH: wrapper },
    /** Around one `baton run`: forgets the last one's spawns, runs it, reads its first. */
    async measure(run: () => Promise<number>): Promise<{ ms: number; spawnMs: number; cpuMsBeforeSpawn: number }> {
      rmSync(log, { force: true });
      const started = Date.now();
      const ms = await run();
      const [ns, utime, stime] = (readFileSync(log, 'utf8').split('\n')[0] ?? '').split(' ');
      // /proc's CPU times are in ticks of 10 ms.
      return {
        ms,
        spawnMs: Number(BigInt(ns ?? 'NaN') / 1_000_000n) - started,
        cpuMsBeforeSpawn: (Number(utime) + Number(stime)) * 10,
      };
    },
  };
}

/** The same tasks as plain `claude -p` processes, at most `concurrency` at once. */
async function rawClaude(lab: Lab, tasks: string[], concurrency: number): Promise<number> {
  const started = performance.now();
  await withConcurrency(
    concurrency,
    tasks.map(
      (prompt) => () =>
        timeCommand(claudeBin, ['-p', prompt, '--output-format', 'json'], { env: lab.env, cwd: join(lab.dir, 'work') }),
    ),
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
        // One agent, start to end, against one raw `claude -p`: the fixed cost a user feels.
        single_agent_ratio: round(median(batonSingle) / perAgentRaw, 2),
      },
    };
  } finally {
    await lab.close();
  }
}

/** Wall time and CPU-seconds (the command and its children, `claude` included) of one measurement. */
async function withCpu(measure: () => Promise<number>): Promise<{ ms: number; cpuS: number }> {
  const before = childrenCpuSeconds();
  const ms = await measure();
  return { ms, cpuS: childrenCpuSeconds() - before };
}

/**
 * Start-up, side by side: `baton run` of 1 agent against one raw `claude -p`, and of 4 agents at
 * parallel_limit 4 against 4 raw `claude -p` at once, same scripted model. Each round alternates
 * which side goes first; medians count. The 1-agent `baton run` starts `claude` through
 * `firstSpawnRecorder`'s script (≈ 1 ms of `sh` more than raw), which times its start-up.
 */
export async function batonStartup(): Promise<BenchResult> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const lab = await openLab(script);
  try {
    const tasks = prompts(4);
    await rawClaude(lab, tasks.slice(0, 1), 1); // warm the binary's page cache before timing either side
    type Measured = { ms: number; cpuS: number };
    const recorder = firstSpawnRecorder(lab);
    const firstSpawns: Array<{ spawnMs: number; cpuMsBeforeSpawn: number }> = [];
    const batonOne = async () => {
      const { ms, ...spawned } = await recorder.measure(() => batonRun(lab, tasks.slice(0, 1), 1, recorder.env));
      firstSpawns.push(spawned);
      return ms;
    };
    const times = {
      raw1: [] as Measured[],
      baton1: [] as Measured[],
      raw4: [] as Measured[],
      baton4: [] as Measured[],
    };
    const metrics: BenchResult['metrics'] = { rounds, load_1m_before: round(loadavg()[0]!) };
    for (let r = 0; r < rounds; r++) {
      const pairs: Array<[Measured[], () => Promise<number>]> = [
        [times.raw1, () => rawClaude(lab, tasks.slice(0, 1), 1)],
        [times.baton1, batonOne],
        [times.raw4, () => rawClaude(lab, tasks, 4)],
        [times.baton4, () => batonRun(lab, tasks, 4)],
      ];
      for (const [into, measure] of r % 2 === 0 ? pairs : [pairs[1]!, pairs[0]!, pairs[3]!, pairs[2]!])
        into.push(await withCpu(measure));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const rows = ([1, 4] as const).map((n) => {
      const [raw, baton] = n === 1 ? [times.raw1, times.baton1] : [times.raw4, times.baton4];
      const [rawMs, batonMs] = [median(raw.map((m) => m.ms)), median(baton.map((m) => m.ms))];
      metrics[`ratio_${n}`] = round(batonMs / rawMs, 2);
      return {
        agents: n,
        raw_median_ms: round(rawMs, 0),
        baton_median_ms: round(batonMs, 0),
        ratio: round(batonMs / rawMs, 2),
        // The command's CPU-seconds, claude included: what Baton adds, with less of the machine's other work in it.
        raw_cpu_s: round(median(raw.map((m) => m.cpuS)), 2),
        baton_cpu_s: round(median(baton.map((m) => m.cpuS)), 2),
      };
    });
    // 1 agent: when `claude` starts after `baton run` does, and Baton's CPU by then (see firstSpawnRecorder).
    metrics.first_spawn_ms = round(median(firstSpawns.map((s) => s.spawnMs)), 0);
    metrics.baton_cpu_ms_before_first_spawn = round(median(firstSpawns.map((s) => s.cpuMsBeforeSpawn)), 0);
    metrics.load_1m_after = round(loadavg()[0]!);
    return { name: 'baton_startup', goal: 'baton / raw ≤ 1.2 with 1 agent, ≤ 1.1 with 4 in parallel', rows, metrics };
  } finally {
    await lab.close();
  }
}

/**
 * Parallel scaling: agents per second at parallel_limit 1, 2, 4 and 8 through `baton run` (default
 * config, session pool included) against raw `claude -p` processes at the same concurrency, same
 * scripted model. Each side is timed BENCH_ROUNDS times, alternating which goes first; the best run
 * of each counts (other work on the machine only ever slows a run down). CPU-seconds per agent
 * (median of the rounds) say what each side costs the machine: on a shared machine they move far less
 * with other work than the rates do, and where every CPU is busy they decide the rate.
 */
export async function parallelScaling(): Promise<BenchResult> {
  const n = Number(process.env.BENCH_AGENTS ?? 16);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  const lab = await openLab(script);
  try {
    const tasks = prompts(n);
    await rawClaude(lab, tasks.slice(0, 1), 1); // warm the binary's page cache before timing either side
    const rows: BenchResult['rows'] = [];
    // Other work on the machine skews the comparison; the load averages say how much there was.
    const metrics: BenchResult['metrics'] = { agents: n, rounds, load_1m_before: round(loadavg()[0]!) };
    for (const limit of [1, 2, 4, 8]) {
      const raw: Array<{ ms: number; cpuS: number }> = [];
      const baton: Array<{ ms: number; cpuS: number }> = [];
      for (let r = 0; r < rounds; r++) {
        if (r % 2 === 0) raw.push(await withCpu(() => rawClaude(lab, tasks, limit)));
        baton.push(await withCpu(() => batonRun(lab, tasks, limit)));
        if (r % 2 === 1) raw.push(await withCpu(() => rawClaude(lab, tasks, limit)));
      }
      const batonRate = n / (Math.min(...baton.map((m) => m.ms)) / 1000);
      const rawRate = n / (Math.min(...raw.map((m) => m.ms)) / 1000);
      const ratio = batonRate / rawRate;
      const batonCpu = percentile(
        baton.map((m) => m.cpuS / n),
        50,
      );
      const rawCpu = percentile(
        raw.map((m) => m.cpuS / n),
        50,
      );
      rows.push({
        parallel_limit: limit,
        baton_agents_per_s: round(batonRate),
        raw_agents_per_s: round(rawRate),
        baton_vs_raw: `${round(ratio * 100, 0)}%`,
        baton_cpu_s_per_agent: round(batonCpu, 3),
        raw_cpu_s_per_agent: round(rawCpu, 3),
      });
      metrics[`baton_agents_per_s_at_${limit}`] = round(batonRate);
      metrics[`raw_agents_per_s_at_${limit}`] = round(rawRate);
      metrics[`ratio_at_${limit}`] = round(ratio, 3);
      metrics[`cpu_ratio_at_${limit}`] = round(batonCpu / rawCpu, 3);
    }
    metrics.min_ratio = Math.min(...[1, 2, 4, 8].map((l) => metrics[`ratio_at_${l}`]!));
    metrics.load_1m_after = round(loadavg()[0]!);
    return { name: 'parallel_scaling', goal: 'baton ≥ 95 % of raw claude -p at equal concurrency', rows, metrics };
  } finally {
    await lab.close();
  }
}
