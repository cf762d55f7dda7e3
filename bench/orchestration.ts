import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClaudeRuntime } from '../src/agents/index.js';
import { startModelServer, type ModelServer, type Script } from '../src/model-server/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { batonBin, openLab, percentile, round, timeCommand, type BenchResult, type Lab } from './harness.js';

/** A lab whose scripted model this process can see: every request it received, with its arrival time. */
async function openModelLab(script: Script): Promise<{ lab: Lab; server: ModelServer; close: () => Promise<void> }> {
  const lab = await openLab({ rules: [], default: { text: 'unused' } });
  const { server, url, apiKey } = await startModelServer({ script });
  lab.env.ANTHROPIC_BASE_URL = url;
  lab.env.ANTHROPIC_API_KEY = apiKey;
  return {
    lab,
    server,
    close: async () => {
      await server.close();
      await lab.close();
    },
  };
}

const swarmYaml = (count: number, prompt: string): string =>
  `version: 1\nname: bench\nphases:\n  - id: all\n    agents:\n      - { id: task, prompt: "${prompt}", count: ${count}, cwd: work }\n`;

/**
 * The floor under a warm start: Baton's runtime alone sends the prompt to a prewarmed, initialized
 * `claude` process (no orchestrator, no store); from that call to the model's first request is
 * Claude Code's own work on a new prompt.
 */
async function runtimeOnlyWarm(lab: Lab, server: ModelServer, rounds: number): Promise<number[]> {
  const env = Object.fromEntries(Object.entries(lab.env).filter((e): e is [string, string] => e[1] !== undefined));
  const runtime = new ClaudeRuntime({ poolSize: 1 });
  const latencies: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const spec = {
        agentId: `floor${r}`,
        sessionId: randomUUID(),
        prompt: `Runtime task ${r}: reply with one word.`,
        cwd: join(lab.dir, 'work'),
        env,
      };
      runtime.prewarm(spec);
      if (!(await runtime.warmed(spec.sessionId))) throw new Error('the prewarmed claude process did not start');
      await sleep(500);
      const sent = Date.now();
      const outcome = await runtime.execute(spec, new AbortController().signal);
      if (outcome.status !== 'succeeded') throw new Error(`runtime-only agent failed: ${outcome.error?.message}`);
      latencies.push(Math.min(...server.messageRequests(spec.sessionId).map((q) => q.at)) - sent);
    }
  } finally {
    await runtime.close();
  }
  return latencies;
}

/**
 * Session pool: how long from the moment an agent may start (the slot it waited for frees up) until
 * the scripted model receives its first request, with `session_pool_size: 0` (every agent starts its
 * `claude` process then) and with the default pool (the process was started while the agent waited).
 *
 * Each round is one `baton run` of 3 agents at parallel_limit 1 — as users run it, from dist/ — against
 * a model that takes ~3 s per answer (so a spare is ready before its slot frees). Agents 2 and 3 are
 * measured: from the finishedAt Baton stored for the agent before them (its slot is released once that
 * agent's record and facts are saved, which is counted) to their first POST /v1/messages as the model
 * server logged it. Both clocks are this machine's. Agent 3's hand-over is also reported on its own:
 * agent 2's includes a once-per-process cost (loading the context tokenizer for the first facts).
 */
export async function sessionPool(): Promise<BenchResult> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 8);
  const loadBefore = round(loadavg()[0]!);
  // Streamed slowly, so the request is logged on arrival and the answer still takes ~3 s.
  const { lab, server, close } = await openModelLab({ rules: [], default: { text: 'done', chunkDelayMs: 600 } });
  try {
    const workflow = lab.write('pool.yaml', swarmYaml(3, 'Session pool task {{index}}: reply with one word.'));
    const latencies: Record<'cold' | 'warm', number[]> = { cold: [], warm: [] };
    const later: Record<'cold' | 'warm', number[]> = { cold: [], warm: [] };
    for (let r = 0; r < rounds; r++) {
      for (const mode of r % 2 === 0 ? (['cold', 'warm'] as const) : (['warm', 'cold'] as const)) {
        const dataDir = `${lab.dir}/data-${mode}-${r}`;
        await timeCommand(process.execPath, [batonBin, 'run', workflow, '--json'], {
          env: {
            ...lab.env,
            BATON_DATA_DIR: dataDir,
            BATON_PARALLEL_LIMIT: '1',
            ...(mode === 'cold' ? { BATON_SESSION_POOL_SIZE: '0' } : {}),
          },
          cwd: lab.dir,
        });
        const store = openSqliteStore({ dataDir });
        try {
          const [run] = await store.listRuns({ limit: 1 });
          const agents = await store.listAgents(run!.id);
          const firstRequest = (sessionId: string): number =>
            Math.min(...server.messageRequests(sessionId).map((q) => q.at));
          // At parallel_limit 1 the agents ran one after another, in the order their first requests arrived.
          const ordered = agents
            .map((a) => ({ finishedAt: a.finishedAt!, first: firstRequest(a.sessionId) }))
            .sort((a, b) => a.first - b.first);
          for (let i = 1; i < ordered.length; i++) {
            const ms = ordered[i]!.first - ordered[i - 1]!.finishedAt;
            latencies[mode].push(ms);
            // The run's first hand-over also loads the context tokenizer (once per process, in the first agent's finish).
            if (i > 1) later[mode].push(ms);
          }
        } finally {
          await store.close();
        }
      }
    }
    const floor = await runtimeOnlyWarm(lab, server, rounds);
    const row = (start: string, values: number[]) => ({
      start,
      samples: values.length,
      p50_ms: percentile(values, 50),
      p95_ms: percentile(values, 95),
      min_ms: Math.min(...values),
      max_ms: Math.max(...values),
    });
    return {
      name: 'session_pool',
      goal: 'warm ≤ 50 ms',
      rows: [
        row('baton run, cold (session_pool_size 0)', latencies.cold),
        row('baton run, warm (default pool, prewarmed)', latencies.warm),
        row('  of which later hand-overs, cold', later.cold),
        row('  of which later hand-overs, warm', later.warm),
        row('ClaudeRuntime alone, prewarmed (floor)', floor),
      ],
      metrics: {
        rounds,
        cold_p50_ms: percentile(latencies.cold, 50),
        cold_p95_ms: percentile(latencies.cold, 95),
        warm_p50_ms: percentile(latencies.warm, 50),
        warm_p95_ms: percentile(latencies.warm, 95),
        warm_later_p50_ms: percentile(later.warm, 50),
        runtime_only_p50_ms: percentile(floor, 50),
        saved_p50_ms: percentile(latencies.cold, 50) - percentile(latencies.warm, 50),
        orchestrator_share_p50_ms: percentile(later.warm, 50) - percentile(floor, 50),
        load_1m_before: loadBefore,
        load_1m_after: round(loadavg()[0]!),
      },
    };
  } finally {
    await close();
  }
}

