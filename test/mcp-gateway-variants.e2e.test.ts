import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../src/api/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { openRedisStore, openSqliteStore, type Store } from '../src/store/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { agentProcessesWithEnv, mcpServerOf, mcpServerProcessesWithEnv } from './support/processes.js';
import { listProcesses } from '../src/core/index.js';
import { requireProgram } from './support/programs.js';
import { freePort, useRedisServer } from './support/redis.js';
import { useScriptedModel } from './support/scripted-model.js';
import { launchDateRules, mcpCliEnv, nodeServerYaml, npmServers, toolThenText } from './support/mcp-servers.js';

// Variants of the gateway's required behaviour that test/mcp-gateway.e2e.test.ts does not cover: several
// shared servers at once with env secrets, an http server beside them, `baton cancel` from another
// process (locally and on a worker), the library's `run()` with an AbortSignal, and runs that use no server.

const model = useScriptedModel(
  {
    rules: [
      ...launchDateRules,
      ...toolThenText('Echo it', { name: 'mcp__everything__echo', input: { message: 'echo-marker-77' } }, 'Echoed.'),
      ...toolThenText('Echo over sse', { name: 'mcp__legacy__echo', input: { message: 'sse-marker-31' } }, 'Echoed.'),
      // Streams slowly (about 50 s in all), so the run is stopped while the agent and its servers run,
      // however long a busy machine takes to deliver the stop.
      ...toolThenText(
        'Slow recall',
        { name: 'mcp__memory__read_graph', input: {} },
        'Recalled slowly, word by word, as agents do.',
        10_000,
      ),
    ],
    default: { text: 'OK' },
  },
  'baton-gateway-variants-',
);

const dataDir = () => join(model.home.dir, 'data');
const env = (extra: Record<string, string> = {}) => mcpCliEnv(model, extra);

const leftoverServers = () => mcpServerProcessesWithEnv(model.home.dir);
const leftoverAgents = () => agentProcessesWithEnv(model.home.dir);

/** A live process's server name (Baton's marker) and parent, or undefined once it has exited. */
function serverProcess(pid: number): { name: string; parent: number } | undefined {
  const name = mcpServerOf(pid);
  const parent = listProcesses().find((p) => p.pid === pid)?.ppid;
  return name === undefined || parent === undefined ? undefined : { name, parent };
}

/** Every MCP server process of this test seen while `during` runs, by pid. */
async function serversSeenDuring<T>(during: () => Promise<T>) {
  const seen = new Map<number, { name: string; parent: number }>();
  const sampler = setInterval(() => {
    for (const pid of leftoverServers()) {
      const found = seen.has(pid) ? undefined : serverProcess(pid);
      if (found) seen.set(pid, found);
    }
  }, 50);
  try {
    return { result: await during(), seen: [...seen.values()] };
  } finally {
    clearInterval(sampler);
  }
}

function workflow(name: string, servers: string[], phases: string): string {
  const files = join(model.home.dir, 'files');
  mkdirSync(files, { recursive: true });
  writeFileSync(join(files, 'notes.txt'), 'launch notes\n');
  const path = join(model.home.dir, `${name}.yaml`);
  writeFileSync(path, `version: 1\nname: ${name}\nmcpServers:\n${servers.join('\n')}\nphases:\n${phases}`);
  return path;
}

/** The memory server from npm; through the server launcher when `launched`. */
const memory = (name: string, moreEnv = '', launched = false) =>
  `  memory: { ${nodeServerYaml(npmServers.memory, [], launched)}, env: { MEMORY_FILE_PATH: ${join(model.home.dir, `${name}-memory.json`)}${moreEnv} } }`;
const files = (launched = false) =>
  `  files: { ${nodeServerYaml(npmServers.filesystem, [join(model.home.dir, 'files')], launched)} }`;
const everything = () => `  everything: { command: ${process.execPath}, args: [${npmServers.everything}] }`;
const slowRecall = `  - { id: only, agents: [{ id: slow, prompt: Slow recall of the plan, mcpServers: [memory, files] }] }\n`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The id of the newest run of `workflowName` once its only agent has had a tool result back. */
const afterFirstToolCall = (store: Store, workflowName: string) =>
  waitFor(
    async () => {
      const [run] = await store.listRuns({ limit: 1 });
      if (!run || run.workflowName !== workflowName) return undefined;
      const [agent] = await store.listAgents(run.id);
      return agent && model.server.messageRequests(agent.sessionId).length >= 2 ? run.id : undefined;
    },
    90_000,
    'the agent to have called its MCP server',
  );

