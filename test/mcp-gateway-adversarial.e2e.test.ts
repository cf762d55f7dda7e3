import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../src/api/index.js';
import { McpGateway } from '../src/mcp/gateway.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { mcpCliEnv, nodeServerYaml, npmServers, toolThenText } from './support/mcp-servers.js';
import { agentProcessesWithEnv, mcpServerProcessesWithEnv, processesWithEnv } from './support/processes.js';
import { makeRepo } from './support/git-repo.js';
import { requireProgram } from './support/programs.js';
import { useRedisServer } from './support/redis.js';
import { useScriptedModel } from './support/scripted-model.js';

// The held-out side of issue 19: what an agent sees of a shared server should not depend on whether
// it is shared (scope run) or its own (scope agent), except its working directory.

const faultServer = fileURLToPath(new URL('./fixtures/fault-mcp-server.mjs', import.meta.url));

const model = useScriptedModel(
  {
    rules: [
      ...toolThenText('Ask the shared one', { name: 'mcp__shared__env', input: { name: 'AMBIENT_MARK' } }, 'Asked.'),
      ...toolThenText('Ask the own one', { name: 'mcp__own__env', input: { name: 'AMBIENT_MARK' } }, 'Asked.'),
      ...toolThenText('Ask what it was given', { name: 'mcp__shared__env', input: { name: 'GIVEN' } }, 'Asked.'),
      ...toolThenText(
        'Ask what the caller gave',
        { name: 'mcp__shared__env', input: { name: 'CALLER_MARK' } },
        'Asked.',
      ),
      ...toolThenText(
        'Ask the own what the caller gave',
        { name: 'mcp__own__env', input: { name: 'CALLER_MARK' } },
        'Asked.',
      ),
      ...toolThenText('Ping the flaky one', { name: 'mcp__flaky__add', input: { a: 40, b: 2 } }, 'Pinged.'),
      ...toolThenText('Ask the shared where it runs', { name: 'mcp__shared__cwd', input: {} }, 'Asked.'),
      // Four calls in a row to a server that dies at every call.
      ...[1, 2, 3, 4].map((turn) => ({
        match: { prompt: 'Crash it every time', turn },
        reply: { toolUse: { name: 'mcp__fragile__add', input: { a: 2, b: turn } } },
        sequencePer: 'script' as const,
      })),
      { match: { prompt: 'Crash it every time' }, reply: { text: 'Gave up on it.' }, sequencePer: 'script' as const },
      ...toolThenText('Call the stuck tool', { name: 'mcp__stuck__hang', input: {} }, 'It hung.'),
      ...toolThenText('Add remotely', { name: 'mcp__remote__add', input: { a: 19, b: 23 } }, 'Added.'),
      ...toolThenText('List allowed', { name: 'mcp__files__list_allowed_directories', input: {} }, 'Listed.'),
      // Streams slowly (about 40 s in all), so both runs are still going while the test looks at them.
      ...toolThenText(
        'Slow twin',
        { name: 'mcp__memory__read_graph', input: {} },
        'Recalled slowly, word by word, as twins do.',
        4_000,
      ),
    ],
    default: { text: 'OK' },
  },
  'baton-gateway-adv-',
);

const dataDir = () => join(model.home.dir, 'data');
const env = (extra: Record<string, string> = {}) => mcpCliEnv(model, extra);

function workflow(name: string, servers: string[], phases: string): string {
  mkdirSync(model.home.dir, { recursive: true });
  const path = join(model.home.dir, `${name}.yaml`);
  writeFileSync(path, `version: 1\nname: ${name}\nmcpServers:\n${servers.join('\n')}\nphases:\n${phases}`);
  return path;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    const stat = statSync(path, { throwIfNoEntry: false });
    return stat?.isDirectory() ? filesUnder(path) : stat?.isFile() ? [path] : [];
  });
}

