import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli, startCli, waitFor, type CliResult } from './support/cli.js';
import { requireProgram } from './support/programs.js';
import { everyRedisValue, startRedisServer, type RedisServer } from './support/redis.js';
import { useScriptedModel } from './support/scripted-model.js';

const memoryServer = fileURLToPath(
  new URL('../node_modules/@modelcontextprotocol/server-memory/dist/index.js', import.meta.url),
);

const model = useScriptedModel(
  {
    rules: [
      // Tenant A's agent records a decision through Baton's MCP server.
      {
        match: { prompt: 'Record the acquisition decision', turn: 1 },
        reply: {
          toolUse: {
            name: 'mcp__baton__add_knowledge',
            input: { kind: 'decision', text: 'We will acquire Initech in March', about: ['plan.md'] },
          },
        },
        sequencePer: 'session',
      },
      { match: { prompt: 'Record the acquisition decision' }, reply: { text: 'Recorded.' }, sequencePer: 'session' },
      // Any agent asks what was decided, naming a run of its choosing: Baton, not the agent, sets the scope.
      {
        match: { prompt: 'What was decided about Initech', turn: 1 },
        reply: {
          toolUse: {
            name: 'mcp__baton__query_knowledge',
            input: { question: 'what was decided about Initech', runId: 'any-run-the-agent-likes' },
          },
        },
        sequencePer: 'session',
      },
      { match: { prompt: 'What was decided about Initech' }, reply: { text: 'Answered.' }, sequencePer: 'session' },
      // The agent on a worker shows it got its workflow env, by a digest of the value (not the value itself).
      {
        match: { prompt: 'Write it down', turn: 1 },
        reply: {
          toolUse: {
            name: 'Bash',
            input: { command: 'printf %s "$DEPLOY_KEY" | sha256sum', description: 'digest of the deploy key' },
          },
        },
        sequencePer: 'session',
      },
      { match: { prompt: 'Write it down' }, reply: { text: 'Written.' }, sequencePer: 'session' },
    ],
    default: { text: 'OK' },
  },
  'baton-security-',
);

const dataDir = () => join(model.home.dir, 'data');
const cliEnv = (extra: Record<string, string> = {}) =>
  model.home.cliEnv(model.url, {
    BATON_DATA_DIR: dataDir(),
    ENABLE_TOOL_SEARCH: 'false',
    BATON_MCP_TIMEOUT_MS: '30000',
    ...extra,
  });

async function runAgent(name: string, prompt: string, tenant: string, env = cliEnv()) {
  const workflow = join(model.home.dir, `${name}.yaml`);
  writeFileSync(
    workflow,
    `version: 1\nname: ${name}\nphases:\n  - id: only\n    agents: [{ id: ${name}, prompt: "${prompt}", mcpServers: [baton] }]\n`,
  );
  const { code, stdout, stderr } = await runCli(['run', workflow, '--tenant', tenant, '--json'], { env });
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(code).toBe(0);
  const summary = JSON.parse(stdout) as RunSummary;
  return { runId: summary.runId, ...summary.phases[0]!.agents[0]! };
}

/** What the MCP tool answered the agent: the last message of its second model request. */
const toolAnswer = (sessionId: string | undefined): string => model.server.messageRequests(sessionId)[1]!.view!.last;

