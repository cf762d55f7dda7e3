import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/cli.js';
import type { McpLaunchConfig, McpServerEntry } from './catalog.js';
import { McpGateway } from './gateway.js';
import type { McpManager } from './manager.js';
import { newGatewayToken, startMcp } from './setup.js';

const modules = fileURLToPath(new URL('../../node_modules/', import.meta.url));
const faultServer = fileURLToPath(new URL('../../test/fixtures/fault-mcp-server.mjs', import.meta.url));
const node = (script: string, ...args: string[]): McpServerEntry => ({
  command: process.execPath,
  args: [script, ...args],
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function gatewayRun(
  servers: Record<string, McpServerEntry>,
  timeoutMs = 10_000,
  callTimeoutMs?: number,
): Promise<McpManager> {
  return (await startGatewayRun(servers, timeoutMs, callTimeoutMs)).manager;
}

/** A run's MCP servers behind its gateway, as `startMcp` gives them (`close` is the run's end). */
async function startGatewayRun(
  servers: Record<string, McpServerEntry>,
  timeoutMs = 10_000,
  callTimeoutMs?: number,
): ReturnType<typeof startMcp> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-gateway-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const mcp = await startMcp({
    configServers: {},
    projectDirs: [],
    workflowServers: servers,
    env: { MEMORY_FILE_PATH: join(dir, 'memory.json') },
    timeoutMs,
    useMock: false,
    dataDir: dir,
    cwd: dir,
    gateway: { token: newGatewayToken() },
    ...(callTimeoutMs ? { callTimeoutMs } : {}),
  });
  cleanups.push(() => mcp.close());
  return mcp;
}

/** An agent's side: the MCP SDK client over Streamable HTTP, with the config Baton gives claude. */
async function agentClient(config: McpLaunchConfig): Promise<Client> {
  if (!('url' in config)) throw new Error('expected an http config');
  const client = new Client({ name: 'agent', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: config.headers } }),
  );
  cleanups.push(() => client.close());
  return client;
}

/** A gateway sharing a real memory server, and the config an agent gets for it. */
async function memoryGateway(options: Parameters<typeof McpGateway.start>[0] = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'baton-gateway-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const gateway = await McpGateway.start(options);
  cleanups.push(() => gateway.close());
  gateway.upstream('memory', {
    command: process.execPath,
    args: [join(modules, '@modelcontextprotocol/server-memory/dist/index.js')],
    env: { MEMORY_FILE_PATH: join(dir, 'memory.json') },
  });
  const config = gateway.launchConfig('memory');
  if (!('url' in config)) throw new Error('expected an http config');
  return { gateway, config };
}

const text = (result: Awaited<ReturnType<Client['callTool']>>) =>
  (result.content as Array<{ type: string; text: string }>).map((c) => c.text).join('');