describe('MCP gateway, held-out variants with real agents', () => {
  it('a shared server sees the environment Baton runs in, as the same server started per agent does', async () => {
    const path = workflow(
      'ambient',
      [
        `  shared: { ${nodeServerYaml(faultServer, ['--env-tool'])} }`,
        `  own: { ${nodeServerYaml(faultServer, ['--env-tool'])}, scope: agent }`,
      ],
      `  - id: one
    agents:
      - { id: sharer, prompt: Ask the shared one, mcpServers: [shared] }
      - { id: owner, prompt: Ask the own one, mcpServers: [own] }
`,
    );
    const { code, stdout, stderr } = await runCli(['run', path, '--json'], { env: env({ AMBIENT_MARK: 'ambient-7' }) });
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(0);
    const agents = (JSON.parse(stdout) as RunSummary).phases.flatMap((p) => p.agents);
    const answer = (id: string) =>
      model.server.messageRequests(agents.find((a) => a.id === id)!.sessionId)[1]!.view!.last;
    expect(answer('owner')).toContain('ambient-7');
    expect(answer('sharer')).toContain('ambient-7');
    expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
    expect(agentProcessesWithEnv(model.home.dir)).toEqual([]);
  });

  it('run() from the API: the environment it gives agents reaches a shared server, and ${VAR} in its entry is read from it', async () => {
    const path = workflow(
      'api-env',
      [`  shared: { ${nodeServerYaml(faultServer, ['--env-tool'])}, env: { GIVEN: "\${API_ONLY_MARK}-given" } }`],
      `  - id: one
    agents:
      - { id: sharer, prompt: Ask the shared one, mcpServers: [shared] }
      - { id: given, prompt: Ask what it was given, mcpServers: [shared] }
`,
    );
    const options = {
      env: env({ AMBIENT_MARK: 'api-ambient-3', API_ONLY_MARK: 'api-only-5' }) as Record<string, string>,
      dataDir: dataDir(),
      cwd: model.home.dir,
    };
    const summary = await run(path, options).result;
    expect(summary.status).toBe('succeeded');
    const agents = summary.phases.flatMap((p) => p.agents);
    const answer = (id: string) =>
      model.server.messageRequests(agents.find((a) => a.id === id)!.sessionId)[1]!.view!.last;
    expect(answer('sharer')).toContain('api-ambient-3');
    expect(answer('given')).toContain('api-only-5-given');
    expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
  });

  it('a shared server down at preflight that comes up while its agent waits (onMcpUnavailable: wait) serves the agent, one process', async () => {
    const starts = join(model.home.dir, 'flaky-starts');
    const path = workflow(
      'flaky',
      [`  flaky: { ${nodeServerYaml(faultServer, ['--starts', starts, '--failed-starts', '"4"'])} }`],
      `  - id: one
    agents:
      - { id: waiter, prompt: Ping the flaky one, mcpServers: [flaky], onMcpUnavailable: wait, timeoutMs: 120000 }
`,
    );
    const { code, stdout, stderr } = await runCli(['run', path, '--json'], { env: env() });
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code, stderr).toBe(0);
    const [agent] = (JSON.parse(stdout) as RunSummary).phases.flatMap((p) => p.agents);
    expect(agent).toMatchObject({ status: 'succeeded' });
    expect(model.server.messageRequests(agent!.sessionId)[1]!.view!.last).toContain('42');
    // The four failed starts, the one that came up (kept, and shared): no start per agent or per call.
    expect(readFileSync(starts, 'utf8')).toBe('.....');
    expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
  });

  it('a shared server that hangs on a call while staying alive: claude gets an MCP error after BATON_MCP_CALL_TIMEOUT_MS and its agent goes on; status counts the failure', async () => {
    const path = workflow(
      'stuck',
      [`  stuck: { ${nodeServerYaml(faultServer, ['--hang-tool'])} }`],
      `  - { id: one, agents: [{ id: caller, prompt: Call the stuck tool, mcpServers: [stuck] }] }\n`,
    );
    const cliEnv = env({ BATON_MCP_CALL_TIMEOUT_MS: '3000' });
    const { code, stdout, stderr } = await runCli(['run', path, '--json'], { env: cliEnv });
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    const [agent] = summary.phases.flatMap((p) => p.agents);
    expect(agent).toMatchObject({ status: 'succeeded', result: expect.stringContaining('It hung.') });
    // What claude handed the model back for its call: the gateway's error, naming the server and the key.
    expect(model.server.messageRequests(agent!.sessionId)[1]!.view!.last).toMatch(
      /"stuck" did not answer tools\/call within 3000 ms \(mcp_call_timeout_ms\)/,
    );
    const status = await runCli(['status', summary.runId, '--json'], { env: cliEnv });
    const health = (
      JSON.parse(status.stdout) as { mcpHealth: Array<{ name: string; failures: number; crashes: number }> }
    ).mcpHealth;
    expect(health).toEqual([expect.objectContaining({ name: 'stuck', failures: 1, crashes: 0 })]);
    expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
  });

  it('a shared server that dies at every call: each call fails at once, the third crash opens its breaker, the run ends; status shows it', async () => {
    const path = workflow(
      'fragile',
      [`  fragile: { ${nodeServerYaml(faultServer, ['--crash-after', "'0'"], true)} }`],
      `  - { id: one, agents: [{ id: caller, prompt: Crash it every time, mcpServers: [fragile] }] }\n`,
    );
    const { code, stdout, stderr } = await runCli(['run', path, '--json'], { env: env() });
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    const [agent] = summary.phases.flatMap((p) => p.agents);
    expect(agent).toMatchObject({ status: 'succeeded', result: expect.stringContaining('Gave up on it.') });
    const results = model.server
      .messageRequests(agent!.sessionId)
      .slice(1)
      .map((r) => r.view!.last);
    for (const result of results.slice(0, 3)) expect(result).toMatch(/connection closed/i);
    // The fourth is refused by the breaker, without starting the server again.
    expect(results[3]).toMatch(/MCP server "fragile" failed repeatedly; its circuit breaker is open/);
    const status = await runCli(['status', summary.runId], { env: env() });
    expect(status.stdout).toMatch(/fragile\s+run\s+breaker open\s+4 call\(s\), 4 failed.*3 crash\(es\)/);
    expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
  });

  it("an agent's own server (scope agent) that hangs on a call is bounded by mcp_call_timeout_ms too: Baton gives claude MCP_TOOL_TIMEOUT", async () => {
    const path = workflow(
      'stuck-own',
      [`  stuck: { ${nodeServerYaml(faultServer, ['--hang-tool'])}, scope: agent }`],
      `  - { id: one, agents: [{ id: caller, prompt: Call the stuck tool, mcpServers: [stuck], timeoutMs: 60000 }] }\n`,
    );
    const { code, stdout, stderr } = await runCli(['run', path, '--json'], {
      env: env({ BATON_MCP_CALL_TIMEOUT_MS: '3000' }),
    });
    expect(code, stderr).toBe(0);
    const [agent] = (JSON.parse(stdout) as RunSummary).phases.flatMap((p) => p.agents);
    expect(agent).toMatchObject({ status: 'succeeded', result: expect.stringContaining('It hung.') });
    // Claude's own timeout, a little after the gateway's would fire (the gateway's error comes first for shared servers).
    expect(model.server.messageRequests(agent!.sessionId)[1]!.view!.last).toMatch(/"stuck".*timed out after 8s/);
    expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
  });

  it('an http server that requires a secret header gets it from ${VAR} through claude; the value is written nowhere', async () => {
    // Another Baton's gateway stands in for a remote server that refuses requests without its header.
    const remote = await McpGateway.start();
    try {
      remote.upstream('calc', { command: process.execPath, args: [faultServer] });
      const path = workflow(
        'remote-header',
        [
          `  remote: { type: http, url: "${remote.url('calc')}", headers: { x-baton-gateway-token: "\${REMOTE_KEY}" } }`,
        ],
        `  - { id: one, agents: [{ id: adder, prompt: Add remotely, mcpServers: [remote], onMcpUnavailable: fail }] }\n`,
      );
      const { code, stdout, stderr } = await runCli(['run', path, '--json'], {
        env: env({ REMOTE_KEY: remote.token }),
      });
      expect(code, stderr).toBe(0);
      const [agent] = (JSON.parse(stdout) as RunSummary).phases.flatMap((p) => p.agents);
      expect(model.server.messageRequests(agent!.sessionId)[1]!.view!.last).toContain('42');
      expect(stdout + stderr).not.toContain(remote.token);
      for (const file of filesUnder(model.home.dir))
        expect(readFileSync(file, 'latin1'), file).not.toContain(remote.token);
    } finally {
      await remote.close();
    }
  });

  it("two runs at once: each has its own gateway and secret (the other run's is refused); cancelling one leaves the other's server serving", async () => {
    const twins = ['left', 'right'].map((name) => {
      const memoryFile = join(model.home.dir, `${name}-memory.json`);
      const path = workflow(
        `twin-${name}`,
        [`  memory: { ${nodeServerYaml(npmServers.memory)}, env: { MEMORY_FILE_PATH: ${memoryFile} } }`],
        `  - { id: one, agents: [{ id: slow, prompt: Slow twin recall, mcpServers: [memory] }] }\n`,
      );
      const secrets: string[] = [];
      const abort = new AbortController();
      const handle = run(path, {
        env: env() as Record<string, string>,
        dataDir: dataDir(),
        cwd: model.home.dir,
        signal: abort.signal,
        onSecrets: (values) => void secrets.push(...values),
      });
      let runId: string | undefined;
      let called = false;
      handle.events.on('run.started', (e) => void (runId = e.runId));
      handle.events.on('agent.tool', () => void (called = true));
      return { memoryFile, secrets, abort, handle, runId: () => runId, called: () => called };
    });
    await waitFor(
      () => twins.every((t) => t.called()) || undefined,
      120_000,
      'both agents to call their memory server',
    );
    const gatewayOf = (twin: (typeof twins)[number]) => {
      const given = JSON.parse(readFileSync(join(dataDir(), 'runs', twin.runId()!, 'mcp', 'slow.json'), 'utf8')) as {
        mcpServers: { memory: { url: string } };
      };
      // The run's secret: the one value it hides that is no path (the memory file's is the other).
      const token = twin.secrets.find((value) => !value.includes('/'))!;
      return { url: given.mcpServers.memory.url, token };
    };
    const [left, right] = twins.map(gatewayOf) as [ReturnType<typeof gatewayOf>, ReturnType<typeof gatewayOf>];
    expect(left.url).not.toBe(right.url);
    expect(left.token).not.toBe(right.token);
    const initialize = (url: string, token: string) =>
      fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'x-baton-gateway-token': token,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'probe', version: '1' } },
        }),
      }).then((response) => response.status);
    expect(await initialize(left.url, right.token)).toBe(401);
    expect(await initialize(right.url, left.token)).toBe(401);
    expect(await initialize(left.url, left.token)).toBe(200);

    // One memory process per run; cancelling the left run stops its own, not the right run's.
    const serverOf = (twin: (typeof twins)[number]) =>
      processesWithEnv(`MEMORY_FILE_PATH=${twin.memoryFile}\0`).filter((pid) =>
        mcpServerProcessesWithEnv(model.home.dir).includes(pid),
      );
    expect(twins.map((t) => serverOf(t).length)).toEqual([1, 1]);
    twins[0]!.abort.abort();
    expect((await twins[0]!.handle.result).status).toBe('cancelled');
    expect(serverOf(twins[0]!)).toEqual([]);
    expect(serverOf(twins[1]!)).toHaveLength(1);
    expect(await initialize(right.url, right.token)).toBe(200);
    expect((await twins[1]!.handle.result).status).toBe('succeeded');
    // Neither secret is written anywhere: not in Baton's data dir, nor in claude's config and transcripts.
    for (const file of filesUnder(model.home.dir)) {
      const written = readFileSync(file, 'latin1');
      expect(written).not.toContain(left.token);
      expect(written).not.toContain(right.token);
    }
    expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
    expect(agentProcessesWithEnv(model.home.dir)).toEqual([]);
  });

  it.runIf(requireProgram('git'))(
    "a filesystem server (scope agent by default) of parallel agents in worktrees serves each its own worktree; the run's directory is only probed",
    async () => {
      const repo = join(model.home.dir, 'repo');
      makeRepo(repo, { 'notes.txt': 'notes\n' });
      const path = join(repo, 'worktrees.yaml');
      writeFileSync(
        path,
        `version: 1
name: worktrees
mcpServers:
  files: { ${nodeServerYaml(npmServers.filesystem, ['.'])} }
phases:
  - id: one
    workspace: worktree
    agents:
      - { id: wt-a, prompt: List allowed directories, mcpServers: [files] }
      - { id: wt-b, prompt: List allowed directories, mcpServers: [files] }
`,
      );
      const { code, stdout, stderr } = await runCli(['run', path, '--json'], { env: env() });
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(code).toBe(0);
      const summary = JSON.parse(stdout) as RunSummary;
      for (const agent of summary.phases[0]!.agents) {
        const listed = model.server.messageRequests(agent.sessionId)[1]!.view!.last;
        expect(listed).toContain(join(dataDir(), 'worktrees', summary.runId, agent.id));
        expect(listed).not.toContain(`${repo}\n`);
      }
      expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
    },
  );

  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s to baton run while its agent works cancels the run; no shared server (nor what its launcher started) or claude is left',
    async (signal) => {
      const memoryFile = join(model.home.dir, `${signal}-memory.json`);
      const path = workflow(
        `signal-${signal}`,
        [`  memory: { ${nodeServerYaml(npmServers.memory, [], true)}, env: { MEMORY_FILE_PATH: ${memoryFile} } }`],
        `  - { id: one, agents: [{ id: slow, prompt: Slow twin recall, mcpServers: [memory] }] }\n`,
      );
      const before = model.server.messageRequests().length;
      const orchestrator = startCli(['run', path, '--json'], { env: env() });
      await waitFor(
        () =>
          model.server
            .messageRequests()
            .slice(before)
            .some((r) => r.view?.last.includes('entities')) || undefined,
        120_000,
        'the agent to have read its memory server',
      );
      expect(mcpServerProcessesWithEnv(model.home.dir).length).toBeGreaterThan(0);
      orchestrator.kill(signal);
      const { stdout } = await orchestrator.output;
      expect((JSON.parse(stdout) as RunSummary).status).toBe('cancelled');
      expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
      expect(agentProcessesWithEnv(model.home.dir)).toEqual([]);
    },
  );
});