describe('MCP gateway variants with real agents', () => {
  it('several shared servers, parallel agents, two phases: one process per shared server, one per agent for files; env secrets appear nowhere', async () => {
    const secret = 'gateway-env-secret-9f8e7d6c5b4a';
    const literal = 'gateway-literal-secret-1a2b3c4d';
    const path = workflow(
      'mixed',
      [memory('mixed', `, API_KEY: "\${GATEWAY_TEST_SECRET}", OTHER_KEY: ${literal}`), files(), everything()],
      `  - id: one
    agents:
      - { id: writer, prompt: Store the launch date, mcpServers: [memory, files] }
      - { id: echoer, prompt: Echo it back, mcpServers: [everything, memory] }
  - id: two
    dependsOn: [one]
    agents:
      - { id: reader, prompt: Read the launch date, mcpServers: [memory, everything] }
      - { id: filer, prompt: Read the notes, mcpServers: [files, memory], cwd: ${join(model.home.dir, 'files')} }
`,
    );
    const runEnv = env({ GATEWAY_TEST_SECRET: secret, BATON_PARALLEL_LIMIT: '4', BATON_ENABLE_DEBUG_LOGGING: 'true' });
    const { result, seen } = await serversSeenDuring(() => startCli(['run', path, '--json'], { env: runEnv }).output);
    const { code, stdout, stderr } = result;
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    const agents = summary.phases.flatMap((p) => p.agents);
    expect(agents.map((a) => a.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const lastSeenBy = (id: string) => model.server.messageRequests(agents.find((a) => a.id === id)!.sessionId)[1]!;
    expect(lastSeenBy('reader').view!.last).toContain('set for March 3');
    expect(lastSeenBy('echoer').view!.last).toContain('echo-marker-77');
    expect(lastSeenBy('filer').view!.last).toContain('notes.txt');

    // memory and everything: one process each for four agents in two phases, Baton's (the orchestrator's)
    // child. files: its preflight's process (also Baton's, stopped after) and one per agent under claude.
    const orchestrator = seen.find((s) => s.name === 'memory')?.parent;
    expect(seen.filter((s) => s.name === 'memory')).toEqual([{ name: 'memory', parent: orchestrator }]);
    expect(seen.filter((s) => s.name === 'everything')).toEqual([{ name: 'everything', parent: orchestrator }]);
    expect(seen.filter((s) => s.name === 'files' && s.parent !== orchestrator)).toHaveLength(2);

    // Neither the expanded nor the literal env value of the shared server reaches any output, the store or the log.
    const status = await runCli(['status', summary.runId, '--json'], { env: runEnv });
    const written = filesUnder(dataDir()).map((file) => readFileSync(file, 'latin1'));
    for (const text of [stdout, stderr, status.stdout, ...written]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(literal);
    }
    expect(leftoverServers()).toEqual([]);
    expect(leftoverAgents()).toEqual([]);
  });

  it("servers from a project's .mcp.json (type stdio, ${VAR} in its env) and from BATON_MCP_SERVERS: memory shared, filesystem per agent", async () => {
    const dir = join(model.home.dir, 'sourced');
    mkdirSync(dir, { recursive: true });
    const memoryFile = join(model.home.dir, 'sourced-memory.json');
    writeFileSync(
      join(dir, '.mcp.json'),
      JSON.stringify({
        mcpServers: {
          memory: {
            type: 'stdio',
            command: process.execPath,
            args: [npmServers.memory],
            env: { MEMORY_FILE_PATH: '${SOURCED_MEMORY}' },
          },
        },
      }),
    );
    const path = join(dir, 'sourced.yaml');
    writeFileSync(
      path,
      `version: 1
name: sourced
phases:
  - { id: store, agents: [{ id: writer, prompt: Store the launch date, mcpServers: [memory] }] }
  - id: read
    dependsOn: [store]
    agents:
      - { id: reader, prompt: Read the launch date, mcpServers: [memory] }
      - { id: filer, prompt: Read the notes, mcpServers: [files], cwd: ${join(model.home.dir, 'files')} }
`,
    );
    mkdirSync(join(model.home.dir, 'files'), { recursive: true });
    writeFileSync(join(model.home.dir, 'files', 'notes.txt'), 'launch notes\n');
    const configServers = {
      files: { command: process.execPath, args: [npmServers.filesystem, join(model.home.dir, 'files')] },
    };
    const runEnv = env({ SOURCED_MEMORY: memoryFile, BATON_MCP_SERVERS: JSON.stringify(configServers) });
    const { result, seen } = await serversSeenDuring(() => startCli(['run', path, '--json'], { env: runEnv }).output);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as RunSummary;
    const agents = summary.phases.flatMap((p) => p.agents);
    const lastSeenBy = (id: string) => model.server.messageRequests(agents.find((a) => a.id === id)!.sessionId)[1]!;
    expect(lastSeenBy('reader').view!.last).toContain('set for March 3');
    expect(lastSeenBy('filer').view!.last).toContain('notes.txt');
    expect(readFileSync(memoryFile, 'utf8')).toContain('March 3');
    // One memory process for both phases, the orchestrator's child; files under the filer's claude.
    const orchestrator = seen.find((s) => s.name === 'memory')?.parent;
    expect(seen.filter((s) => s.name === 'memory')).toEqual([{ name: 'memory', parent: orchestrator }]);
    expect(seen.filter((s) => s.name === 'files' && s.parent !== orchestrator)).toHaveLength(1);
    const given = (agent: string) =>
      JSON.parse(readFileSync(join(dataDir(), 'runs', summary.runId, 'mcp', `${agent}.json`), 'utf8')) as {
        mcpServers: Record<string, Record<string, unknown>>;
      };
    expect(given('reader').mcpServers.memory).toMatchObject({ type: 'http' });
    expect(given('filer').mcpServers.files).toMatchObject({ command: process.execPath });
    expect(leftoverServers()).toEqual([]);
  });

  it('an http server passes straight through beside a shared stdio one', async () => {
    const port = await freePort();
    const remote = spawn(process.execPath, [npmServers.everything, 'streamableHttp'], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    remote.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    try {
      await waitFor(() => log.includes('listening') || undefined, 30_000, 'the http server to listen');
      const url = `http://127.0.0.1:${port}/mcp`;
      const path = workflow(
        'remote',
        [memory('remote'), `  everything: { type: http, url: "${url}", headers: { X-Key: "\${REMOTE_KEY}" } }`],
        `  - { id: one, agents: [{ id: echoer, prompt: Echo it back, mcpServers: [everything, memory] }] }\n`,
      );
      const { code, stdout } = await runCli(['run', path, '--json'], { env: env({ REMOTE_KEY: 'remote-key-1234' }) });
      expect(code).toBe(0);
      const summary = JSON.parse(stdout) as RunSummary;
      const echoer = summary.phases[0]!.agents[0]!;
      expect(model.server.messageRequests(echoer.sessionId)[1]!.view!.last).toContain('echo-marker-77');
      const given = JSON.parse(readFileSync(join(dataDir(), 'runs', summary.runId, 'mcp', 'echoer.json'), 'utf8')) as {
        mcpServers: Record<string, { url: string }>;
      };
      expect(given.mcpServers.everything).toEqual({ type: 'http', url, headers: { 'X-Key': '${REMOTE_KEY}' } });
      expect(given.mcpServers.memory!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp\/memory$/);
    } finally {
      remote.kill();
    }
  });

  it('an sse server passes straight through too', async () => {
    const port = await freePort();
    const remote = spawn(process.execPath, [npmServers.everything, 'sse'], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    for (const stream of [remote.stdout, remote.stderr])
      stream.on('data', (chunk: Buffer) => (log += chunk.toString()));
    try {
      await waitFor(() => log.includes(`running on port ${port}`) || undefined, 30_000, 'the sse server to listen');
      const url = `http://127.0.0.1:${port}/sse`;
      const path = workflow(
        'legacy',
        [memory('legacy'), `  legacy: { type: sse, url: "${url}" }`],
        `  - { id: one, agents: [{ id: echoer, prompt: Echo over sse, mcpServers: [legacy, memory] }] }\n`,
      );
      const { result, seen } = await serversSeenDuring(() => runCli(['run', path, '--json'], { env: env() }));
      expect(result.code).toBe(0);
      const summary = JSON.parse(result.stdout) as RunSummary;
      const echoer = summary.phases[0]!.agents[0]!;
      expect(model.server.messageRequests(echoer.sessionId)[1]!.view!.last).toContain('sse-marker-31');
      const given = JSON.parse(readFileSync(join(dataDir(), 'runs', summary.runId, 'mcp', 'echoer.json'), 'utf8')) as {
        mcpServers: Record<string, { url: string }>;
      };
      expect(given.mcpServers.legacy).toEqual({ type: 'sse', url });
      expect(seen.map((s) => s.name)).toEqual(['memory']); // the sse server is no process of Baton's
    } finally {
      remote.kill();
    }
  });

  it('a run that gives no agent a server starts none', async () => {
    const path = workflow(
      'none',
      [memory('none'), files(), everything()],
      `  - { id: one, agents: [{ id: plain, prompt: Say hello }, { id: empty, prompt: Store the launch date, mcpServers: [] }] }\n`,
    );
    const { result, seen } = await serversSeenDuring(() => runCli(['run', path, '--json'], { env: env() }));
    expect(result.code).toBe(0);
    expect(seen).toEqual([]);
  });

  it('baton cancel from another process leaves no MCP server (nor what their launchers started) or claude', async () => {
    const path = workflow('cancel', [memory('cancel', '', true), files(true)], slowRecall);
    const orchestrator = startCli(['run', path, '--json'], { env: env() });
    const store = openSqliteStore({ dataDir: dataDir() });
    try {
      const runId = await afterFirstToolCall(store, 'cancel');
      expect(leftoverServers().length).toBeGreaterThanOrEqual(6);
      expect((await runCli(['cancel', runId], { env: env() })).code).toBe(0);
      const { stdout } = await orchestrator.output;
      expect((JSON.parse(stdout) as RunSummary).status).toBe('cancelled');
      expect(leftoverServers()).toEqual([]);
      expect(leftoverAgents()).toEqual([]);
    } finally {
      orchestrator.kill('SIGKILL');
      await store.close();
    }
  });

  it('run() from the API: the shared server carries across phases; aborting its signal leaves nothing', async () => {
    const options = { env: env() as Record<string, string>, dataDir: dataDir(), cwd: model.home.dir };
    const path = workflow(
      'api',
      [memory('api')],
      `  - { id: one, agents: [{ id: writer, prompt: Store the launch date, mcpServers: [memory] }] }
  - { id: two, dependsOn: [one], agents: [{ id: reader, prompt: Read the launch date, mcpServers: [memory] }] }
`,
    );
    const { result: summary, seen } = await serversSeenDuring(() => run(path, options).result);
    expect(summary.status).toBe('succeeded');
    const reader = summary.phases[1]!.agents[0]!;
    expect(model.server.messageRequests(reader.sessionId)[1]!.view!.last).toContain('set for March 3');
    expect(seen.map((s) => [s.name, s.parent])).toEqual([['memory', process.pid]]);

    const abort = new AbortController();
    const handle = run(workflow('api-abort', [memory('api-abort'), files()], slowRecall), {
      ...options,
      signal: abort.signal,
    });
    handle.events.on('agent.tool', () => abort.abort());
    expect((await handle.result).status).toBe('cancelled');
    expect(leftoverServers()).toEqual([]);
    expect(leftoverAgents()).toEqual([]);
  });
});

describe.runIf(requireProgram('redis-server'))('MCP gateway on a worker: cancel (real redis-server and claude)', () => {
  const redis = useRedisServer();

  it("baton cancel of a run whose agent works on a worker stops the worker's shared server and the agent; the worker lives on", async () => {
    const redisEnv = { ...env(), BATON_REDIS_URL: redis.server.url };
    const worker = startCli(['worker', '--concurrency', '2'], { env: redisEnv });
    const orchestrator = startCli(['run', workflow('wcancel', [memory('wcancel'), files()], slowRecall), '--json'], {
      env: redisEnv,
    });
    const store = await openRedisStore({ url: redis.server.url });
    try {
      const runId = await afterFirstToolCall(store, 'wcancel');
      // The memory server the agent called is the worker's child.
      expect(leftoverServers().map((pid) => serverProcess(pid))).toContainEqual({ name: 'memory', parent: worker.pid });
      expect((await runCli(['cancel', runId], { env: redisEnv })).code).toBe(0);
      const { stdout } = await orchestrator.output;
      expect((JSON.parse(stdout) as RunSummary).status).toBe('cancelled');
      // The worker stopped them before it reported the agent's job done, so before the run ended.
      expect(leftoverServers()).toEqual([]);
      expect(leftoverAgents()).toEqual([]);
      expect(worker.exitCode).toBeNull();
    } finally {
      orchestrator.kill('SIGKILL');
      worker.kill('SIGTERM');
      await worker.output;
      await store.close();
    }
  });

  it("a worker SIGKILLed while its agent works takes its shared server's whole process group and the agent's with it", async () => {
    const redisEnv = { ...env(), BATON_REDIS_URL: redis.server.url };
    const worker = startCli(['worker', '--concurrency', '2'], { env: redisEnv });
    const path = workflow('wkilled', [memory('wkilled', '', true), files(true)], slowRecall);
    const orchestrator = startCli(['run', path, '--json'], { env: redisEnv });
    const store = await openRedisStore({ url: redis.server.url });
    try {
      const runId = await afterFirstToolCall(store, 'wkilled');
      // The launchers, the servers and their daemonized helpers: memory's under the worker, files' under claude.
      expect(leftoverServers().length).toBeGreaterThanOrEqual(6);
      worker.kill('SIGKILL');
      await worker.output;
      await waitFor(
        () => (leftoverServers().length === 0 && leftoverAgents().length === 0) || undefined,
        10_000,
        'the worker’s watchdog to stop its servers and agent',
      );
      expect((await runCli(['cancel', runId], { env: redisEnv })).code).toBe(0);
      await orchestrator.output;
    } finally {
      orchestrator.kill('SIGKILL');
      worker.kill('SIGKILL');
      for (const pid of [...leftoverServers(), ...leftoverAgents()]) process.kill(pid, 'SIGKILL');
      await store.close();
    }
  });
});
