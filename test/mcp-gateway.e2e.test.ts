import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../src/orchestrator/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import {
  agentProcessesWithEnv,
  mcpServerOf,
  mcpServerProcessesWithEnv,
  processesWithEnv,
} from './support/processes.js';
import { parsePrometheus, seriesValue } from './support/prometheus.js';
import { requireProgram } from './support/programs.js';
import { useRedisServer } from './support/redis.js';
import { useScriptedModel } from './support/scripted-model.js';
import { launchDateRules, mcpCliEnv, nodeServerYaml, npmServers, toolThenText } from './support/mcp-servers.js';
import { listProcesses } from '../src/core/index.js';

const faultServer = fileURLToPath(new URL('./fixtures/fault-mcp-server.mjs', import.meta.url));

const model = useScriptedModel(
  {
    rules: [
      ...launchDateRules,
      // Both agents call add(13, 0), which makes the server exit once both calls are in flight; then add(2, 3).
      {
        match: { prompt: 'Add together', turn: 1 },
        reply: { toolUse: { name: 'mcp__calc__add', input: { a: 13, b: 0 } } },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Add together', turn: 2 },
        reply: { toolUse: { name: 'mcp__calc__add', input: { a: 2, b: 3 } } },
        sequencePer: 'script',
      },
      { match: { prompt: 'Add together' }, reply: { text: 'Added.', chunkDelayMs: 700 }, sequencePer: 'script' },
      // Streams slowly, so the orchestrator can be stopped while the agent and its servers run.
      ...toolThenText('Slow recall', { name: 'mcp__memory__read_graph', input: {} }, 'Recalled slowly.', 700),
    ],
    default: { text: 'OK' },
  },
  'baton-gateway-e2e-',
);

const dataDir = () => join(model.home.dir, 'data');
const env = () => mcpCliEnv(model);

const leftoverServers = () => mcpServerProcessesWithEnv(model.home.dir);

/** A workflow with a shared memory and a per-agent files server; both through the server launcher when `launched`. */
function workflow(name: string, phases: string, moreServers = '', launched = false): string {
  const files = join(model.home.dir, 'files');
  mkdirSync(files, { recursive: true });
  writeFileSync(join(files, 'notes.txt'), 'launch notes\n');
  const path = join(model.home.dir, `${name}.yaml`);
  writeFileSync(
    path,
    `version: 1
name: ${name}
mcpServers:
  memory: { ${nodeServerYaml(npmServers.memory, [], launched)}, env: { MEMORY_FILE_PATH: ${join(model.home.dir, `${name}-memory.json`)} }, scope: run }
  files: { ${nodeServerYaml(npmServers.filesystem, [files], launched)}, scope: agent }
${moreServers}phases:
${phases}`,
  );
  return path;
}

