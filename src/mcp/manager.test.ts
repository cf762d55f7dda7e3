import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { BatonError, ErrorCodes } from '../core/index.js';
import { buildCatalog, launchConfig, type McpServerEntry } from './catalog.js';
import { McpManager, type McpManagerOptions } from './manager.js';
import { analyzeRequirements } from './requirements.js';
import { MockMcpHost } from './mock.js';
import type { McpProbe } from './probe.js';

const modules = fileURLToPath(new URL('../../node_modules/', import.meta.url));
const faultServer = fileURLToPath(new URL('../../test/fixtures/fault-mcp-server.mjs', import.meta.url));
const node = (script: string, ...args: string[]): McpServerEntry => ({
  command: process.execPath,
  args: [script, ...args],
});
const memory = node(join(modules, '@modelcontextprotocol/server-memory/dist/index.js'));
const fault = (...args: string[]) => node(faultServer, ...args);

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function manager(servers: Record<string, McpServerEntry>, options: Partial<McpManagerOptions> = {}): McpManager {
  const m = new McpManager({
    catalog: buildCatalog({ workflow: servers }),
    env: {},
    timeoutMs: 5000,
    retryBaseDelayMs: 10,
    ...options,
  });
  cleanups.push(() => m.close());
  return m;
}

describe('availability checking', () => {
  it('finds the real npm servers up, with their tools', async () => {
    const filesystem = node(join(modules, '@modelcontextprotocol/server-filesystem/dist/index.js'), tmpdir());
    const everything = node(join(modules, '@modelcontextprotocol/server-everything/dist/index.js'));
    const health = await manager({ memory, filesystem, everything }).check(['memory', 'filesystem', 'everything']);
    expect(health.map((h) => [h.name, h.status, h.attempts, h.breaker])).toEqual([
      ['memory', 'up', 1, 'closed'],
      ['filesystem', 'up', 1, 'closed'],
      ['everything', 'up', 1, 'closed'],
    ]);
    const tools = Object.fromEntries(health.map((h) => [h.name, h.tools.map((t) => t.name)]));
    expect(tools.memory).toContain('read_graph');
    expect(tools.filesystem).toContain('read_text_file');
    expect(tools.everything).toContain('echo');
  });

  it('accepts a slow server that answers within the timeout', async () => {
    const [health] = await manager({ slow: fault('--start-delay', '400') }, { timeoutMs: 4000 }).check(['slow']);
    expect(health).toMatchObject({ status: 'up', attempts: 1 });
    expect(health!.latencyMs).toBeGreaterThanOrEqual(400);
  });

  it('gives up on a server that hangs on tools/list at the timeout, without retrying', async () => {
    const [health] = await manager({ stuck: fault('--hang-on-list') }, { timeoutMs: 800 }).check(['stuck']);
    expect(health).toMatchObject({ status: 'down', attempts: 1, error: { code: 'BATON_MCP_UNAVAILABLE' } });
    expect(health!.error!.message).toMatch(/did not answer initialize \+ tools\/list within 800 ms/);
  });

  it('retries a crashing server, then opens its breaker and fails fast', async () => {
    const m = manager({ broken: fault('--exit-at-start') });
    const states: string[] = [];
    m.events.on('mcp.breaker', (e) => states.push(e.state));
    const [first] = await m.check(['broken']);
    expect(first).toMatchObject({ status: 'down', attempts: 3, breaker: 'open' });
    expect(states).toEqual(['open']);
    const [second] = await m.check(['broken']);
    expect(second).toMatchObject({ status: 'down', attempts: 0, breaker: 'open' });
    expect(second!.error!.message).toMatch(/circuit breaker is open/);
  });

  it('probes all servers of a request in parallel', async () => {
    let inFlight = 0;
    let peak = 0;
    const probe: McpProbe = async () => {
      peak = Math.max(peak, ++inFlight);
      await sleep(50);
      inFlight--;
      return [{ name: 't' }];
    };
    const names = ['a', 'b', 'c', 'd', 'e'];
    const health = await manager(Object.fromEntries(names.map((n) => [n, fault()])), { probe }).check(names);
    expect(health.every((h) => h.status === 'up')).toBe(true);
    expect(peak).toBe(5);
  });

  it('shares one probe between agents checking the same server at once', async () => {
    let probes = 0;
    const probe: McpProbe = async () => {
      probes++;
      await sleep(30);
      return [{ name: 't' }];
    };
    const health = await Promise.all([1, 2, 3].map(() => manager({ a: fault() }, { probe }).check(['a'])));
    expect(probes).toBe(3); // separate managers do not share
    probes = 0;
    const shared = manager({ a: fault() }, { probe });
    const together = await Promise.all([1, 2, 3].map(() => shared.checkOne('a')));
    expect(probes).toBe(1);
    expect(together.every((h) => h.status === 'up')).toBe(true);
    expect(health.flat().every((h) => h.status === 'up')).toBe(true);
  });

  it('answers a second check of a healthy server from the cache', async () => {
    let probes = 0;
    const probe: McpProbe = async () => {
      probes++;
      return [{ name: 't' }];
    };
    const m = manager({ a: fault() }, { probe, cacheTtlMs: 60_000 });
    await m.check(['a']);
    const [again] = await m.check(['a']);
    expect(again).toMatchObject({ status: 'up', cached: true, tools: [{ name: 't' }] });
    expect(probes).toBe(1);
  });

  it('re-probes a broken server in the background and closes its breaker when it recovers', async () => {
    let healthy = false;
    const probe: McpProbe = async () => {
      if (!healthy) throw new BatonError(ErrorCodes.mcpUnavailable, 'down for now');
      return [{ name: 't' }];
    };
    const m = manager({ flaky: fault() }, { probe, breakerHalfOpenAfterMs: 50, monitorIntervalMs: 20 });
    const states: string[] = [];
    m.events.on('mcp.breaker', (e) => states.push(e.state));
    await m.check(['flaky']);
    expect(m.breakerState('flaky')).toBe('open');
    m.startMonitor();
    healthy = true;
    for (let i = 0; i < 100 && m.breakerState('flaky') !== 'closed'; i++) await sleep(20);
    expect(m.breakerState('flaky')).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });
});

