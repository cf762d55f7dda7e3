import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeClient, type BridgeEndpoint, type BridgeEvent } from '../src/bridge/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { processesWithEnv } from './support/processes.js';
import { requireProgram } from './support/programs.js';
import { useScriptedModel } from './support/scripted-model.js';

const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));

const model = useScriptedModel(
  {
    rules: [
      // A real agent asks the IDE what is going on, records a decision, then asks the graph about it.
      {
        match: { prompt: 'diagnostics of the open files', turn: 1 },
        reply: { toolUse: { name: 'mcp__baton__ide_state', input: {} } },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'diagnostics of the open files', turn: 2 },
        reply: {
          toolUse: {
            name: 'mcp__baton__add_knowledge',
            input: {
              kind: 'decision',
              text: 'greet returns a string; fix the caller, not the type (deploy key dk-live-0123456789abcdef)',
              about: ['greet.ts'],
            },
          },
        },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'diagnostics of the open files', turn: 3 },
        reply: { toolUse: { name: 'mcp__baton__query_knowledge', input: { question: 'decisions about greet.ts' } } },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'diagnostics of the open files' },
        reply: { text: 'greet.ts has one type error.' },
        sequencePer: 'script',
      },
    ],
    default: { text: 'OK' },
  },
  'baton-bridge-',
);

type Cli = ReturnType<typeof startCli>;
let project: string;
let env: NodeJS.ProcessEnv;
let bridge: Cli;
let watcher: Cli;
let endpoint: BridgeEndpoint;
const clients: BridgeClient[] = [];

/** Resolves with what the client receives until `done` says the list is complete. */
function receiveUntil(client: BridgeClient, done: (events: BridgeEvent[]) => boolean): Promise<BridgeEvent[]> {
  const events: BridgeEvent[] = [];
  return new Promise((resolve) => {
    const off = client.events.on('event', (event) => {
      events.push(event);
      if (done(events)) {
        off();
        resolve(events);
      }
    });
  });
}

async function connect(name: string): Promise<BridgeClient> {
  const client = await BridgeClient.connect(endpoint, { name });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  const dataDir = join(model.home.dir, 'data');
  // Agents' MCP tools are listed up front so the scripted model can call them; the built-in server
  // starts through tsx from source here, slower than the built CLI, hence the roomy preflight timeout.
  env = model.home.cliEnv(model.url, {
    BATON_DATA_DIR: dataDir,
    ENABLE_TOOL_SEARCH: 'false',
    BATON_MCP_TIMEOUT_MS: '30000',
  });
  project = join(model.home.dir, 'project');
  mkdirSync(project);
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, noEmit: true, types: [] }, include: ['*.ts'] }),
  );
  writeFileSync(join(project, 'greet.ts'), 'export const greet = (name: string): string => `hi ${name}`;\n');
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: project });

  bridge = startCli(['bridge', '--port', '0'], { env });
  const url = await waitFor(
    () => /listening on (http:\/\/\S+)/.exec(bridge.stdoutSoFar())?.[1],
    30_000,
    'the bridge address',
  );
  endpoint = { url, token: readFileSync(join(dataDir, 'bridge.token'), 'utf8').trim() };
  watcher = startCli(['bridge', 'watch', project, '--diagnostics', `${process.execPath} ${tsc} --pretty false -p .`], {
    env,
  });
  await waitFor(() => watcher.stdoutSoFar().includes('Watching '), 30_000, 'the watcher to start');
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const child of [watcher, bridge]) child?.kill('SIGTERM');
  const [watched, bridged] = await Promise.all([watcher?.output, bridge?.output]);
  expect(watched?.code).toBe(0);
  expect(bridged?.code).toBe(0);
  expect(processesWithEnv(model.home.dir)).toEqual([]);
});

