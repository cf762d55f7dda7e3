import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli } from './support/cli.js';
import { useScriptedModel } from './support/scripted-model.js';

const modules = fileURLToPath(new URL('../node_modules/', import.meta.url));
const faultServer = fileURLToPath(new URL('./fixtures/fault-mcp-server.mjs', import.meta.url));
const memoryServer = join(modules, '@modelcontextprotocol/server-memory/dist/index.js');

const model = useScriptedModel(
  {
    rules: [
      // A real agent stores an entity in the real memory server, reads the graph back, then answers.
      {
        match: { prompt: 'Record the launch', turn: 1 },
        reply: {
          toolUse: {
            name: 'mcp__memory__create_entities',
            input: { entities: [{ name: 'Launch', entityType: 'event', observations: ['set for March 3'] }] },
          },
        },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Record the launch', turn: 2 },
        reply: { toolUse: { name: 'mcp__memory__read_graph', input: {} } },
        sequencePer: 'script',
      },
      { match: { prompt: 'Record the launch', turn: 3 }, reply: { text: 'Launch recorded.' }, sequencePer: 'script' },
      {
        match: { prompt: 'Ping both', turn: 1 },
        reply: { toolUse: { name: 'mcp__ok__ping', input: {} } },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Ping both' },
        reply: { text: 'Pinged what I could; dead was unavailable.' },
        sequencePer: 'script',
      },
      // The server answers one call, then dies: the agent gets an error for the second and carries on.
      {
        match: { prompt: 'Add twice', turn: 1 },
        reply: { toolUse: { name: 'mcp__calc__add', input: { a: 2, b: 3 } } },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Add twice', turn: 2 },
        reply: { toolUse: { name: 'mcp__calc__add', input: { a: 5, b: 5 } } },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Add twice' },
        reply: { text: 'First sum 5; the calculator died before the second.' },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'File the bug', turn: 1 },
        reply: { toolUse: { name: 'mcp__github__create_issue', input: { title: 'Crash on start' } } },
        sequencePer: 'script',
      },
      { match: { prompt: 'File the bug' }, reply: { text: 'Filed.' }, sequencePer: 'script' },
    ],
    default: { text: 'OK' },
  },
  'baton-mcp-',
);

function write(name: string, text: string): string {
  const path = join(model.home.dir, name);
  writeFileSync(path, text);
  return path;
}

// MCP tools are listed up front (not behind tool search) so the scripted model can call them by name.
const env = (extra: Record<string, string> = {}) =>
  model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'data'), ENABLE_TOOL_SEARCH: 'false', ...extra });

/** Runs a one-agent workflow with these MCP servers through `baton run --json`. */
async function runAgentWith(name: string, servers: string, agent: string, extraEnv: Record<string, string> = {}) {
  const workflow = write(
    `${name}.yaml`,
    `version: 1\nname: ${name}\nmcpServers:\n${servers}\nphases:\n  - id: only\n    agents: [${agent}]\n`,
  );
  const { code, stdout, stderr } = await runCli(['run', workflow, '--json'], { env: env(extraEnv) });
  expect(stderr).not.toMatch(/\n\s+at /);
  const summary = JSON.parse(stdout) as RunSummary;
  return { code, summary, agent: summary.phases[0]!.agents[0]! };
}

const faultEntry = (...args: string[]) =>
  `{ command: ${process.execPath}, args: [${[faultServer, ...args].join(', ')}] }`;