/** VmRSS and VmHWM of a process, in KiB. */
function memoryOf(pid: number): { rssKiB: number; peakKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), peakKiB: field('VmHWM') };
}

/** A TCP port nothing listens on now, for the run's /metrics. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** How many agents the run's /metrics (its token in the run's data_dir) says are waiting for a slot. */
async function queueDepth(port: number, dataDir: string): Promise<number> {
  try {
    const token = readFileSync(join(dataDir, 'metrics.token'), 'utf8').trim();
    const text = await (
      await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } })
    ).text();
    return Number(/^baton_queue_depth\s+(\d+)/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0; // not listening yet
  }
}

/** Stops a `baton run` the way a user does (SIGTERM cancels it and stops its agents); SIGKILL if it hangs. */
async function stopRun(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(timer);
}

/**
 * `baton run` (from dist/, as users run it) of a `count: queued + 2` swarm at parallel_limit 2 against
 * a model that never answers: 2 agents run, the others wait. Once /metrics shows them all queued and
 * the orchestrator's RSS has settled, its VmRSS is read from /proc.
 */
async function queuedRunMemory(
  model: { lab: Lab; server: ModelServer },
  queued: number,
): Promise<{ rssKiB: number; peakKiB: number; settleMs: number }> {
  const { lab, server } = model;
  const port = await freePort();
  const workflow = lab.write(
    `rss-${queued}.yaml`,
    swarmYaml(queued + 2, 'Queued task {{index}}: reply with one word.'),
  );
  const dataDir = `${lab.dir}/data-rss-${queued}`;
  const child = spawn(process.execPath, [batonBin, 'run', workflow, '--json'], {
    env: {
      ...lab.env,
      BATON_DATA_DIR: dataDir,
      BATON_PARALLEL_LIMIT: '2',
      BATON_ENABLE_METRICS: 'true',
      BATON_METRICS_PORT: String(port),
    },
    cwd: lab.dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const started = performance.now();
  const requestsBefore = server.messageRequests().length;
  try {
    const deadline = started + 120_000;
    const check = (): void => {
      if (child.exitCode !== null) throw new Error(`baton run exited ${child.exitCode}: ${stderr}`);
      if (performance.now() > deadline) throw new Error(`${queued} agents were not all queued after 120 s: ${stderr}`);
    };
    while ((await queueDepth(port, dataDir)) < queued || server.messageRequests().length - requestsBefore < 2) {
      check();
      await sleep(100);
    }
    // Queued agents may still be getting ready (context, spec); wait until RSS stops moving.
    const samples: number[] = [];
    for (;;) {
      check();
      samples.push(memoryOf(child.pid!).rssKiB);
      const last = samples.slice(-10);
      if (last.length === 10 && Math.max(...last) - Math.min(...last) < 512) break;
      await sleep(200);
    }
    return { ...memoryOf(child.pid!), settleMs: performance.now() - started };
  } finally {
    await stopRun(child);
  }
}

/** Orchestrator RSS with 1,000 agents waiting for a slot, against the same run with 1 waiting. */
export async function orchestratorRss(): Promise<BenchResult> {
  const queued = Number(process.env.BENCH_QUEUED ?? 1000);
  const model = await openModelLab({ rules: [], default: { text: 'never sent', hang: true } });
  const loadBefore = round(loadavg()[0]!);
  try {
    const one = await queuedRunMemory(model, 1);
    const many = await queuedRunMemory(model, queued);
    const mib = (kib: number) => round(kib / 1024, 1);
    const perAgentKiB = (many.rssKiB - one.rssKiB) / (queued - 1);
    return {
      name: 'orchestrator_rss',
      goal: '≤ 50 MiB',
      rows: [
        {
          queued_agents: 1,
          rss_mib: mib(one.rssKiB),
          peak_rss_mib: mib(one.peakKiB),
          settled_after_ms: round(one.settleMs, 0),
        },
        {
          queued_agents: queued,
          rss_mib: mib(many.rssKiB),
          peak_rss_mib: mib(many.peakKiB),
          settled_after_ms: round(many.settleMs, 0),
        },
      ],
      metrics: {
        queued_agents: queued,
        rss_mib_1: mib(one.rssKiB),
        rss_mib: mib(many.rssKiB),
        peak_rss_mib: mib(many.peakKiB),
        increment_mib: mib(many.rssKiB - one.rssKiB),
        per_queued_agent_kib: round(perAgentKiB, 1),
        load_1m_before: loadBefore,
        load_1m_after: round(loadavg()[0]!),
      },
    };
  } finally {
    await model.close();
  }
}