describe('agent MCP plans and graceful degradation', () => {
  const up: McpProbe = async (name) => {
    if (name === 'dead') throw new BatonError(ErrorCodes.mcpUnavailable, `MCP server "${name}" is not up: exited`);
    return [{ name: `${name}_tool` }];
  };
  const servers = { memory, dead: fault('--exit-at-start'), git: { command: 'uvx', args: ['mcp-server-git'] } };

  it('config generation: gives an agent only the servers it needs, launch-ready', async () => {
    const plan = await manager(servers, { probe: up }).prepareAgent({
      agentId: 'a',
      task: 'Remember the release date',
      policy: 'fail',
    });
    expect(Object.keys(plan.servers)).toEqual(['memory']);
    // Launch-ready, marked so a leftover process can be found, and with V8's compile cache (Node ≥ 22.1).
    expect(plan.servers.memory).toEqual({
      ...memory,
      env: { BATON_MCP_SERVER: 'memory', NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? expect.any(String) },
    });
    expect(plan.chosen).toEqual([{ name: 'memory', reasons: ['task mentions "remember" (memory keyword)'] }]);
    expect(plan.available).toEqual([{ name: 'memory', tools: 1 }]);
  });

  it("gives an agent with servers claude's own tool-call bound (MCP_TOOL_TIMEOUT) after mcp_call_timeout_ms, unless its environment sets one", async () => {
    const plan = (env: NodeJS.ProcessEnv, requested: string[]) =>
      manager(servers, { probe: up, callTimeoutMs: 1000, env }).prepareAgent({
        agentId: 'a',
        task: 'x',
        requested,
        policy: 'fail',
      });
    // A little later than the gateway's, so a shared server's call gets the gateway's error first.
    expect((await plan({}, ['memory'])).env).toEqual({ MCP_TOOL_TIMEOUT: '6000' });
    expect((await plan({ MCP_TOOL_TIMEOUT: '42' }, ['memory'])).env).toEqual({});
    expect((await plan({}, [])).env).toBeUndefined();
  });

  it("without a gateway, names the agent's shared servers for a worker's, with the run's directory and MCP timeouts", async () => {
    const plan = await manager(
      { memory, pinned: { ...fault(), scope: 'agent' } },
      { probe: up, cwd: '/run/dir', timeoutMs: 7000, callTimeoutMs: 1000 },
    ).prepareAgent({ agentId: 'a', task: 'x', requested: ['memory', 'pinned'], policy: 'fail' });
    expect(plan).toMatchObject({
      shared: ['memory'],
      sharedCwd: '/run/dir',
      sharedTimeouts: { startMs: 7000, callMs: 1000 },
    });
  });

  it("uses the workflow's list when there is one, and [] means none", async () => {
    const m = manager(servers, { probe: up });
    expect(
      Object.keys(
        (await m.prepareAgent({ agentId: 'a', task: 'Remember it', requested: ['git'], policy: 'fail' })).servers,
      ),
    ).toEqual(['git']);
    expect(
      (await m.prepareAgent({ agentId: 'a', task: 'Remember it', requested: [], policy: 'fail' })).servers,
    ).toEqual({});
  });

  it("a server down at preflight shows in the run's health with why, not only its breaker", async () => {
    const m = manager(servers, { probe: up });
    await m.prepareAgent({ agentId: 'a', task: 'x', requested: ['memory', 'dead'], policy: 'degrade' });
    expect(m.runHealth().find((h) => h.name === 'dead')).toMatchObject({
      calls: 0,
      lastError: 'MCP server "dead" is not up: exited',
    });
    expect(m.runHealth().find((h) => h.name === 'memory')).not.toHaveProperty('lastError');
  });

  it('degrade: starts without the dead server and records it', async () => {
    const plan = await manager(servers, { probe: up }).prepareAgent({
      agentId: 'a',
      task: 'x',
      requested: ['memory', 'dead'],
      policy: 'degrade',
    });
    expect(Object.keys(plan.servers)).toEqual(['memory']);
    expect(plan.missing).toEqual([
      { name: 'dead', error: { code: 'BATON_MCP_UNAVAILABLE', message: 'MCP server "dead" is not up: exited' } },
    ]);
  });

  it('fail: refuses to start the agent, naming the server', async () => {
    await expect(
      manager(servers, { probe: up }).prepareAgent({
        agentId: 'a',
        task: 'x',
        requested: ['memory', 'dead'],
        policy: 'fail',
      }),
    ).rejects.toThrow(/Agent a needs MCP servers that are not up \(dead: MCP server "dead" is not up: exited\)/);
  });

  it('wait: holds the agent until the server comes up', async () => {
    let attempts = 0;
    const recovering: McpProbe = async () => {
      if (++attempts < 3) throw new BatonError(ErrorCodes.mcpUnavailable, 'starting');
      return [{ name: 't' }];
    };
    const plan = await manager(
      { later: fault() },
      { probe: recovering, maxAttempts: 1, breakerThreshold: 10 },
    ).prepareAgent({ agentId: 'a', task: 'x', requested: ['later'], policy: 'wait' });
    expect(plan.missing).toEqual([]);
    expect(Object.keys(plan.servers)).toEqual(['later']);
  });

  it('stops waiting for a server that is still starting when the agent is cancelled', async () => {
    const starting: McpProbe = () => new Promise(() => undefined);
    const cancel = new AbortController();
    const m = manager({ slow: fault() }, { probe: starting, timeoutMs: 600_000 });
    const planned = m.prepareAgent({
      agentId: 'a',
      task: 'x',
      requested: ['slow'],
      policy: 'fail',
      signal: cancel.signal,
    });
    cancel.abort(new BatonError(ErrorCodes.cancelled, 'run cancelled'));
    await expect(planned).rejects.toThrow('run cancelled');
  });

  it('close stops a probe that still waits for its server to start', async () => {
    const m = manager({ slow: fault('--start-delay', '600000') }, { timeoutMs: 600_000 });
    const checked = m.check(['slow']);
    m.close();
    expect(await checked).toEqual([expect.objectContaining({ name: 'slow', status: 'down' })]);
  });

  it('wait: gives up when the agent is cancelled', async () => {
    const signal = AbortSignal.timeout(300);
    const m = manager({ dead: fault() }, { probe: up, maxAttempts: 1, breakerThreshold: 100 });
    await expect(
      m.prepareAgent({ agentId: 'a', task: 'x', requested: ['dead'], policy: 'wait', signal }),
    ).rejects.toThrow(/not up/);
  });
});