describe('MCP servers for real agents', () => {
  it('a real claude agent calls tools on a real MCP server chosen from its task, and the results reach the model', async () => {
    const { code, summary, agent } = await runAgentWith(
      'memory',
      `  memory: { command: ${process.execPath}, args: [${memoryServer}], env: { MEMORY_FILE_PATH: ${join(model.home.dir, 'memory.json')} } }\n  unused: ${faultEntry()}`,
      '{ id: recorder, prompt: "Record the launch date so we remember it" }',
    );
    expect(code).toBe(0);
    expect(agent).toMatchObject({ status: 'succeeded', result: 'Launch recorded.' });
    expect(agent.mcp).toEqual({
      servers: ['memory'],
      chosen: [{ name: 'memory', reasons: ['task mentions "remember" (memory keyword)'] }],
      missing: [],
    });

    const requests = model.server.messageRequests(agent.sessionId);
    expect(requests[0]!.view!.tools).toContain('mcp__memory__read_graph');
    expect(requests[0]!.view!.tools.some((t) => t.startsWith('mcp__unused__'))).toBe(false);
    // The real server's answers went back into the conversation.
    expect(requests[1]!.view!.last).toContain('"name":"Launch"');
    expect(requests[2]!.view!.last).toContain('set for March 3');
    // The per-agent config was written for inspection.
    const file = JSON.parse(
      readFileSync(join(model.home.dir, 'data', 'runs', summary.runId, 'mcp', 'recorder.json'), 'utf8'),
    ) as { mcpServers: Record<string, unknown> };
    expect(Object.keys(file.mcpServers)).toEqual(['memory']);
  });

  it('a run with one of two servers dead finishes degraded, with the missing server recorded and told to the agent; status says why', async () => {
    const { code, summary, agent } = await runAgentWith(
      'degraded',
      `  ok: ${faultEntry()}\n  dead: ${faultEntry('--exit-at-start')}`,
      '{ id: pinger, prompt: Ping both servers, mcpServers: [ok, dead], onMcpUnavailable: degrade }',
    );
    expect(code).toBe(0);
    expect(agent.status).toBe('succeeded');
    expect(agent.mcp?.servers).toEqual(['ok']);
    expect(agent.mcp?.missing).toEqual([
      {
        name: 'dead',
        error: { code: 'BATON_MCP_UNAVAILABLE', message: expect.stringContaining('MCP server "dead" is not up') },
      },
    ]);
    const requests = model.server.messageRequests(agent.sessionId);
    expect(requests[0]!.view!.system).toMatch(/- dead: UNAVAILABLE/);
    expect(requests[0]!.view!.system).toMatch(/- ok: available \(2 tools/);
    expect(requests[1]!.view!.last).toContain('pong');
    const status = await runCli(['status', summary.runId], { env: env() });
    expect(status.stdout).toMatch(/dead\s+run\s+breaker open .*last error: MCP server "dead" is not up/);
  });

  it('an MCP server that crashes mid-task fails that tool call, not the agent', async () => {
    const { code, agent } = await runAgentWith(
      'crash',
      `  calc: ${faultEntry('--crash-after', "'1'")}`,
      '{ id: adder, prompt: Add twice with the calculator, mcpServers: [calc] }',
    );
    expect(code).toBe(0);
    expect(agent.status).toBe('succeeded');
    const requests = model.server.messageRequests(agent.sessionId);
    expect(requests[1]!.view!.last).toBe('5');
    expect(requests[2]!.view!.last).not.toBe('10');
    expect(requests[2]!.view!.last).toMatch(/error|closed|not connected/i);
  });

  it('fail policy: the agent does not start when its server is down', async () => {
    const { code, agent } = await runAgentWith(
      'strict',
      `  dead: ${faultEntry('--exit-at-start')}`,
      '{ id: strict, prompt: Ping both servers, mcpServers: [dead], onMcpUnavailable: fail }',
    );
    expect(code).toBe(1);
    expect(agent).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'BATON_MCP_UNAVAILABLE' } });
    expect(model.server.messageRequests(agent.sessionId)).toEqual([]);
  });

  it('mock mode: an agent uses a mocked GitHub server offline, getting the scripted result', async () => {
    const github = [
      '  github:',
      '    command: github-mcp-server-that-is-not-installed',
      '    env: { GITHUB_TOKEN: "${GITHUB_TOKEN:-none}" }',
      '    mock:',
      '      tools: [{ name: create_issue, inputSchema: { type: object, properties: { title: { type: string } } } }]',
      '      results: { create_issue: "created issue #42" }',
    ].join('\n');
    const { code, agent } = await runAgentWith('mocked', github, '{ id: filer, prompt: File the bug on GitHub }', {
      BATON_USE_MOCK_MCP: 'true',
    });
    expect(code).toBe(0);
    expect(agent).toMatchObject({ status: 'succeeded', result: 'Filed.', mcp: { servers: ['github'] } });
    expect(model.server.messageRequests(agent.sessionId)[1]!.view!.last).toContain('created issue #42');
  });
});