describe('MCP gateway with real agents', () => {
  it('agents share one memory server through the gateway (one stores, the next reads); filesystem stays per agent; nothing is left after', async () => {
    const path = workflow(
      'shared',
      `  - { id: store, agents: [{ id: writer, prompt: Store the launch date, mcpServers: [memory] }] }
  - id: read
    dependsOn: [store]
    agents:
      - { id: reader, prompt: Read the launch date, mcpServers: [memory] }
      - { id: filer, prompt: Read the notes, mcpServers: [files], cwd: ${join(model.home.dir, 'files')} }
`,
    );
    const { code, stdout, stderr } = await runCli(['run', path, '--json'], { env: env() });
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    const agents = summary.phases.flatMap((p) => p.agents);
    expect(agents.map((a) => a.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);

    const reader = agents.find((a) => a.id === 'reader')!;
    expect(model.server.messageRequests(reader.sessionId)[1]!.view!.last).toContain('set for March 3');
    const filer = agents.find((a) => a.id === 'filer')!;
    expect(model.server.messageRequests(filer.sessionId)[0]!.view!.tools).toContain('mcp__files__list_directory');
    expect(model.server.messageRequests(filer.sessionId)[1]!.view!.last).toContain('notes.txt');

    // What the agents were given: memory through the gateway (secret not written), files as their own process.
    const config = (agent: string) =>
      JSON.parse(readFileSync(join(dataDir(), 'runs', summary.runId, 'mcp', `${agent}.json`), 'utf8')) as {
        mcpServers: Record<string, Record<string, unknown>>;
      };
    expect(config('reader').mcpServers.memory).toMatchObject({
      type: 'http',
      // The per-run secret is never written to disk.
      headers: { 'x-baton-gateway-token': '[REDACTED]' },
    });
    expect(config('filer').mcpServers.files).toMatchObject({ command: process.execPath });

    // Both agents' calls went through the one shared process, as baton status reports.
    const status = await runCli(['status', summary.runId, '--json'], { env: env() });
    const health = (JSON.parse(status.stdout) as { mcpHealth: Array<Record<string, unknown>> }).mcpHealth;
    const memory = health.find((h) => h.name === 'memory')!;
    expect(memory).toMatchObject({
      scope: 'run',
      failures: 0,
      crashes: 0,
      breaker: 'closed',
      sources: ['orchestrator'],
    });
    expect(memory.calls).toBeGreaterThanOrEqual(2);
    expect(leftoverServers()).toEqual([]);
  });

  it('no MCP server, nor what its launcher started, outlives an orchestrator SIGKILLed in its first phase and resumed; the resumed phase reads what the first stored', async () => {
    const path = workflow(
      'killed',
      `  - id: first
    agents:
      - { id: writer, prompt: Store the launch date, mcpServers: [memory] }
      - { id: slow, prompt: Slow recall of the launch, mcpServers: [memory, files] }
  - { id: then, dependsOn: [first], agents: [{ id: reader, prompt: Read the launch date, mcpServers: [memory] }] }
`,
      '',
      true,
    );
    // Marks what this test starts, so its clean-up stops only that, never another test's servers.
    const marked = { ...env(), BATON_TEST_CASE: 'killed' };
    const orchestrator = startCli(['run', path, '--json'], { env: marked });
    const store = openSqliteStore({ dataDir: dataDir() });
    try {
      const runId = await waitFor(
        async () => {
          const [run] = await store.listRuns({ limit: 1 });
          if (!run || run.workflowName !== 'killed') return undefined;
          const slow = (await store.listAgents(run.id)).find((a) => a.id === 'slow');
          return slow && model.server.messageRequests(slow.sessionId).length >= 2 ? run.id : undefined;
        },
        90_000,
        'the slow agent to have called its MCP server',
      );
      // Launchers ignoring SIGTERM, their servers and their daemonized helpers: the shared memory's in a
      // process group of its own, whose leader is its launcher; the per-agent files' in its claude's group.
      const ours = new Set(leftoverServers());
      const groupOf = (name: string) =>
        new Set(listProcesses().flatMap((p) => (ours.has(p.pid) && mcpServerOf(p.pid) === name ? [p.pgrp] : [])));
      expect(leftoverServers().length).toBeGreaterThanOrEqual(6);
      const [memoryGroup] = groupOf('memory');
      expect(groupOf('memory')).toEqual(new Set([memoryGroup]));
      expect(mcpServerOf(memoryGroup!)).toBe('memory');
      const [filesGroup] = groupOf('files');
      expect(groupOf('files')).toEqual(new Set([filesGroup]));
      expect(agentProcessesWithEnv(model.home.dir)).toContain(filesGroup);
      expect(mcpServerOf(filesGroup!)).toBeUndefined();
      // The calls so far are in the store (saved at most every 2 s), for baton status after the resume.
      await waitFor(
        async () => ((await store.listMcpHealth(runId)).find((h) => h.name === 'memory')?.calls ?? 0) >= 2 || undefined,
        30_000,
        'the first orchestrator to save its calls',
      );
      orchestrator.kill('SIGKILL');
      await orchestrator.output;
      await waitFor(() => leftoverServers().length === 0 || undefined, 10_000, 'the watchdog to stop every server');
      await waitFor(() => agentProcessesWithEnv(model.home.dir).length === 0 || undefined, 10_000, 'and every claude');
      const resumed = await runCli(['run', '--resume', runId, '--json'], { env: marked });
      expect(resumed.stderr).not.toMatch(/\n\s+at /);
      expect(resumed.code).toBe(0);
      // The resumed run's memory server has the workflow's MEMORY_FILE_PATH, though the store keeps it hidden.
      const reader = (JSON.parse(resumed.stdout) as RunSummary).phases[1]!.agents[0]!;
      expect(model.server.messageRequests(reader.sessionId)[1]!.view!.last).toContain('set for March 3');
      expect(leftoverServers()).toEqual([]);
      expect(agentProcessesWithEnv(model.home.dir)).toEqual([]);
      // baton status sees the server's health over the whole run: the killed orchestrator's calls and the resumed one's.
      const status = await runCli(['status', runId, '--json'], { env: env() });
      const health = (JSON.parse(status.stdout) as { mcpHealth: Array<Record<string, unknown>> }).mcpHealth;
      const memory = health.find((h) => h.name === 'memory')!;
      expect(memory).toMatchObject({ failures: 0, crashes: 0 });
      expect(memory.calls).toBeGreaterThanOrEqual(3); // 2 before the kill, 1 after
      expect(memory.sources).toEqual(
        expect.arrayContaining(['orchestrator', expect.stringMatching(/^resumed orchestrator /)]),
      );
    } finally {
      orchestrator.kill('SIGKILL');
      const ours = new Set(processesWithEnv('BATON_TEST_CASE=killed\0'));
      for (const pid of leftoverServers()) if (ours.has(pid)) process.kill(pid, 'SIGKILL');
      await store.close();
    }
  });

  it('a crash while two agents call a shared server fails both calls at once; after the restart both succeed; metrics and status see it; the crashed launcher leaves nothing', async () => {
    const path = workflow(
      'crash',
      `  - id: only
    agents:
      - { id: first, prompt: Add together first, mcpServers: [calc] }
      - { id: second, prompt: Add together second, mcpServers: [calc] }
`,
      `  calc: { ${nodeServerYaml(faultServer, ['--exit-when-waiting', "'2'"], true)} }\n`,
    );
    const run = startCli(['run', path, '--json'], { env: { ...env(), BATON_ENABLE_METRICS: 'true' } });
    // The run's own /metrics, read while its agents give their last (slow) answers.
    const url = await waitFor(() => /Metrics at (\S+)/.exec(run.stderrSoFar())?.[1], 60_000, 'the metrics URL');
    const token = readFileSync(join(dataDir(), 'metrics.token'), 'utf8').trim();
    const metrics = await waitFor(
      async () => {
        const families = parsePrometheus(
          await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).text(),
        );
        return seriesValue(families, 'baton_mcp_lifecycle_total', { server: 'calc', state: 'restarted' }) > 0
          ? families
          : undefined;
      },
      90_000,
      'the restart to show in the metrics',
    );
    expect(seriesValue(metrics, 'baton_mcp_lifecycle_total', { server: 'calc', state: 'crashed' })).toBe(1);
    const { code, stdout, stderr } = await run.output;
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    for (const agent of summary.phases[0]!.agents) {
      const requests = model.server.messageRequests(agent.sessionId);
      expect(requests[1]!.view!.last).toMatch(/connection closed/i);
      expect(requests[2]!.view!.last).toBe('5');
    }
    const status = await runCli(['status', summary.runId, '--json'], { env: env() });
    const health = (JSON.parse(status.stdout) as { mcpHealth: Array<Record<string, unknown>> }).mcpHealth;
    expect(health.find((h) => h.name === 'calc')).toMatchObject({ calls: 4, failures: 2, crashes: 1, restarts: 1 });
    expect(leftoverServers()).toEqual([]);
  });

  it('a shared memory server SIGKILLed from outside between two calls is restarted: a later agent reads what was stored before; status counts the crash', async () => {
    const path = workflow(
      'killed-server',
      `  - { id: store, agents: [{ id: writer, prompt: Store the launch date, mcpServers: [memory] }] }
  - { id: recall, dependsOn: [store], agents: [{ id: slow, prompt: Slow recall of the launch, mcpServers: [memory] }] }
  - { id: read, dependsOn: [recall], agents: [{ id: reader, prompt: Read the launch date, mcpServers: [memory] }] }
`,
    );
    const run = startCli(['run', path, '--json'], { env: env() });
    const store = openSqliteStore({ dataDir: dataDir() });
    try {
      const killed = await waitFor(
        async () => {
          const [latest] = await store.listRuns({ limit: 1 });
          if (latest?.workflowName !== 'killed-server') return undefined;
          const slow = (await store.listAgents(latest.id)).find((a) => a.id === 'slow');
          if (!slow || model.server.messageRequests(slow.sessionId).length < 2) return undefined;
          return mcpServerProcessesWithEnv(model.home.dir, 'memory')[0];
        },
        90_000,
        'the slow agent to have had its answer from memory',
      );
      process.kill(killed, 'SIGKILL');
      const { code, stdout, stderr } = await run.output;
      expect(code, stderr).toBe(0);
      const summary = JSON.parse(stdout) as RunSummary;
      const reader = summary.phases[2]!.agents[0]!;
      expect(model.server.messageRequests(reader.sessionId)[1]!.view!.last).toContain('set for March 3');
      const status = await runCli(['status', summary.runId, '--json'], { env: env() });
      const health = (JSON.parse(status.stdout) as { mcpHealth: Array<Record<string, unknown>> }).mcpHealth;
      expect(health.find((h) => h.name === 'memory')).toMatchObject({
        calls: 3,
        failures: 0,
        crashes: 1,
        restarts: 1,
        breaker: 'closed',
      });
      expect(leftoverServers()).toEqual([]);
    } finally {
      run.kill('SIGKILL');
      await store.close();
    }
  });

  it('the live gateway of a run refuses a request without its secret, or with a wrong one; no MCP server, nor what its launcher started, outlives the run cancelled', async () => {
    const path = workflow(
      'cancelled',
      `  - { id: only, agents: [{ id: slow, prompt: Slow recall of the plan, mcpServers: [memory, files] }] }
`,
      '',
      true,
    );
    const orchestrator = startCli(['run', path, '--json'], { env: env() });
    const store = openSqliteStore({ dataDir: dataDir() });
    try {
      const runId = await waitFor(
        async () => {
          const [run] = await store.listRuns({ limit: 1 });
          if (!run || run.workflowName !== 'cancelled') return undefined;
          const [agent] = await store.listAgents(run.id);
          return agent && model.server.messageRequests(agent.sessionId).length >= 2 ? run.id : undefined;
        },
        90_000,
        'the agent to have called its MCP server',
      );
      // The URL the agent was given (its secret is not written down): an initialize without the secret is refused.
      const given = JSON.parse(readFileSync(join(dataDir(), 'runs', runId, 'mcp', 'slow.json'), 'utf8')) as {
        mcpServers: { memory: { url: string } };
      };
      const initialize = (headers: Record<string, string>) =>
        fetch(given.mcpServers.memory.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'initialize',
            params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'outsider', version: '1' } },
          }),
        });
      expect((await initialize({})).status).toBe(401);
      expect((await initialize({ 'x-baton-gateway-token': '[REDACTED]' })).status).toBe(401);
      orchestrator.kill('SIGTERM');
      await orchestrator.output;
      expect(leftoverServers()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

/** The parent of a live process (undefined once it has exited). */
const parentOf = (pid: number): number | undefined => listProcesses().find((p) => p.pid === pid)?.ppid;

describe('MCP gateway: cancel during preflight', () => {
  it('a run cancelled while its shared server is still starting stops at once, its agent cancelled, nothing left', async () => {
    const path = workflow(
      'preflight',
      `  - { id: only, agents: [{ id: waiting, prompt: Ping the slow one, mcpServers: [slow] }] }
`,
      `  slow: { command: ${process.execPath}, args: [${faultServer}, --start-delay, '600000'] }\n`,
    );
    // A preflight allowed ten minutes: the cancel must not wait it out.
    const run = startCli(['run', path, '--json'], { env: { ...env(), BATON_MCP_TIMEOUT_MS: '600000' } });
    await waitFor(() => leftoverServers().length > 0 || undefined, 60_000, 'the slow server to be starting');
    run.kill('SIGTERM');
    const { code, stdout, stderr } = await run.output;
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(1);
    const summary = JSON.parse(stdout) as RunSummary;
    expect(summary.status).toBe('cancelled');
    expect(summary.phases[0]!.agents[0]).toMatchObject({ status: 'cancelled', error: { code: 'BATON_CANCELLED' } });
    expect(leftoverServers()).toEqual([]);
  });
});

describe('MCP gateway: orchestrator SIGKILLed during preflight', () => {
  // scope run: the gateway's server; scope agent: the preflight's probe of it, Baton's child until the agent starts.
  it.each(['run', 'agent'])(
    'a server of scope %s still starting (not yet reading its stdin) dies with an orchestrator that is SIGKILLed',
    async (scope) => {
      const path = workflow(
        `killed-early-${scope}`,
        `  - { id: only, agents: [{ id: waiting, prompt: Ping the slow one, mcpServers: [slow] }] }
`,
        `  slow: { command: ${process.execPath}, args: [${faultServer}, --start-delay, '600000'], scope: ${scope} }\n`,
      );
      const run = startCli(['run', path, '--json'], { env: { ...env(), BATON_MCP_TIMEOUT_MS: '600000' } });
      try {
        await waitFor(() => leftoverServers().length > 0 || undefined, 60_000, 'the slow server to be starting');
        run.kill('SIGKILL');
        await run.output;
        // Its stdin closed with Baton, but it reads nothing yet: Baton's watchdog stops it, as it stops agents.
        await waitFor(() => leftoverServers().length === 0 || undefined, 10_000, 'the server to stop');
      } finally {
        for (const pid of leftoverServers()) process.kill(pid, 'SIGKILL');
      }
    },
  );
});

describe.runIf(requireProgram('redis-server'))('MCP gateway on a baton worker (real redis-server and claude)', () => {
  const redis = useRedisServer();

  it("two agents of a run on one worker share the worker's one memory server; none is left after the run", async () => {
    const path = workflow(
      'worker',
      `  - { id: store, agents: [{ id: writer, prompt: Store the launch date, mcpServers: [memory] }] }
  - { id: read, dependsOn: [store], agents: [{ id: reader, prompt: Read the launch date, mcpServers: [memory] }] }
`,
    );
    const redisEnv = { ...env(), BATON_REDIS_URL: redis.server.url };
    const worker = startCli(['worker', '--concurrency', '2'], { env: redisEnv });
    // Every memory server seen while the run goes on, with its parent: the worker, claude or the orchestrator.
    const seen = new Map<number, number | undefined>();
    const sampler = setInterval(() => {
      for (const pid of leftoverServers()) if (!seen.has(pid)) seen.set(pid, parentOf(pid));
    }, 100);
    try {
      await waitFor(() => worker.stderrSoFar().includes('ready') || undefined, 60_000, 'the worker to be ready');
      const run = startCli(['run', path, '--json'], { env: redisEnv });
      const { code, stdout, stderr } = await run.output;
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(code).toBe(0);
      const summary = JSON.parse(stdout) as RunSummary;
      const agents = summary.phases.flatMap((p) => p.agents);
      expect(agents.map((a) => a.status)).toEqual(['succeeded', 'succeeded']);
      expect(worker.stderrSoFar()).toContain('reader');
      const reader = agents.find((a) => a.id === 'reader')!;
      expect(model.server.messageRequests(reader.sessionId)[1]!.view!.last).toContain('set for March 3');

      // One server on the worker served both agents; no claude started one of its own.
      const onWorker = [...seen].filter(([, parent]) => parent === worker.pid).map(([pid]) => pid);
      expect(onWorker).toHaveLength(1);
      expect([...seen].filter(([, parent]) => parent !== worker.pid && parent !== run.pid)).toEqual([]);
      // The run has ended, and baton run exited only once the worker, still running, had stopped the run's server.
      expect(leftoverServers()).toEqual([]);
      expect(worker.exitCode).toBeNull();
      // The worker's gateway carried both agents' calls; baton status, reading the store, shows them as the worker's.
      const status = await runCli(['status', summary.runId, '--json'], { env: redisEnv });
      const health = (JSON.parse(status.stdout) as { mcpHealth: Array<Record<string, unknown>> }).mcpHealth;
      const memory = health.find((h) => h.name === 'memory')!;
      expect(memory).toMatchObject({ scope: 'run', failures: 0, crashes: 0 });
      expect(memory.calls).toBeGreaterThanOrEqual(2);
      expect(memory.sources).toContain(`${hostname()}:${worker.pid}`);
    } finally {
      clearInterval(sampler);
      worker.kill('SIGTERM');
      await worker.output;
    }
    expect(leftoverServers()).toEqual([]);
  });

  it("baton run exits only once the worker has stopped the run's shared server, however slowly it stops", async () => {
    // Through the launcher, which ignores SIGTERM and leaves a helper that does too: stopping takes the
    // worker's SIGKILL after its grace, seconds after the run has ended.
    const path = workflow(
      'worker-slow-stop',
      `  - { id: store, agents: [{ id: writer, prompt: Store the launch date, mcpServers: [memory] }] }\n`,
      '',
      true,
    );
    const redisEnv = { ...env(), BATON_REDIS_URL: redis.server.url };
    const worker = startCli(['worker'], { env: redisEnv });
    try {
      await waitFor(() => worker.stderrSoFar().includes('ready') || undefined, 60_000, 'the worker to be ready');
      const { code, stderr } = await runCli(['run', path, '--json'], { env: redisEnv });
      expect(stderr).not.toMatch(/\n\s+at |warning: worker/);
      expect(code).toBe(0);
      expect(leftoverServers()).toEqual([]);
      expect(worker.exitCode).toBeNull();
    } finally {
      worker.kill('SIGTERM');
      await worker.output;
    }
  });
});