describe('catalog', () => {
  it('expands ${VAR} and ${VAR:-default}, naming the server and variable when one is missing', () => {
    const catalog = buildCatalog({
      workflow: { gh: { command: 'gh-mcp', args: ['--org', '${ORG:-acme}'], env: { TOKEN: '${GITHUB_TOKEN}' } } },
    });
    expect(launchConfig(catalog.get('gh')!, { GITHUB_TOKEN: 't0k' })).toEqual({
      command: 'gh-mcp',
      args: ['--org', 'acme'],
      env: { TOKEN: 't0k' },
    });
    expect(() => launchConfig(catalog.get('gh')!, {})).toThrow(
      /MCP server "gh" needs the environment variable GITHUB_TOKEN, which is not set/,
    );
  });

  it('merges config < .mcp.json < workflow', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-mcp-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, '.mcp.json'),
      JSON.stringify({ mcpServers: { a: { command: 'from-project' }, b: { command: 'from-project' } } }),
    );
    const catalog = buildCatalog({
      config: { a: { command: 'from-config' }, c: { command: 'from-config' } },
      projectDirs: [dir],
      workflow: { b: { command: 'from-workflow' } },
    });
    expect([...catalog.values()].map((s) => [s.name, 'command' in s.entry ? s.entry.command : ''])).toEqual([
      ['baton', process.execPath],
      ['a', 'from-project'],
      ['c', 'from-config'],
      ['b', 'from-workflow'],
    ]);
  });

  it("has Baton's own server built in: this Node running this CLI's mcp-server on the data_dir, unless a declared baton replaces it", () => {
    const builtIn = buildCatalog({ dataDir: '/data' }).get('baton')!;
    expect(builtIn.source).toBe('built-in');
    // Tests run from source, so the CLI starts through tsx, found by absolute path (agents run elsewhere).
    expect(builtIn.entry).toMatchObject({
      command: process.execPath,
      args: [
        '--import',
        expect.stringMatching(/^file:\/\/.*\/node_modules\/tsx\/.+\.mjs$/),
        fileURLToPath(new URL('../cli/main.ts', import.meta.url)),
        'mcp-server',
        '--data-dir',
        '/data',
      ],
    });
    expect(
      analyzeRequirements('Explain the diagnostics in the open files', buildCatalog({})).servers.map((s) => s.name),
    ).toEqual(['baton']);

    const declared = buildCatalog({ workflow: { baton: { command: 'my-baton' } } }).get('baton')!;
    expect(declared).toMatchObject({ source: 'workflow', entry: { command: 'my-baton' } });
  });
});

