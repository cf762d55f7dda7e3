import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AGENT_QUEUE } from '../src/queue/index.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { processesWithEnv } from '../test/support/processes.js';
import { batonBin, openLab, percentile, round, type BenchResult, type Lab } from './harness.js';

/** Agents per run: a swarm of trivial agents, one model turn each. */
const agents = Number(process.env.BENCH_WORKER_AGENTS ?? 24);
/** `baton worker --concurrency`: 2 per worker, the default `worker_concurrency`. */
const concurrency = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 2);
const workerCounts = (process.env.BENCH_WORKER_COUNTS ?? '1,2,3').split(',').map(Number);
/** Saturated runs per worker count; the median by throughput is reported (of an even number, the faster middle one). */
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

const script = { rules: [], default: { text: 'done' } };
const idleWindowMs = 10_000;
const ticksPerSecond = 100; // USER_HZ on Linux

function workflowYaml(name: string): string {
  return `version: 1\nname: ${name}\nphases:\n  - { id: all, agents: [{ id: task, count: ${agents}, prompt: "Worker benchmark task {{index}}: reply with one word.", cwd: work }] }\n`;
}

interface Worker {
  child: ChildProcess;
  stderr(): string;
}

/** `baton worker --concurrency N` as users start it (the built CLI); resolves once it says it is ready. */
async function startWorker(env: NodeJS.ProcessEnv, cwd: string): Promise<Worker> {
  const child = spawn(process.execPath, [batonBin, 'worker', '--concurrency', String(concurrency)], {
    env,
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`baton worker not ready after 30 s:\n${stderr.slice(-1000)}`)),
      30_000,
    );
    child.once('exit', (code) => reject(new Error(`baton worker exited ${code}:\n${stderr.slice(-1000)}`)));
    const check = setInterval(() => {
      if (!stderr.includes('ready')) return;
      clearInterval(check);
      clearTimeout(timer);
      resolve();
    }, 50);
  });
  return { child, stderr: () => stderr };
}

async function stopWorker(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const exited = new Promise((resolve) => worker.child.once('exit', resolve));
  worker.child.kill('SIGTERM');
  await exited;
}

/** utime+stime of a process itself, and of its waited-for children (the agents it ran), in seconds. */
function cpuSeconds(pid: number): { self: number; children: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // After "pid (comm) ": state is field 0, utime 11, stime 12, cutime 13, cstime 14.
  const at = (i: number) => Number(fields[i]) / ticksPerSecond;
  return { self: at(11) + at(12), children: at(13) + at(14) };
}

/** Peak resident and proportional memory of every process carrying `marker` in its environment, by pid. */
class MemorySampler {
  readonly peaks = new Map<number, { comm: string; rssMb: number; pssMb: number }>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly marker: string) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), 250);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    for (const pid of processesWithEnv(this.marker)) {
      try {
        const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
        const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
        const peak = this.peaks.get(pid) ?? { comm, rssMb: 0, pssMb: 0 };
        this.peaks.set(pid, {
          comm,
          rssMb: Math.max(peak.rssMb, kb('Rss') / 1024),
          pssMb: Math.max(peak.pssMb, kb('Pss') / 1024),
        });
      } catch {
        // the process exited while we looked
      }
    }
  }
}

/** Total calls of every command since the last CONFIG RESETSTAT, by command. */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const match of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    calls.set(match[1]!, Number(match[2]));
  return calls;
}