describe("tenant isolation of Baton's MCP server (real claude agents)", () => {
  it("a tenant-B agent cannot read tenant A's facts, whatever run it names; tenant A's next run can", async () => {
    const recorder = await runAgent('recorder', 'Record the acquisition decision', 'acme');
    expect(toolAnswer(recorder.sessionId)).toMatch(/^Recorded decision decision:/);

    const outsider = await runAgent('outsider', 'What was decided about Initech', 'globex');
    expect(toolAnswer(outsider.sessionId)).not.toContain('acquire Initech');
    const colleague = await runAgent('colleague', 'What was decided about Initech', 'acme');
    expect(toolAnswer(colleague.sessionId)).toContain('We will acquire Initech in March');

    // The CLI reads the same way with --tenant.
    const cli = (...args: string[]) => runCli(args, { env: cliEnv() });
    const runs = JSON.parse((await cli('runs', '--tenant', 'globex', '--json')).stdout) as Array<{ runId: string }>;
    expect(runs.map((r) => r.runId)).toEqual([outsider.runId]);
    expect((await cli('status', recorder.runId, '--tenant', 'globex')).code).toBe(2);
    const usage = JSON.parse((await cli('usage', '--tenant', 'globex', '--json')).stdout) as {
      totals: { agents: number };
    };
    expect(usage.totals.agents).toBe(1);
    const question = ['kg', 'query', 'what was decided about Initech'];
    expect((await cli(...question, '--tenant', 'globex')).stdout).not.toContain('acquire Initech');
    expect((await cli(...question, '--tenant', 'acme')).stdout).toContain('acquire Initech');

    // The per-agent MCP config records where the scope came from and is private.
    const file = join(dataDir(), 'runs', outsider.runId, 'mcp', 'outsider.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  }, 240_000);
});

/** Every secret the run below is given, each in a different place. */
const secrets = {
  env: 'ghp_0123456789abcdefghijABCDEFGHIJ', // GITHUB_TOKEN in Baton's environment
  agentEnv: 'agent-env-literal-secret-4242', // a literal in the workflow's agent env
  mcpEnv: 'mcp-env-literal-secret-9f8e7d', // a literal in an MCP server's env
  header: 'header-literal-secret-1a2b3c', // a literal bearer token in an MCP server's headers
  redis: 'redis-password-5c6d7e8f', // the password in redis_url
  configMcp: 'config-mcp-literal-secret-0f0f', // a literal in an MCP server of the config
};

const leaks = (text: string): string[] => Object.values(secrets).filter((secret) => text.includes(secret));

describe.runIf(requireProgram('redis-server'))(
  'no secret in any output or file (real claude, real redis-server)',
  () => {
    let redis: RedisServer;
    let env: NodeJS.ProcessEnv;
    let workflow: string;
    let worker: ReturnType<typeof startCli> | undefined;
    beforeAll(async () => {
      redis = await startRedisServer();
      const admin = new Redis(redis.url);
      await admin.config('SET', 'requirepass', secrets.redis);
      admin.disconnect();
      const redisUrl = redis.url.replace('redis://', `redis://:${secrets.redis}@`);
      const configServers = {
        search: { command: 'search-mcp', env: { SEARCH_PASSWORD: secrets.configMcp, GH: '${GITHUB_TOKEN}' } },
      };
      env = cliEnv({
        GITHUB_TOKEN: secrets.env,
        BATON_REDIS_URL: redisUrl,
        BATON_MCP_SERVERS: JSON.stringify(configServers),
      });
      workflow = join(model.home.dir, 'secretive.yaml');
      writeFileSync(
        workflow,
        [
          'version: 1',
          'name: secretive',
          'mcpServers:',
          `  notes: { command: ${process.execPath}, args: [${memoryServer}], env: { MEMORY_API_KEY: ${secrets.mcpEnv}, GH: "\${GITHUB_TOKEN}" } }`,
          `  remote: { type: http, url: "http://127.0.0.1:9/mcp", headers: { Authorization: "Bearer ${secrets.header}" } }`,
          'phases:',
          '  - id: only',
          `    agents: [{ id: writer, prompt: Write it down, allowedTools: [Bash], mcpServers: [notes], env: { DEPLOY_KEY: ${secrets.agentEnv} } }]`,
          '',
        ].join('\n'),
      );
      // With redis_url, agents run on baton workers.
      worker = startCli(['worker'], { env });
      await waitFor(() => / ready: up to/.exec(worker!.stderrSoFar()), 30_000, 'the worker');
    }, 60_000);
    afterAll(async () => {
      worker?.kill('SIGTERM');
      const stopped = await worker?.output;
      expect(leaks(`${stopped?.stdout}${stopped?.stderr}`)).toEqual([]);
      await redis?.stop();
    });

    it('run, status, runs, usage, audit, config check, mcp config and errors print none of them', async () => {
      const run = await runCli(['run', workflow, '--json'], { env });
      expect(run.code).toBe(0);
      const runId = (JSON.parse(run.stdout) as RunSummary).runId;
      const outputs: Array<[string, CliResult]> = [['run', run]];
      for (const args of [
        ['status', runId],
        ['status', runId, '--json'],
        ['runs'],
        ['runs', '--json'],
        ['usage'],
        ['usage', '--json'],
        ['audit', '--json'],
        ['config', 'check'],
        ['config', 'check', '--json'],
        ['mcp', 'config', workflow, '--agent', 'writer'],
        ['status', 'no-such-run'],
      ])
        outputs.push([args.join(' '), await runCli(args, { env })]);
      // An error carrying the Redis URL: the wrong password.
      const wrong = {
        ...env,
        BATON_REDIS_URL: `${String(env.BATON_REDIS_URL).replace(secrets.redis, `${secrets.redis}x`)}`,
      };
      outputs.push(['runs (wrong password)', await runCli(['runs'], { env: wrong })]);
      for (const [command, { stdout, stderr }] of outputs)
        expect([command, leaks(stdout + stderr)]).toEqual([command, []]);
      expect(outputs.find(([c]) => c === 'config check --json')![1].stdout).toContain('${GITHUB_TOKEN}');
    }, 240_000);

    it('no literal secret of the workflow is in the data dir or in Redis (store and queued jobs), yet the agent on the worker got its env', async () => {
      // The agent ran on the worker with its env: its Bash call printed the digest of DEPLOY_KEY.
      const digest = createHash('sha256').update(secrets.agentEnv).digest('hex');
      const answers = model.server.messageRequests().filter((r) => r.view!.prompt.includes('Write it down'));
      expect(answers.some((r) => r.view!.turn === 2 && r.view!.last.includes(digest))).toBe(true);
      const files = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
          entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)],
        );
      for (const file of files(dataDir())) expect([file, leaks(readFileSync(file, 'latin1'))]).toEqual([file, []]);
      const client = new Redis(redis.url.replace('redis://', `redis://:${secrets.redis}@`));
      try {
        // BullMQ's job payloads (bull:*) included: the agent's env and MCP configs are sealed in them.
        const values = await everyRedisValue(client);
        const sealedJobs = values.filter(
          ({ type, value }) => type === 'hash' && (value as { data?: string }).data?.includes('"sealed"'),
        );
        expect(sealedJobs.length).toBeGreaterThan(0); // the writer's job, kept for 7 days
        expect(
          leaks(values.map(({ value }) => (typeof value === 'string' ? value : JSON.stringify(value))).join('\n')),
        ).toEqual([]);
      } finally {
        client.disconnect();
      }
    });
  },
);