describe('mock MCP mode', () => {
  it('serves the recorded tools of a real server and answers calls with scripted results', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'baton-snap-'));
    cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
    const snapshotDir = join(parent, 'mcp-snapshots');
    // A real check records the server's tools/list, readable by its owner only...
    await manager({ memory }, { snapshotDir }).check(['memory']);
    expect(statSync(snapshotDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(snapshotDir, 'memory.tools.json')).mode & 0o777).toBe(0o600);
    // ...which mock mode replays without starting the server.
    const host = await MockMcpHost.start();
    cleanups.push(() => host.close());
    const mocked = manager(
      { memory: { ...memory, mock: { results: { read_graph: '{"entities":[{"name":"mocked"}]}' } } } },
      { snapshotDir, mock: host },
    );
    const [health] = await mocked.check(['memory']);
    expect(health!.status).toBe('up');
    expect(health!.tools.map((t) => t.name)).toContain('create_entities');

    const launch = mocked.launch('memory');
    expect(launch).toMatchObject({ type: 'http' });
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL((launch as { url: string }).url)));
    const result = await client.callTool({ name: 'read_graph', arguments: {} });
    await client.close();
    expect(result.content).toEqual([{ type: 'text', text: '{"entities":[{"name":"mocked"}]}' }]);
    expect(host.calls).toEqual([{ server: 'memory', tool: 'read_graph', arguments: {} }]);
  });

  it('serves declared mock tools, and says what to do when there are none', async () => {
    const host = await MockMcpHost.start();
    cleanups.push(() => host.close());
    const m = manager(
      { github: { command: 'gh-mcp', mock: { tools: [{ name: 'create_issue' }] } }, pg: { command: 'pg-mcp' } },
      { mock: host },
    );
    const [github, pg] = await m.check(['github', 'pg']);
    expect(github).toMatchObject({ status: 'up', tools: [{ name: 'create_issue' }] });
    expect(pg).toMatchObject({ status: 'down', error: { code: 'BATON_MCP_CONFIG_INVALID' } });
    expect(pg!.error!.message).toMatch(/declare mock\.tools/);
  });
});