describe.runIf(requireProgram('git'))('context bridge (baton bridge + baton bridge watch + baton mcp-server)', () => {
  it('the watcher pushes a file change and its diagnostic; a subscribed client receives both, in order', async () => {
    const agentSide = await connect('subscriber');
    await agentSide.subscribe({ types: ['file.changed', 'diagnostics.updated'], paths: ['**/greet.ts'] });
    const delivered = receiveUntil(agentSide, (events) => events.some((e) => e.event.type === 'diagnostics.updated'));

    writeFileSync(
      join(project, 'greet.ts'),
      'export const greet = (name: string): string => `hi ${name}`;\nexport const count: number = greet("x");\n',
    );

    const events = await delivered;
    expect(events.map((e) => e.event.type)).toEqual(['file.changed', 'diagnostics.updated']);
    expect(events[0]!.seq).toBeLessThan(events[1]!.seq);
    expect(events[0]).toMatchObject({
      source: 'watch:project',
      event: {
        path: join(project, 'greet.ts'),
        change: 'changed',
        diff: expect.stringContaining('+export const count: number = greet("x");'),
      },
    });
    expect(events[1]!.event).toEqual({
      type: 'diagnostics.updated',
      path: join(project, 'greet.ts'),
      diagnostics: [
        {
          severity: 'error',
          code: 'TS2322',
          message: "Type 'string' is not assignable to type 'number'.",
          range: { start: { line: 1, character: 13 }, end: { line: 1, character: 13 } },
        },
      ],
    });
  }, 60_000);

  it('a real claude agent, given the built-in baton server by task analysis, calls ide_state and the knowledge tools, and the answers reach the model', async () => {
    // What an editor plugin would add: the file is open and something is selected.
    const editor = await connect('nvim');
    await editor.push({ type: 'file.opened', path: join(project, 'greet.ts'), language: 'typescript' });
    await editor.push({
      type: 'selection.changed',
      path: join(project, 'greet.ts'),
      range: { start: { line: 1, character: 0 }, end: { line: 1, character: 12 } },
      text: 'export const',
    });

    const workflow = join(model.home.dir, 'ide.yaml');
    writeFileSync(
      workflow,
      'version: 1\nname: ide\nphases:\n  - id: look\n    agents: [{ id: looker, prompt: "Explain the diagnostics of the open files", env: { DEPLOY_KEY: dk-live-0123456789abcdef } }]\n',
    );
    const { code, stdout, stderr } = await runCli(['run', workflow, '--json'], { env });
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(0);
    const agent = (JSON.parse(stdout) as RunSummary).phases[0]!.agents[0]!;
    expect(agent.mcp?.servers).toEqual(['baton']);
    expect(agent.mcp?.chosen?.[0]?.reasons).toContain('task mentions "diagnostics" (declared by baton)');

    const requests = model.server.messageRequests(agent.sessionId);
    expect(requests).toHaveLength(4);
    expect(requests[0]!.view!.tools).toEqual(
      expect.arrayContaining([
        'mcp__baton__ide_state',
        'mcp__baton__recent_changes',
        'mcp__baton__diagnostics',
        'mcp__baton__query_knowledge',
        'mcp__baton__add_knowledge',
      ]),
    );
    // Each parameter's .describe() reaches the model, through the MCP SDK's tools/list and claude.
    const offered = (requests[0]!.body as { tools: Array<{ name: string; input_schema: unknown }> }).tools;
    expect(offered.find((t) => t.name === 'mcp__baton__recent_changes')?.input_schema).toMatchObject({
      properties: { limit: { description: 'at most this many, the newest', default: 20 } },
    });
    const ideState = JSON.parse(requests[1]!.view!.last) as {
      activeFile: string;
      openFiles: Array<{ path: string }>;
      selection: { text: string };
      diagnostics: { errors: number; files: Array<{ path: string; errors: number }> };
      git: { branch: string };
    };
    expect(ideState).toMatchObject({
      activeFile: join(project, 'greet.ts'),
      openFiles: [{ path: join(project, 'greet.ts'), language: 'typescript' }],
      selection: { text: 'export const' },
      diagnostics: { errors: 1, files: [{ path: join(project, 'greet.ts'), errors: 1, warnings: 0 }] },
      git: { branch: 'main' },
    });
    expect(requests[2]!.view!.last).toMatch(/^Recorded decision decision:[0-9a-f]+: greet returns a string/);
    expect(requests[3]!.view!.last).toContain('greet returns a string; fix the caller, not the type');
    // The agent's secret it recorded was kept out of the graph (`baton mcp-server` redacts add_knowledge).
    expect(requests[3]!.view!.last).toContain('(deploy key [REDACTED])');
  }, 120_000);

  it('baton mcp check baton: the built-in server passes preflight with its five tools', async () => {
    const { code, stdout } = await runCli(['mcp', 'check', 'baton', '--json'], { env });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([expect.objectContaining({ name: 'baton', status: 'up', tools: 5 })]);
  }, 60_000);

  it('refuses a connection without the token, and answers a malformed message without dropping anyone', async () => {
    const refused = await new Promise<number>((resolve) =>
      new WebSocket(endpoint.url.replace('http', 'ws')).once('unexpected-response', (_req, res) =>
        resolve(res.statusCode ?? 0),
      ),
    );
    expect(refused).toBe(401);
    expect((await fetch(`${endpoint.url}/state`)).status).toBe(401);

    const sloppy = await connect('sloppy');
    const bystander = await connect('bystander');
    await bystander.subscribe({ types: ['terminal.output'] });
    const refusal = new Promise((resolve) => sloppy.events.on('refused', resolve));
    sloppy.sendRaw('{"type": "terminal.output", "data": ');
    expect(await refusal).toMatchObject({ code: 'BATON_BRIDGE_MALFORMED_JSON' });
    const next = receiveUntil(bystander, (events) => events.length === 1);
    await sloppy.push({ type: 'terminal.output', data: 'still here\n' });
    expect((await next)[0]!.event).toMatchObject({ data: 'still here\n' });
  });

  it('100 clients × 100 events through the real bridge process: a subscriber gets all 10,000, in order', async () => {
    const observer = await connect('observer');
    await observer.subscribe({ types: ['terminal.output'] });
    const pushers = await Promise.all(Array.from({ length: 100 }, (_, i) => connect(`load-${i}`)));
    const all = receiveUntil(observer, (events) => events.length === 100 * 100);
    // Fire and forget, as an editor would; each client's last push is acknowledged.
    await Promise.all(
      pushers.map(async (client, i) => {
        for (let n = 0; n < 99; n++) client.send({ type: 'terminal.output', terminal: `t${i}`, data: `${n}\n` });
        await client.push({ type: 'terminal.output', terminal: `t${i}`, data: '99\n' });
      }),
    );
    const events = await all;
    const byTerminal = new Map<string, string[]>();
    for (const { event } of events)
      if (event.type === 'terminal.output')
        byTerminal.set(event.terminal, [...(byTerminal.get(event.terminal) ?? []), event.data]);
    expect(byTerminal.size).toBe(100);
    for (const lines of byTerminal.values()) expect(lines).toEqual(Array.from({ length: 100 }, (_, n) => `${n}\n`));
    expect(events.every((e, i) => i === 0 || e.seq > events[i - 1]!.seq)).toBe(true);
    await Promise.all(pushers.map((c) => c.close()));
  }, 60_000);
});
