import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  buildCatalog,
  McpManager,
  newGatewayToken,
  startMcp,
  type McpLaunchConfig,
  type McpServerEntry,
} from '../src/mcp/index.js';
import { percentile, root, round, type BenchResult } from './harness.js';
import { httpClient, stdioClient } from './mcp-clients.js';

/** The Node the servers run on: BENCH_SERVER_NODE (e.g. a Node ≥ 22.1, whose compile cache Baton turns on), else this one. */
const serverNode = process.env.BENCH_SERVER_NODE ?? process.execPath;

const node = (script: string, ...args: string[]): McpServerEntry => ({
  command: serverNode,
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

/** Our fault server without faults: answers `ping` at once. */
const pingServer = node('test/fixtures/fault-mcp-server.mjs');

const execFileAsync = promisify(execFile);

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

const cpuTicksPerSecond = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks

/** CPU seconds a live process has used so far (user + system), from /proc. */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / cpuTicksPerSecond;
}

const ownCpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** The gateway of a run sharing these servers; its close also removes the run's throwaway data dir. */
async function gatewayRun(workflow: Record<string, McpServerEntry>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-bench-mcp-'));
  const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true });
  const mcp = await startMcp({
    configServers: {},
    projectDirs: [],
    workflowServers: workflow,
    env: process.env,
    timeoutMs: 20_000,
    useMock: false,
    dataDir,
    cwd: root,
    gateway: { token: newGatewayToken() },
  }).catch((error: unknown) => {
    removeDataDir();
    throw error;
  });
  return { ...mcp, close: () => mcp.close().finally(removeDataDir) };
}

async function pingLatencies(client: Client, calls: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await client.callTool({ name: 'ping', arguments: {} });
    latencies.push(performance.now() - started);
  }
  return latencies;
}

/**
 * Tool-call latency of one server straight over stdio, and through the gateway, both clients in this
 * process beside the gateway: both open at once and measured in alternating blocks, so that the
 * machine's other work falls on both alike. The first `warmUp` calls of each are reported apart: V8
 * is still compiling their code paths then, and a run's gateway serves its agents' calls for as long
 * as the run lasts, so the steady state is what they see.
 */
async function callOverhead(calls: number, warmUp = 50) {
  const direct = await stdioClient(pingServer);
  const mcp = await gatewayRun({ fault: pingServer });
  await mcp.manager.check(['fault']);
  const agent = await httpClient(mcp.manager.launch('fault'));
  const first = { direct: await pingLatencies(direct.client, warmUp), gateway: await pingLatencies(agent, warmUp) };
  const steady = { direct: [] as number[], gateway: [] as number[] };
  for (let measured = 0, block = 20; measured < calls; measured += block) {
    steady.direct.push(...(await pingLatencies(direct.client, block)));
    steady.gateway.push(...(await pingLatencies(agent, block)));
  }
  await agent.close();
  await direct.client.close();
  await mcp.close();
  return {
    directMs: percentile(steady.direct, 50),
    gatewayMs: percentile(steady.gateway, 50),
    firstDirectMs: percentile(first.direct, 50),
    firstGatewayMs: percentile(first.gateway, 50),
    warmUp,
  };
}

/**
 * The same with the agent's client in a process of its own, as `claude` is: through the gateway a
 * call then wakes three processes (agent, Baton, server) where a direct one wakes two, each on a
 * shared core. Rounds alternate the two sides; each round is one agent process's calls.
 */
async function callOverheadFromAgentProcess(calls: number, rounds = 3, warmUp = 50) {
  const mcp = await gatewayRun({ fault: pingServer });
  await mcp.manager.check(['fault']);
  const direct: number[] = [];
  const gateway: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      direct.push(...(await agentProcessLatencies(pingServer, calls, warmUp)));
      gateway.push(...(await agentProcessLatencies(mcp.manager.launch('fault'), calls, warmUp)));
    }
  } finally {
    await mcp.close(); // a failed agent process must not leave the gateway's server running
  }
  return { directMs: percentile(direct, 50), gatewayMs: percentile(gateway, 50) };
}

async function agentProcessLatencies(server: McpLaunchConfig, calls: number, warmUp: number): Promise<number[]> {
  const script = join(root, 'bench/mcp-agent-calls.ts');
  const spec = JSON.stringify({ server, calls, warmUp });
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', script, spec], { cwd: root });
  return JSON.parse(stdout) as number[];
}

/** Preflight plus a first tool call on 5 cold servers through the gateway, against the slowest alone. */
async function coldStartThroughGateway(): Promise<{ allMs: number; slowestAloneMs: number; serverCpuS: number }> {
  const firstCall = {
    memory: 'read_graph',
    filesystem: 'list_allowed_directories',
    everything: 'echo',
    slow1: 'ping',
    slow2: 'ping',
  };
  const args = { echo: { message: 'hi' } } as Record<string, Record<string, unknown>>;
  const oneRound = async (names: string[]) => {
    // filesystem is per agent by default; its path here is absolute, so it can be shared.
    const mcp = await gatewayRun(Object.fromEntries(names.map((n) => [n, { ...servers[n]!, scope: 'run' as const }])));
    const started = performance.now();
    const health = await mcp.manager.check(names);
    if (health.some((h) => h.status !== 'up')) throw new Error('a server was down through the gateway');
    await Promise.all(
      names.map(async (n) => {
        const tool = firstCall[n as keyof typeof firstCall];
        const client = await httpClient(mcp.manager.launch(n));
        await client.callTool({ name: tool, arguments: args[tool] ?? {} });
        await client.close();
      }),
    );
    const ms = performance.now() - started;
    const cpu = mcp.pids().reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
    await mcp.close();
    return { ms, cpu };
  };
  const names = Object.keys(servers);
  const alone = [];
  for (const n of names) alone.push((await oneRound([n])).ms);
  const all = await oneRound(names);
  return { allMs: all.ms, slowestAloneMs: Math.max(...alone), serverCpuS: all.cpu };
}