describe('MCP gateway', () => {
  it('closes the session of an agent that went away without ending it (as claude does), and keeps a live one', async () => {
    const { config } = await memoryGateway({ abandonedSessionMs: 300 });
    const live = await agentClient(config);
    const gone = await agentClient(config);
    await gone.callTool({ name: 'read_graph', arguments: {} });
    const goneSession = (gone.transport as StreamableHTTPClientTransport).sessionId!;
    const ask = (session: string) =>
      fetch(config.url, {
        method: 'POST',
        headers: {
          ...config.headers,
          'mcp-session-id': session,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
      });
    expect((await ask(goneSession)).status).toBe(200);
    await gone.close(); // the process exits: its streams close, no DELETE
    // Asking would be a sign of life: wait well past 300 ms (and the sweep) first.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await ask(goneSession)).status).toBe(404);
    // The live agent, idle as long but with its standing stream open, keeps its session.
    expect(text(await live.callTool({ name: 'read_graph', arguments: {} }))).toContain('entities');
  });

  it('keeps no session for an initialize it refused (no session id: no request nor the sweep could reach it)', async () => {
    const { gateway, config } = await memoryGateway();
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'agent', version: '1' } },
    };
    const refused = await fetch(config.url, {
      method: 'POST',
      headers: { ...config.headers, 'content-type': 'application/json', accept: 'text/plain' },
      body: JSON.stringify(initialize),
    });
    expect(refused.status).toBe(406);
    expect(gateway.sessionCount).toBe(0);
    // An agent that initializes properly keeps its session.
    await agentClient(config);
    expect(gateway.sessionCount).toBe(1);
  });

  it('shares one real memory server: what one agent stores, another reads; the preflight process is the one kept', async () => {
    const manager = await gatewayRun({
      memory: node(join(modules, '@modelcontextprotocol/server-memory/dist/index.js')),
    });
    const [health] = await manager.check(['memory']);
    expect(health).toMatchObject({ status: 'up' });
    const config = manager.launch('memory');
    expect(config).toMatchObject({
      type: 'http',
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/mcp\/memory$/),
    });

    const writer = await agentClient(config);
    await writer.callTool({
      name: 'create_entities',
      arguments: { entities: [{ name: 'Launch', entityType: 'event', observations: ['March 3'] }] },
    });
    const reader = await agentClient(config);
    expect(text(await reader.callTool({ name: 'read_graph', arguments: {} }))).toContain('March 3');
    const [memory] = manager.runHealth();
    expect(memory).toMatchObject({ name: 'memory', scope: 'run', calls: expect.any(Number), failures: 0, crashes: 0 });
    expect(memory!.calls).toBeGreaterThanOrEqual(2);
  });

  it('saves the health of a run for baton status while calls go through, not only at crashes and the end', async () => {
    const manager = await gatewayRun({ ok: node(faultServer) });
    const saved: Array<Array<{ name: string; calls: number }>> = [];
    manager.reportHealthTo(async (health) => void saved.push(health));
    await manager.check(['ok']);
    const agent = await agentClient(manager.launch('ok'));
    expect(text(await agent.callTool({ name: 'ping', arguments: {} }))).toBe('pong');
    await waitFor(
      () => saved.some((health) => health.some((h) => h.name === 'ok' && h.calls === 1)) || undefined,
      10_000,
      'the call to be saved',
    );
  });

  it('refuses a request without the run secret, or with a wrong one', async () => {
    const manager = await gatewayRun({ ok: node(faultServer) });
    await manager.check(['ok']);
    const config = manager.launch('ok');
    if (!('url' in config)) throw new Error('expected an http config');
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    };
    const post = (headers: Record<string, string>) =>
      fetch(config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify(initialize),
      });
    expect((await post({})).status).toBe(401);
    expect((await post({ 'x-baton-gateway-token': 'guess' })).status).toBe(401);
    // As long as the secret, and as long but for its last character: compared, not just measured.
    const secret = config.headers!['x-baton-gateway-token']!;
    const lastChanged = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    for (const wrong of [newGatewayToken(), lastChanged])
      expect((await post({ 'x-baton-gateway-token': wrong })).status).toBe(401);
    expect((await post(config.headers ?? {})).status).toBe(200);
    // With the secret but another Host (a browser led to loopback by a DNS name): refused.
    const url = new URL(config.url);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      for (const [name, value] of Object.entries({ ...config.headers, host: `attacker.example:${url.port}` }))
        req.setHeader(name, value);
      req.setHeader('content-type', 'application/json');
      req.end(JSON.stringify(initialize));
    });
    expect(status).toBe(403);
  });

  it("forwards a real server's resources, resource templates and prompts (server-everything)", async () => {
    const manager = await gatewayRun({
      everything: node(join(modules, '@modelcontextprotocol/server-everything/dist/index.js')),
    });
    await manager.check(['everything']);
    const agent = await agentClient(manager.launch('everything'));
    const { resources } = await agent.listResources();
    const architecture = resources.find((r) => r.uri.endsWith('/architecture.md'))!;
    const read = await agent.readResource({ uri: architecture.uri });
    expect(read.contents[0]).toMatchObject({ uri: architecture.uri, mimeType: 'text/markdown' });
    const { resourceTemplates } = await agent.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toContain('demo://resource/dynamic/text/{resourceId}');
    const { prompts } = await agent.listPrompts();
    expect(prompts.map((p) => p.name)).toContain('args-prompt');
    const prompt = await agent.getPrompt({ name: 'args-prompt', arguments: { city: 'Lisbon' } });
    expect(JSON.stringify(prompt.messages)).toContain('Lisbon');
    // An unknown resource is the server's answer (an MCP error), not the server's failure.
    await expect(agent.readResource({ uri: 'demo://nothing/here' })).rejects.toThrow();
    expect(manager.runHealth()[0]).toMatchObject({ name: 'everything', crashes: 0, breaker: 'closed' });
  });

  it('many agents calling one shared server at once each get the answer to their own call', async () => {
    const manager = await gatewayRun({ calc: node(faultServer, '--call-delay', '300') });
    await manager.check(['calc']);
    const agents = await Promise.all(Array.from({ length: 12 }, () => agentClient(manager.launch('calc'))));
    const rounds = [0, 1, 2].map((round) =>
      Promise.all(
        agents.map(async (agent, i) =>
          text(await agent.callTool({ name: 'add', arguments: { a: i, b: round * 100 } })),
        ),
      ),
    );
    expect(await Promise.all(rounds)).toEqual([0, 1, 2].map((round) => agents.map((_, i) => String(i + round * 100))));
    expect(manager.runHealth()[0]).toMatchObject({ name: 'calc', calls: 36, failures: 0 });
  });

  it("listens on loopback only: the machine's other addresses refuse its port", async () => {
    const { gateway, config } = await memoryGateway();
    expect(new URL(config.url).hostname).toBe('127.0.0.1');
    const connect = (host: string) =>
      new Promise<string>((resolve) => {
        const socket = createConnection({ host, port: gateway.port });
        const done = (outcome: string) => {
          socket.destroy();
          resolve(outcome);
        };
        socket.once('connect', () => done('connected'));
        socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
        socket.setTimeout(5000, () => done('timed out'));
      });
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((address) => address && !address.internal && !address.address.startsWith('fe80:'))
      .map((address) => address!.address);
    expect(await connect('127.0.0.1')).toBe('connected');
    for (const host of ['::1', ...others]) expect([host, await connect(host)]).toEqual([host, 'ECONNREFUSED']);
  });

  it("a session belongs to its server's path: its id at another server's path is refused, not served by the first server", async () => {
    const manager = await gatewayRun({ first: node(faultServer), second: node(faultServer, '--env-tool') });
    await manager.check(['first', 'second']);
    const first = manager.launch('first');
    const second = manager.launch('second');
    if (!('url' in first) || !('url' in second)) throw new Error('expected http configs');
    const post = (url: string, message: unknown, sessionId?: string) =>
      fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-03-26',
          ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
          ...second.headers,
        },
        body: JSON.stringify(message),
      });
    const opened = await post(first.url, {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    });
    const sessionId = opened.headers.get('mcp-session-id') ?? '';
    await post(first.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, sessionId);
    const listing = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    expect((await post(first.url, listing, sessionId)).status).toBe(200);
    expect((await post(second.url, listing, sessionId)).status).toBe(404);
  });

  it("a result over the MCP SDK's 10 MB stdio default reaches the agent, and the shared server keeps running for the others", async () => {
    const manager = await gatewayRun({ big: node(faultServer, '--big-result', String(12 * 1024 * 1024)) });
    await manager.check(['big']);
    const agent = await agentClient(manager.launch('big'));
    expect(text(await agent.callTool({ name: 'big', arguments: {} }))).toHaveLength(12 * 1024 * 1024);
    expect(text(await agent.callTool({ name: 'ping', arguments: {} }))).toBe('pong');
    expect(manager.runHealth()[0]).toMatchObject({ name: 'big', crashes: 0, failures: 0 });
  });

  it('a server that writes lines that are not JSON-RPC to stdout, and lists 2000 tools, serves agents all the same', async () => {
    const manager = await gatewayRun({ noisy: node(faultServer, '--garbage', '--many-tools', '2000') });
    const [health] = await manager.check(['noisy']);
    expect(health).toMatchObject({
      status: 'up',
      tools: expect.arrayContaining([expect.objectContaining({ name: 'tool_1999' })]),
    });
    const agent = await agentClient(manager.launch('noisy'));
    expect((await agent.listTools()).tools).toHaveLength(2002);
    expect(text(await agent.callTool({ name: 'add', arguments: { a: 20, b: 22 } }))).toBe('42');
    expect(manager.runHealth()[0]).toMatchObject({ name: 'noisy', crashes: 0, failures: 0 });
  });

  it('answers a body that is not JSON with 400, as the MCP SDK does, and a path that names no server with 404', async () => {
    const { config } = await memoryGateway();
    const response = await fetch(config.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...config.headers },
      body: '{not json',
    });
    expect(response.status).toBe(400);
    // A path that names no server, even one that is not valid percent-encoding, is a 404, not a failure.
    for (const path of ['/mcp/nobody', '/mcp/%E0%A4%A', '/elsewhere'])
      expect((await fetch(new URL(path, config.url), { method: 'POST', headers: config.headers })).status).toBe(404);
  });

  it('a server that crashes mid-run fails the call in flight, is restarted, and later calls succeed', async () => {
    const manager = await gatewayRun({ calc: node(faultServer, '--crash-after', '1') });
    await manager.check(['calc']);
    const agent = await agentClient(manager.launch('calc'));
    expect(text(await agent.callTool({ name: 'add', arguments: { a: 2, b: 3 } }))).toBe('5');
    await expect(agent.callTool({ name: 'add', arguments: { a: 5, b: 5 } })).rejects.toThrow(/closed/i);
    // The restarted process answers (and would crash again after one call: a fresh process).
    expect(text(await agent.callTool({ name: 'add', arguments: { a: 1, b: 1 } }))).toBe('2');
    expect(manager.runHealth()[0]).toMatchObject({ name: 'calc', crashes: 1, restarts: 1, failures: 1 });
  });

  it('a server that crashes at every call opens its breaker after three crashes in a row; then calls fail at once, saying so', async () => {
    const manager = await gatewayRun({ calc: node(faultServer, '--crash-after', '0') });
    await manager.check(['calc']);
    const agent = await agentClient(manager.launch('calc'));
    for (let i = 0; i < 3; i++)
      await expect(agent.callTool({ name: 'add', arguments: { a: 2, b: 3 } })).rejects.toThrow(/closed/i);
    expect(manager.breakerState('calc')).toBe('open');
    await expect(agent.callTool({ name: 'add', arguments: { a: 2, b: 3 } })).rejects.toThrow(
      /MCP server "calc" failed repeatedly; its circuit breaker is open/,
    );
    expect(manager.runHealth()[0]).toMatchObject({ name: 'calc', breaker: 'open', crashes: 3 });
  });

  it("a crash while three agents call the server fails their calls, and each one's next call succeeds", async () => {
    const manager = await gatewayRun({ calc: node(faultServer, '--exit-when-waiting', '3') });
    await manager.check(['calc']);
    const agents = await Promise.all([1, 2, 3].map(() => agentClient(manager.launch('calc'))));
    const calls = await Promise.allSettled(agents.map((a) => a.callTool({ name: 'add', arguments: { a: 13, b: 0 } })));
    expect(calls.map((c) => c.status)).toEqual(['rejected', 'rejected', 'rejected']);
    // One crash, not three failures in a row: the breaker stays closed and the restarted server answers.
    for (const agent of agents)
      expect(text(await agent.callTool({ name: 'add', arguments: { a: 2, b: 3 } }))).toBe('5');
    expect(manager.runHealth()[0]).toMatchObject({ name: 'calc', breaker: 'closed', crashes: 1, failures: 3 });
  });

  it('a call to a server that hangs while staying alive fails within mcp_call_timeout_ms, naming the server; its breaker opens after three', async () => {
    const manager = await gatewayRun({ stuck: node(faultServer, '--hang-tool') }, 10_000, 1000);
    await manager.check(['stuck']);
    const agent = await agentClient(manager.launch('stuck'));
    // The agent's own patience (30 s here; claude's is hours) is not what ends the call.
    const hang = () => agent.callTool({ name: 'hang', arguments: {} }, undefined, { timeout: 30_000 });
    await expect(hang()).rejects.toThrow(/"stuck" did not answer tools\/call within 1000 ms \(mcp_call_timeout_ms\)/);
    // The server is alive: its other tools answer, and the hung call is a failure, not a crash.
    expect(text(await agent.callTool({ name: 'ping', arguments: {} }))).toBe('pong');
    expect(manager.runHealth()[0]).toMatchObject({ name: 'stuck', failures: 1, crashes: 0 });
    for (let i = 0; i < 3; i++) await expect(hang()).rejects.toThrow(/mcp_call_timeout_ms/);
    expect(manager.breakerState('stuck')).toBe('open');
    // While it is open, a call fails at once with an MCP error that says which server and why.
    await expect(agent.callTool({ name: 'ping', arguments: {} })).rejects.toThrow(
      /MCP server "stuck" failed repeatedly; its circuit breaker is open/,
    );
  });

  it('a slow call whose server reports progress is not cut off by mcp_call_timeout_ms: each progress starts the wait again', async () => {
    const manager = await gatewayRun(
      { slow: node(faultServer, '--call-delay', '3000', '--progress-every', '200') },
      10_000,
      1000,
    );
    await manager.check(['slow']);
    const agent = await agentClient(manager.launch('slow'));
    let told = 0;
    const result = await agent.callTool({ name: 'add', arguments: { a: 1, b: 2 } }, undefined, {
      timeout: 30_000,
      onprogress: () => void told++,
    });
    expect(text(result)).toBe('3');
    expect(told).toBeGreaterThan(2);
    expect(manager.runHealth()[0]).toMatchObject({ name: 'slow', failures: 0 });
  });

  it("tells every agent's session the tool list changed when a crashed server comes back with other tools", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-gateway-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const starts = ['--starts', join(dir, 'starts'), '--later-tool', 'added'];
    const manager = await gatewayRun({ calc: node(faultServer, '--crash-after', '1', ...starts) });
    await manager.check(['calc']);
    const agent = await agentClient(manager.launch('calc'));
    const other = await agentClient(manager.launch('calc'));
    // Claude Code re-lists only for a server that declares it may tell of changes: the gateway can.
    expect(agent.getServerCapabilities()?.tools).toEqual({ listChanged: true });
    const told = { agent: 0, other: 0 };
    agent.setNotificationHandler(ToolListChangedNotificationSchema, () => void told.agent++);
    other.setNotificationHandler(ToolListChangedNotificationSchema, () => void told.other++);
    const names = async () => (await agent.listTools()).tools.map((t) => t.name);
    expect(await names()).not.toContain('added');
    expect(text(await agent.callTool({ name: 'add', arguments: { a: 2, b: 3 } }))).toBe('5');
    await expect(agent.callTool({ name: 'add', arguments: { a: 5, b: 5 } })).rejects.toThrow(/closed/i);
    await waitFor(() => (told.agent > 0 && told.other > 0) || undefined, 20_000, 'both sessions to be told');
    expect(await names()).toContain('added');
  });

  it('tells the sessions that listed them when a crashed server comes back with other resources or prompts, and only of what changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-gateway-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const later = ['--starts', join(dir, 'starts'), '--later-resource', 'added', '--later-prompt', 'added'];
    const manager = await gatewayRun({ calc: node(faultServer, '--crash-after', '1', ...later) });
    await manager.check(['calc']);
    const agent = await agentClient(manager.launch('calc'));
    // The server declares no listChanged: the gateway does, as it tells of changes across a restart.
    expect(agent.getServerCapabilities()).toMatchObject({
      resources: { listChanged: true },
      prompts: { listChanged: true },
    });
    const told: string[] = [];
    for (const schema of [
      ToolListChangedNotificationSchema,
      ResourceListChangedNotificationSchema,
      PromptListChangedNotificationSchema,
    ])
      agent.setNotificationHandler(schema, (notification) => void told.push(notification.method));
    const resources = async () => (await agent.listResources()).resources.map((r) => r.uri);
    const prompts = async () => (await agent.listPrompts()).prompts.map((p) => p.name);
    await agent.listTools();
    expect(await resources()).toEqual(['fault://base']);
    expect(await prompts()).toEqual(['base']);
    expect(text(await agent.callTool({ name: 'add', arguments: { a: 2, b: 3 } }))).toBe('5');
    await expect(agent.callTool({ name: 'add', arguments: { a: 5, b: 5 } })).rejects.toThrow(/closed/i);
    await waitFor(() => told.length >= 2 || undefined, 20_000, 'the session to be told');
    // The tools are the same after the restart: only the resources and prompts are told of.
    expect(told).toEqual(['notifications/resources/list_changed', 'notifications/prompts/list_changed']);
    expect(await resources()).toEqual(['fault://base', 'fault://added']);
    expect(await prompts()).toEqual(['base', 'added']);
  });

  it("calls cancelled by their agent do not count against the server's breaker: after three, the next is answered", async () => {
    const manager = await gatewayRun({ slow: node(faultServer, '--call-delay', '3000') });
    await manager.check(['slow']);
    const agent = await agentClient(manager.launch('slow'));
    for (let i = 0; i < 3; i++) {
      const cancel = new AbortController();
      const call = agent.callTool({ name: 'ping', arguments: {} }, undefined, { signal: cancel.signal });
      cancel.abort('the agent gave up');
      await expect(call).rejects.toThrow();
    }
    expect(text(await agent.callTool({ name: 'ping', arguments: {} }))).toBe('pong');
    expect(manager.breakerState('slow')).toBe('closed');
  });

  it('a server that dies after every start is restarted maxRestarts times in all, then waits for the next request', async () => {
    const lifecycle: string[] = [];
    const gateway = await McpGateway.start({
      maxRestarts: 3,
      restartBaseDelayMs: 1,
      onLifecycle: (event) => void lifecycle.push(event.state),
    });
    cleanups.push(() => gateway.close());
    const upstream = gateway.upstream('dying', {
      command: process.execPath,
      args: [faultServer, '--exit-after-start', '500'],
    });
    await upstream.client();
    await waitFor(() => lifecycle.includes('gave-up') || undefined, 20_000, 'the restarts to stop');
    expect(lifecycle).toEqual([
      'crashed',
      'restarted',
      'crashed',
      'restarted',
      'crashed',
      'restarted',
      'crashed',
      'gave-up',
    ]);
    expect(gateway.pids()).toEqual([]);
    // The next request starts it again, and it answers.
    const [tool] = (await (await upstream.client()).listTools()).tools;
    expect(tool?.name).toBe('ping');
  });

  it('a server that does not come back after a crash (its restart hangs at initialize) fails the calls waiting for it within mcp_timeout_ms', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-gateway-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const starts = join(dir, 'starts');
    const manager = await gatewayRun(
      { calc: node(faultServer, '--crash-after', '1', '--starts', starts, '--later-start-delay', '600000') },
      1500,
    );
    let gaveUp = false;
    manager.events.on('mcp.lifecycle', (event) => void (gaveUp ||= event.state === 'gave-up'));
    await manager.check(['calc']);
    const agent = await agentClient(manager.launch('calc'));
    expect(text(await agent.callTool({ name: 'add', arguments: { a: 2, b: 3 } }))).toBe('5');
    await expect(agent.callTool({ name: 'add', arguments: { a: 5, b: 5 } })).rejects.toThrow(/closed/i);
    // The restarted process never answers initialize: the next call gets an MCP error saying so, not a
    // wait as long as the agent's own patience (here 30 s; claude's is hours).
    await expect(
      agent.callTool({ name: 'add', arguments: { a: 1, b: 1 } }, undefined, { timeout: 30_000 }),
    ).rejects.toThrow(/"calc" did not come back within 1500 ms/);
    // Each restart is given as long, then stopped: the restarts end (none of them ever answered).
    await waitFor(() => gaveUp || undefined, 60_000, 'the restarts to stop');
    expect(readFileSync(starts, 'utf8').length).toBeGreaterThan(2);
    // Each failed restart counted against its breaker: the server reads as down, not closed with one crash.
    expect(manager.runHealth().find((h) => h.name === 'calc')).toMatchObject({ breaker: 'open', crashes: 1 });
  });

  it("a run that ends while a crashed server's restart hangs keeps the crash as the server's last error", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-gateway-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const run = await startGatewayRun(
      {
        calc: node(faultServer, '--crash-after', '1', '--starts', join(dir, 'starts'), '--later-start-delay', '600000'),
      },
      60_000,
    );
    await run.manager.check(['calc']);
    const agent = await agentClient(run.manager.launch('calc'));
    expect(text(await agent.callTool({ name: 'add', arguments: { a: 2, b: 3 } }))).toBe('5');
    await expect(agent.callTool({ name: 'add', arguments: { a: 5, b: 5 } })).rejects.toThrow(/closed/i);
    await run.close(); // the run ends while the restart still waits for initialize
    const calc = run.manager.runHealth().find((h) => h.name === 'calc');
    expect(calc).toMatchObject({ crashes: 1, restarts: 0 });
    // The call the crash cut off (or the crash itself), not the run's end.
    expect(calc?.lastError).toMatch(/Connection closed|"calc" exited while in use/);
  });

  it('close stops a shared server that is still starting, and the request waiting for it fails', async () => {
    const gateway = await McpGateway.start();
    cleanups.push(() => gateway.close());
    const upstream = gateway.upstream('slow', {
      command: process.execPath,
      args: [faultServer, '--start-delay', '600000'],
    });
    const starting = upstream.client();
    const pid = await waitFor(() => gateway.pids()[0], 10_000, 'the server process');
    await gateway.close();
    await expect(starting).rejects.toThrow(/stopped with its run/);
    // The SDK ends the process (stdin closed, then SIGTERM): it does not wait out its start.
    const alive = () => {
      try {
        return process.kill(pid, 0);
      } catch {
        return false;
      }
    };
    await waitFor(() => !alive() || undefined, 10_000, 'the server process to exit');
  });

  it('gives filesystem servers a private process per agent by default, and honours a declared scope', async () => {
    const manager = await gatewayRun({
      files: node(join(modules, '@modelcontextprotocol/server-filesystem/dist/index.js'), tmpdir()),
      pinned: { ...node(faultServer), scope: 'agent' },
      shared: node(faultServer),
      remote: { type: 'http', url: 'http://127.0.0.1:9/mcp' },
    });
    expect(['files', 'pinned', 'shared', 'remote'].map((n) => manager.scope(n))).toEqual([
      'agent',
      'agent',
      'run',
      'remote',
    ]);
    expect(manager.launch('pinned')).toMatchObject({ command: process.execPath });
    expect(manager.launch('remote')).toEqual({ type: 'http', url: 'http://127.0.0.1:9/mcp' });
    expect(manager.describe('shared')).toMatchObject({ headers: { 'x-baton-gateway-token': '<per-run secret>' } });
  });

  it("forwards a server's tools/list_changed to every agent's session, and a call's progress to its caller", async () => {
    const manager = await gatewayRun({ live: node(faultServer, '--list-changed', '--call-delay', '200') });
    await manager.check(['live']);
    const caller = await agentClient(manager.launch('live'));
    const other = await agentClient(manager.launch('live'));
    const told = { caller: 0, other: 0 };
    caller.setNotificationHandler(ToolListChangedNotificationSchema, () => void told.caller++);
    other.setNotificationHandler(ToolListChangedNotificationSchema, () => void told.other++);
    // Notifications ride each session's standing stream, which the client opens just after it connects.
    await waitFor(
      async () => {
        await caller.callTool({ name: 'ping', arguments: {} });
        return (told.caller > 0 && told.other > 0) || undefined;
      },
      10_000,
      'both sessions to be told the tool list changed',
    );

    const progress: Progress[] = [];
    const result = await caller.callTool({ name: 'add', arguments: { a: 1, b: 2 } }, undefined, {
      onprogress: (p) => void progress.push(p),
    });
    expect(text(result)).toBe('3');
    expect(progress.map((p) => [p.progress, p.total])).toEqual([
      [1, 2],
      [2, 2],
    ]);
  });
});