describe.runIf(requireProgram('redis-server'))(
  'MCP gateway on a worker, held-out (real redis-server and claude)',
  () => {
    const redis = useRedisServer();

    it("run() from the API with workers: the environment it gives agents reaches a worker's shared server, as it does the agent's own server and a local run's shared one; it runs in the run's directory, not the worker's", async () => {
      const path = workflow(
        'worker-env',
        [
          `  shared: { ${nodeServerYaml(faultServer, ['--env-tool', '--cwd-tool'])} }`,
          `  own: { ${nodeServerYaml(faultServer, ['--env-tool'])}, scope: agent }`,
        ],
        `  - id: one
    agents:
      - { id: sharer, prompt: Ask what the caller gave, mcpServers: [shared] }
      - { id: owner, prompt: Ask the own what the caller gave, mcpServers: [own] }
      - { id: wherer, prompt: Ask the shared where it runs, mcpServers: [shared] }
`,
      );
      // The worker's own environment lacks the mark: only the caller of run() gives it.
      const worker = startCli(['worker', '--concurrency', '2'], {
        env: { ...env(), BATON_REDIS_URL: redis.server.url },
      });
      try {
        const summary = await run(path, {
          env: env({ CALLER_MARK: 'caller-mark-8' }) as Record<string, string>,
          config: { redis_url: redis.server.url },
          dataDir: dataDir(),
          cwd: model.home.dir,
        }).result;
        expect(summary.status).toBe('succeeded');
        const agents = summary.phases.flatMap((p) => p.agents);
        const answer = (id: string) =>
          model.server.messageRequests(agents.find((a) => a.id === id)!.sessionId)[1]!.view!.last;
        expect(answer('owner')).toContain('caller-mark-8');
        expect(answer('sharer')).toContain('caller-mark-8');
        // The worker runs from the repository's root (startCli's cwd); the run's directory is the model's home.
        expect(answer('wherer')).toContain(model.home.dir);
      } finally {
        worker.kill('SIGTERM');
        await worker.output;
      }
      expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
    });

    it("a worker's gateway bounds a hung call by the run's mcp_call_timeout_ms, not the worker's own; status counts it as the worker's", async () => {
      const path = workflow(
        'worker-stuck',
        [`  stuck: { ${nodeServerYaml(faultServer, ['--hang-tool'])} }`],
        `  - { id: one, agents: [{ id: caller, prompt: Call the stuck tool, mcpServers: [stuck] }] }\n`,
      );
      const redisEnv = { ...env(), BATON_REDIS_URL: redis.server.url };
      // The worker keeps the default bound (5 min); the run asks for 3 s.
      const worker = startCli(['worker'], { env: redisEnv });
      try {
        await waitFor(() => worker.stderrSoFar().includes('ready') || undefined, 60_000, 'the worker to be ready');
        const runEnv = { ...redisEnv, BATON_MCP_CALL_TIMEOUT_MS: '3000' };
        const { code, stdout, stderr } = await runCli(['run', path, '--json'], { env: runEnv });
        expect(code, stderr).toBe(0);
        const summary = JSON.parse(stdout) as RunSummary;
        const [agent] = summary.phases.flatMap((p) => p.agents);
        expect(agent).toMatchObject({ status: 'succeeded', result: expect.stringContaining('It hung.') });
        // The worker's gateway answered first, naming the run's bound (claude's own would say "timed out after 8s").
        expect(model.server.messageRequests(agent!.sessionId)[1]!.view!.last).toMatch(
          /"stuck" did not answer tools\/call within 3000 ms \(mcp_call_timeout_ms\)/,
        );
        const health = await waitFor(
          async () => {
            const status = await runCli(['status', summary.runId, '--json'], { env: runEnv });
            const rows = (JSON.parse(status.stdout) as { mcpHealth: Array<Record<string, unknown>> }).mcpHealth;
            return rows.find((h) => h.name === 'stuck' && h.failures === 1);
          },
          20_000,
          "the worker's report of the failed call",
        );
        expect(health).toMatchObject({ crashes: 0, sources: expect.arrayContaining([`${hostname()}:${worker.pid}`]) });
      } finally {
        worker.kill('SIGTERM');
        await worker.output;
      }
      expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
    });
  },
);