/** CPU-seconds all processes on this machine have used (from /proc/stat). */
function machineBusySeconds(): number {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / ticksPerSecond;
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

interface RunMeasurement {
  wallMs: number;
  /** First enqueue to last finish, from the jobs themselves. */
  spanMs: number;
  /** job.processedOn − job.timestamp per job: enqueued until a worker took it. */
  waits: number[];
  /** job.finishedOn − job.processedOn per job: the agent's time on its worker. */
  runs: number[];
  /** Finished jobs per worker pid, from the workers' own output. */
  perWorker: number[];
  workerCpuS: number;
  orchestratorCpuS: number;
  redisCpuS: number;
  redisCalls: Map<string, number>;
  /** CPU-seconds used meanwhile by processes outside this benchmark (the machine is shared). */
  otherCpuS: number;
  /** Bytes of Redis memory per finished job. */
  jobBytes: number[];
  memory: MemorySampler;
}

/**
 * One `baton run` of `agents` trivial agents through the queue at `parallelLimit`, with the workers
 * already listening. The jobs are read back from BullMQ, which keeps finished ones for 7 days
 * (QueueExecutor's removeOnComplete), so their timestamps are all there after the run.
 */
async function measureRun(
  lab: Lab,
  env: NodeJS.ProcessEnv,
  workers: Worker[],
  queue: Queue,
  redis: Redis,
  parallelLimit: number,
  label: string,
): Promise<RunMeasurement> {
  const workflow = lab.write(`${label}.yaml`, workflowYaml(label));
  const cpuBefore = workers.map((w) => cpuSeconds(w.child.pid!));
  const finishedBefore = workers.map((w) => (w.stderr().match(/✓/g) ?? []).length);
  await redis.config('RESETSTAT');
  const redisCpuBefore = await redisCpuSeconds(redis);
  const memory = new MemorySampler(lab.dir);
  memory.start();
  const busyBefore = machineBusySeconds();
  const benchCpuBefore = process.cpuUsage();

  const started = performance.now();
  const run = spawn(process.execPath, [batonBin, 'run', workflow, '--json'], {
    env: { ...env, BATON_PARALLEL_LIMIT: String(parallelLimit) },
    cwd: lab.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  run.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  run.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  // The orchestrator's CPU, read until it exits (the last reading is at most 100 ms old).
  let orchestratorCpuS = 0;
  const cpuWatch = setInterval(() => {
    try {
      orchestratorCpuS = cpuSeconds(run.pid!).self;
    } catch {
      // exited
    }
  }, 100);
  const code = await new Promise<number | null>((resolve) => run.on('close', resolve));
  const wallMs = performance.now() - started;
  clearInterval(cpuWatch);
  if (code !== 0) throw new Error(`baton run exited ${code}: ${stderr.slice(-1000)}`);
  const summary = JSON.parse(stdout) as { runId: string; totals: { succeeded: number } };
  if (summary.totals.succeeded !== agents) throw new Error(`${summary.totals.succeeded} of ${agents} agents succeeded`);

  // Agent processes still shutting down after their result count toward this run's CPU and memory.
  for (
    let i = 0;
    i < 100 && processesWithEnv(lab.dir).some((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'claude');
    i++
  )
    await new Promise((r) => setTimeout(r, 100));
  memory.stop();
  const cpuAfter = workers.map((w) => cpuSeconds(w.child.pid!));
  const redisCalls = await commandCalls(redis);
  const redisCpuS = (await redisCpuSeconds(redis)) - redisCpuBefore;
  const benchCpu = process.cpuUsage(benchCpuBefore); // this process: the scripted model, the sampling
  const workerCpuS = cpuAfter.reduce(
    (sum, after, i) => sum + after.self + after.children - cpuBefore[i]!.self - cpuBefore[i]!.children,
    0,
  );
  const ownCpuS = workerCpuS + orchestratorCpuS + redisCpuS + (benchCpu.user + benchCpu.system) / 1e6;
  const otherCpuS = Math.max(0, machineBusySeconds() - busyBefore - ownCpuS);

  const jobs = (await queue.getJobs(['completed', 'failed'])).filter((job) => job.id?.startsWith(`${summary.runId}|`));
  if (jobs.length !== agents)
    throw new Error(`found ${jobs.length} jobs of run ${summary.runId} in the queue, expected ${agents}`);
  const waits = jobs.map((job) => job.processedOn! - job.timestamp);
  const runs = jobs.map((job) => job.finishedOn! - job.processedOn!);
  // What a finished job holds in Redis for the 7 days it is kept: its hash (spec, result) and its logs.
  const jobBytes = await Promise.all(
    jobs.map(async (job) =>
      Number(await redis.call('MEMORY', 'USAGE', `bull:${AGENT_QUEUE}:${job.id}`, 'SAMPLES', '0')),
    ),
  );
  const spanMs = Math.max(...jobs.map((job) => job.finishedOn!)) - Math.min(...jobs.map((job) => job.timestamp));
  return {
    wallMs,
    spanMs,
    waits,
    runs,
    perWorker: workers.map((w, i) => (w.stderr().match(/✓/g) ?? []).length - finishedBefore[i]!),
    workerCpuS,
    orchestratorCpuS,
    redisCpuS,
    redisCalls,
    otherCpuS,
    jobBytes,
    memory,
  };
}

/**
 * Worker throughput: agents per second with 1, 2, 3 local `baton worker`s (each `--concurrency 2`)
 * sharing one real redis-server and one scripted model, and how long a job waits in the queue.
 *
 * Per worker count: `rounds` saturated runs (parallel_limit = agents, so every job is enqueued at
 * once and only the workers limit the pace; their queue wait is mostly backlog), and one run at
 * parallel_limit = worker slots, where a job is only enqueued once an earlier one finished, so its
 * wait is the queue's own dispatch latency. All processes share this machine's cores.
 */
export async function workerThroughput(): Promise<BenchResult> {
  const lab = await openLab(script);
  const server = await startRedisServer();
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const queueConnection = new Redis(server.url, { maxRetriesPerRequest: null });
  const queue = new Queue(AGENT_QUEUE, { connection: queueConnection });
  const env: NodeJS.ProcessEnv = { ...lab.env, BATON_REDIS_URL: server.url };
  const workers: Worker[] = [];
  const rows: BenchResult['rows'] = [];
  const metrics: BenchResult['metrics'] = { agents, concurrency_per_worker: concurrency, rounds };
  const agentRss: number[] = [];
  const agentPss: number[] = [];
  const workerRss: number[] = [];
  const orchestratorRss: number[] = [];
  const jobKb: number[] = [];
  try {
    workers.push(await startWorker(env, lab.dir));
    await measureRun(lab, env, workers, queue, redis, agents, 'warm-up'); // page cache, Redis scripts, claude's first-run files
    for (const count of workerCounts) {
      while (workers.length < count) workers.push(await startWorker(env, lab.dir));
      const slots = count * concurrency;
      const saturated: RunMeasurement[] = [];
      for (let r = 0; r < rounds; r++)
        saturated.push(await measureRun(lab, env, workers, queue, redis, agents, `saturated-${count}-${r}`));
      saturated.sort((a, b) => a.spanMs - b.spanMs);
      const run = saturated[Math.floor((saturated.length - 1) / 2)]!;
      const dispatch = await measureRun(lab, env, workers, queue, redis, slots, `dispatch-${count}`);

      for (const m of [...saturated, dispatch]) {
        jobKb.push(...m.jobBytes.map((b) => b / 1024));
        for (const [pid, peak] of m.memory.peaks) {
          if (peak.comm === 'claude') {
            agentRss.push(peak.rssMb);
            agentPss.push(peak.pssMb);
          } else if (workers.some((w) => w.child.pid === pid)) workerRss.push(peak.rssMb);
          else orchestratorRss.push(peak.rssMb);
        }
      }
      // Redis's own background work (its cron, BullMQ's blocking reads and stalled checks) with these
      // workers listening and nothing to do, so the per-agent figure below counts agents alone.
      const idleBefore = await redisCpuSeconds(redis);
      await new Promise((r) => setTimeout(r, idleWindowMs));
      const idleCpuPerS = ((await redisCpuSeconds(redis)) - idleBefore) / (idleWindowMs / 1000);
      const redisCpuPerAgentMs = (Math.max(0, run.redisCpuS - idleCpuPerS * (run.wallMs / 1000)) * 1000) / agents;
      const rate = agents / (run.spanMs / 1000);
      const calls = [...run.redisCalls.values()].reduce((a, b) => a + b, 0);
      rows.push({
        workers: count,
        slots,
        agents_per_s: round(rate),
        wall_s: round(run.wallMs / 1000, 1),
        agent_p50_s: round(percentile(run.runs, 50) / 1000, 1),
        queue_wait_p50_ms: round(percentile(run.waits, 50), 0),
        queue_wait_p99_ms: round(percentile(run.waits, 99), 0),
        dispatch_p50_ms: round(percentile(dispatch.waits, 50), 0),
        dispatch_p99_ms: round(percentile(dispatch.waits, 99), 0),
        jobs_per_worker: run.perWorker.join('/'),
        worker_cpu_s_per_agent: round(run.workerCpuS / agents, 2),
        redis_cmds_per_agent: round(calls / agents, 0),
        // Cores that other work on the machine took meanwhile: near 0 for a clean measurement.
        other_cores: round(run.otherCpuS / (run.wallMs / 1000), 2),
      });
      metrics[`agents_per_s_at_${count}`] = round(rate);
      metrics[`wall_agents_per_s_at_${count}`] = round(agents / (run.wallMs / 1000));
      metrics[`agent_p50_s_at_${count}`] = round(percentile(run.runs, 50) / 1000, 2);
      metrics[`dispatch_agent_p50_s_at_${count}`] = round(percentile(dispatch.runs, 50) / 1000, 2);
      metrics[`queue_wait_p50_ms_at_${count}`] = round(percentile(run.waits, 50), 0);
      metrics[`queue_wait_p99_ms_at_${count}`] = round(percentile(run.waits, 99), 0);
      metrics[`dispatch_p50_ms_at_${count}`] = round(percentile(dispatch.waits, 50), 0);
      metrics[`dispatch_p99_ms_at_${count}`] = round(percentile(dispatch.waits, 99), 0);
      metrics[`dispatch_agents_per_s_at_${count}`] = round(agents / (dispatch.spanMs / 1000));
      metrics[`worker_cpu_s_per_agent_at_${count}`] = round(run.workerCpuS / agents, 3);
      metrics[`orchestrator_cpu_s_per_agent_at_${count}`] = round(run.orchestratorCpuS / agents, 3);
      metrics[`redis_cpu_ms_per_agent_at_${count}`] = round((run.redisCpuS * 1000) / agents, 2);
      metrics[`redis_idle_cpu_ms_per_s_at_${count}`] = round(idleCpuPerS * 1000, 2);
      metrics[`redis_net_cpu_ms_per_agent_at_${count}`] = round(redisCpuPerAgentMs, 2);
      metrics[`redis_cmds_per_agent_at_${count}`] = round(calls / agents, 1);
      metrics[`other_cores_at_${count}`] = round(Math.max(...saturated.map((m) => m.otherCpuS / (m.wallMs / 1000))), 2);
      if (count === workerCounts[workerCounts.length - 1]) {
        // Which commands a job costs, at the largest worker count.
        const top = [...run.redisCalls].sort((a, b) => b[1] - a[1]).slice(0, 8);
        for (const [command, n] of top) metrics[`redis_${command}_per_agent`] = round(n / agents, 1);
      }
    }
    const median = (xs: number[]) => (xs.length === 0 ? 0 : percentile(xs, 50));
    metrics.job_kb_p50 = round(jobKb.length === 0 ? 0 : percentile(jobKb, 50), 1);
    metrics.agent_rss_mb_p50 = round(median(agentRss), 0);
    metrics.agent_rss_mb_max = round(Math.max(0, ...agentRss), 0);
    metrics.agent_pss_mb_p50 = round(median(agentPss), 0);
    metrics.worker_rss_mb_max = round(Math.max(0, ...workerRss), 0);
    metrics.orchestrator_rss_mb_max = round(Math.max(0, ...orchestratorRss), 0);
    return {
      name: 'worker_throughput',
      goal: 'agents/s grows with workers while cores are free; dispatch p99 ≪ agent duration',
      rows,
      metrics,
    };
  } finally {
    await Promise.all(workers.map(stopWorker));
    await queue.close();
    queueConnection.disconnect();
    redis.disconnect();
    await server.stop();
    await lab.close();
  }
}