/** 8 agents × 3 servers: CPU seconds (servers + this process) with a private copy each, and shared through the gateway. */
async function swarmCpu(agents: number) {
  const three = {
    memory: servers.memory!,
    everything: servers.everything!,
    ping: pingServer,
  };
  const tools = { memory: 'read_graph', everything: 'echo', ping: 'ping' } as const;
  const args = { echo: { message: 'hi' } } as Record<string, Record<string, unknown>>;

  let cpu = ownCpuSeconds();
  const privateCopies = await Promise.all(
    Array.from({ length: agents }, () =>
      Promise.all(
        Object.entries(three).map(async ([name, entry]) => {
          const server = await stdioClient(entry);
          const tool = tools[name as keyof typeof tools];
          await server.client.listTools();
          await server.client.callTool({ name: tool, arguments: args[tool] ?? {} });
          return server;
        }),
      ),
    ),
  );
  const perAgentServers = privateCopies.flat().reduce((sum, s) => sum + cpuSecondsOf(s.pid()!), 0);
  const perAgentTotal = perAgentServers + ownCpuSeconds() - cpu;
  await Promise.all(privateCopies.flat().map((s) => s.client.close()));

  cpu = ownCpuSeconds();
  const mcp = await gatewayRun(three);
  await mcp.manager.check(Object.keys(three));
  const sessions = await Promise.all(
    Array.from({ length: agents }, () =>
      Promise.all(
        Object.keys(three).map(async (name) => {
          const client = await httpClient(mcp.manager.launch(name));
          const tool = tools[name as keyof typeof tools];
          await client.listTools();
          await client.callTool({ name: tool, arguments: args[tool] ?? {} });
          return client;
        }),
      ),
    ),
  );
  const sharedServers = mcp.pids().reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
  const sharedTotal = sharedServers + ownCpuSeconds() - cpu;
  await Promise.all(sessions.flat().map((c) => c.close()));
  await mcp.close();
  return { perAgentCpu: perAgentTotal / agents, sharedCpu: sharedTotal / agents, processes: Object.keys(three).length };
}

/** The gateway against a private stdio server per agent: cold start, CPU of a swarm, per-call overhead. */
export async function mcpGateway(): Promise<BenchResult> {
  const cold = await coldStartThroughGateway();
  const swarm = await swarmCpu(8);
  const calls = Number(process.env.BENCH_CALLS ?? 200);
  const overhead = await callOverhead(calls);
  const apart = await callOverheadFromAgentProcess(calls);
  const saving = 1 - swarm.sharedCpu / swarm.perAgentCpu;
  return {
    name: 'mcp_gateway',
    goal: 'cold 5 < 2000 ms and ≤ 1.2 × slowest; swarm CPU/agent ≥ 40 % lower; p50 overhead ≤ 2 ms',
    rows: [
      { measure: '5 cold servers: preflight + first call (gateway)', value: round(cold.allMs, 0), unit: 'ms' },
      { measure: 'slowest server alone: preflight + first call', value: round(cold.slowestAloneMs, 0), unit: 'ms' },
      { measure: '5 cold servers: CPU of the 5 server processes', value: round(cold.serverCpuS, 2), unit: 'CPU-s' },
      { measure: '8 agents × 3 servers, private servers', value: round(swarm.perAgentCpu, 3), unit: 'CPU-s/agent' },
      { measure: '8 agents × 3 servers, shared (gateway)', value: round(swarm.sharedCpu, 3), unit: 'CPU-s/agent' },
      { measure: 'tool call p50, direct stdio', value: round(overhead.directMs, 2), unit: 'ms' },
      { measure: 'tool call p50, through the gateway', value: round(overhead.gatewayMs, 2), unit: 'ms' },
      {
        measure: `first ${overhead.warmUp} calls p50, direct stdio`,
        value: round(overhead.firstDirectMs, 2),
        unit: 'ms',
      },
      { measure: `first ${overhead.warmUp} calls p50, gateway`, value: round(overhead.firstGatewayMs, 2), unit: 'ms' },
      { measure: 'agent in its own process: tool call p50, direct stdio', value: round(apart.directMs, 2), unit: 'ms' },
      { measure: 'agent in its own process: tool call p50, gateway', value: round(apart.gatewayMs, 2), unit: 'ms' },
    ],
    metrics: {
      cold_ratio: round(cold.allMs / cold.slowestAloneMs, 2),
      cold_server_cpu_s: round(cold.serverCpuS, 2),
      swarm_cpu_saving: round(saving, 2),
      p50_overhead_ms: round(overhead.gatewayMs - overhead.directMs, 2),
      p50_overhead_first_calls_ms: round(overhead.firstGatewayMs - overhead.firstDirectMs, 2),
      p50_overhead_agent_process_ms: round(apart.gatewayMs - apart.directMs, 2),
    },
  };
}