describe('baton mcp', () => {
  it('analyze explains its choice', async () => {
    const { code, stdout } = await runCli(['mcp', 'analyze', 'Commit the fix and remember why', '--json'], {
      env: env({
        BATON_MCP_SERVERS: JSON.stringify({
          git: { command: 'uvx', args: ['mcp-server-git'] },
          memory: { command: 'x', args: ['server-memory'] },
        }),
      }),
    });
    expect(code).toBe(0);
    const analysis = JSON.parse(stdout) as { servers: Array<{ name: string; reasons: string[] }> };
    expect(analysis.servers.map((s) => s.name)).toEqual(['git', 'memory']);
    expect(analysis.servers[0]!.reasons).toContain('task mentions "commit" (git keyword)');
  });

  it('config prints the servers an agent gets, listed or chosen from its task, with ${VAR} left unexpanded', async () => {
    const workflow = write(
      'config.yaml',
      `version: 1
name: config
mcpServers:
  memory: { command: ${process.execPath}, args: [${memoryServer}], env: { TOKEN: "\${SECRET_TOKEN}" } }
  calc: ${faultEntry()}
phases:
  - id: only
    agents: [{ id: listed, prompt: anything, mcpServers: [calc] }, { id: chosen, prompt: Remember the plan }]
`,
    );
    const listed = await runCli(['mcp', 'config', workflow, '--agent', 'listed'], { env: env() });
    expect(listed.code).toBe(0);
    expect(Object.keys((JSON.parse(listed.stdout) as { mcpServers: object }).mcpServers)).toEqual(['calc']);
    const chosen = await runCli(['mcp', 'config', workflow, '--agent', 'chosen'], {
      env: env({ SECRET_TOKEN: 'tok_abcdefghijkl' }),
    });
    expect(JSON.parse(chosen.stdout)).toEqual({
      mcpServers: { memory: { command: process.execPath, args: [memoryServer], env: { TOKEN: '${SECRET_TOKEN}' } } },
    });
    const unknown = await runCli(['mcp', 'config', workflow, '--agent', 'nobody'], { env: env() });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('No agent "nobody"');
  });

  it('config of a remote server whose URL holds a key prints valid JSON, the key and password hidden', async () => {
    const workflow = write(
      'remote-config.yaml',
      `version: 1
name: remote
mcpServers:
  web: { type: http, url: "https://ops:pw12345678@mcp.example.com/mcp?api_key=live-abcdefgh", headers: { X-Team: ops } }
phases:
  - id: only
    agents: [{ id: a, prompt: anything, mcpServers: [web] }]
`,
    );
    const result = await runCli(['mcp', 'config', workflow, '--agent', 'a'], { env: env() });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      mcpServers: {
        web: {
          type: 'http',
          url: 'https://ops:***@mcp.example.com/mcp?api_key=[REDACTED]',
          headers: { 'X-Team': 'ops' },
        },
      },
    });
  });

  it('check reports each server, and exits 1 when one is down', async () => {
    const servers = {
      up: { command: process.execPath, args: [faultServer] },
      down: { command: process.execPath, args: [faultServer, '--exit-at-start'] },
    };
    const { code, stdout } = await runCli(['mcp', 'check', '--json'], {
      env: env({ BATON_MCP_SERVERS: JSON.stringify(servers) }),
    });
    expect(code).toBe(1);
    const rows = JSON.parse(stdout) as Array<{ name: string; status: string; tools: number; attempts: number }>;
    expect(rows).toEqual([
      expect.objectContaining({ name: 'up', status: 'up', tools: 2, attempts: 1 }),
      expect.objectContaining({ name: 'down', status: 'down', tools: 0, attempts: 3 }),
    ]);
  });

  it('a missing environment variable reports the server down, naming the variable', async () => {
    const servers = { gh: { command: 'gh-mcp', env: { TOKEN: '${MISSING_TOKEN_FOR_TEST}' } } };
    const { code, stdout } = await runCli(['mcp', 'check', '--json'], {
      env: env({ BATON_MCP_SERVERS: JSON.stringify(servers) }),
    });
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toEqual([
      expect.objectContaining({
        name: 'gh',
        status: 'down',
        error: expect.objectContaining({ message: expect.stringContaining('MISSING_TOKEN_FOR_TEST') }),
      }),
    ]);
  });
});
