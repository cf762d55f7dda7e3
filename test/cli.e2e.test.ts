import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { processesWithEnv } from './support/processes.js';
import { useScriptedModel } from './support/scripted-model.js';

const model = useScriptedModel(
  {
    rules: [
      {
        match: { prompt: 'Name three primes' },
        reply: { text: '2, 3 and 5.', usage: { input_tokens: 100, output_tokens: 8 } },
        sequencePer: 'script',
      },
      { match: { prompt: 'Add them up' }, reply: { structured: { sum: 10 } }, sequencePer: 'script' },
      { match: { prompt: 'parallel task' }, reply: { text: 'parallel done', delayMs: 1500 }, sequencePer: 'script' },
      { match: { prompt: 'never answers' }, reply: { hang: true }, sequencePer: 'script' },
      {
        match: { prompt: 'Call the billing API' },
        reply: { text: 'Called it with svc_live_0123456789abcd. Finding: the API answered 200' },
        sequencePer: 'script',
      },
    ],
    default: { text: 'OK' },
  },
  'baton-cli-',
);

const workflowFile = (yaml: string): string => model.home.writeWorkflow(yaml);

const env = (extra: Record<string, string> = {}) =>
  model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'data'), ...extra });

describe('baton run (real claude agents, scripted model)', () => {
  it('simple workflow: runs phases in order and prints exactly one JSON result', async () => {
    const path = workflowFile(`
version: 1
name: primes
phases:
  - id: list
    agents: [{ id: lister, prompt: Name three primes }]
  - id: sum
    dependsOn: [list]
    agents:
      - id: adder
        prompt: Add them up
        outputSchema: { type: object, properties: { sum: { type: number } }, required: [sum] }
`);
    const { code, stdout, stderr } = await runCli(['run', path, '--json'], { env: env() });
    expect(stderr).not.toMatch(/\n\s+at /); // no stack traces
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(summary.status).toBe('succeeded');
    const [list, sum] = summary.phases;
    expect(list!.agents[0]).toMatchObject({
      id: 'lister',
      status: 'succeeded',
      result: '2, 3 and 5.',
      attempts: 1,
      usage: { inputTokens: 100, outputTokens: 8 },
    });
    expect(sum!.agents[0]).toMatchObject({ id: 'adder', status: 'succeeded', structuredOutput: { sum: 10 } });
    expect(summary.totals).toMatchObject({ agents: 2, succeeded: 2, failed: 0 });
    expect(summary.totals.costUsd).toBeGreaterThan(0);

    // Each agent is a real claude process that used the session Baton chose.
    const listerRequests = model.server.messageRequests(list!.agents[0]!.sessionId);
    expect(listerRequests[0]!.view!.prompt).toBe('Name three primes');
    expect(listerRequests[0]!.view!.system).toContain('Phase: list');
    // The second phase started only after the first finished.
    const adderFirst = model.server.messageRequests(sum!.agents[0]!.sessionId)[0]!;
    expect(adderFirst.at).toBeGreaterThanOrEqual(listerRequests.at(-1)!.at);

    // What was stored reads back the same through `baton status`.
    const status = await runCli(['status', summary.runId, '--json'], { env: env() });
    expect(status.code).toBe(0);
    const stored = JSON.parse(status.stdout) as RunSummary;
    expect(stored.phases).toEqual(summary.phases);
    const runs = await runCli(['runs', '--json'], { env: env() });
    expect((JSON.parse(runs.stdout) as Array<{ runId: string }>).map((r) => r.runId)).toContain(summary.runId);
  });

  it('parallel workflow: agents of a phase run concurrently, bounded by parallel_limit', async () => {
    const path = workflowFile(`
version: 1
name: fan-out
phases:
  - id: work
    agents:
${[1, 2, 3, 4].map((i) => `      - { id: worker${i}, prompt: "parallel task ${i}" }`).join('\n')}
`);
    const { code, stdout } = await runCli(['run', path, '--json'], { env: env({ BATON_PARALLEL_LIMIT: '2' }) });
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    const sessions = summary.phases[0]!.agents.map((a) => a.sessionId);
    expect(new Set(sessions).size).toBe(4);
    // Each scripted reply takes 1.5 s: count how many agents' model calls overlapped.
    const spans = sessions.map((s) => {
      const request = model.server.messageRequests(s).find((r) => r.view?.prompt.startsWith('parallel task'))!;
      return [request.at, request.at + 1500] as const;
    });
    const overlapAt = (t: number) => spans.filter(([from, to]) => from <= t && t < to).length;
    const peak = Math.max(...spans.map(([from]) => overlapAt(from)));
    expect(peak).toBe(2);
  });

  it('kills an agent at its timeout and reports it, exit code 1', async () => {
    const path = workflowFile(`
version: 1
name: slow
phases:
  - id: only
    agents: [{ id: sleeper, prompt: never answers, timeoutMs: 3000 }]
`);
    const { code, stdout } = await runCli(['run', path, '--json'], { env: env() });
    expect(code).toBe(1);
    const summary = JSON.parse(stdout) as RunSummary;
    expect(summary.status).toBe('failed');
    expect(summary.phases[0]!.agents[0]).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'BATON_AGENT_TIMEOUT' },
    });
    expect(processesWithEnv(model.home.dir)).toEqual([]);
  });
});

describe('kill switch', () => {
  const hangingWorkflow = () =>
    workflowFile(`
version: 1
name: hanging
phases:
  - id: stuck
    agents: [{ id: h1, prompt: never answers 1 }, { id: h2, prompt: never answers 2 }, { id: h3, prompt: never answers 3 }]
`);

  async function startHangingRun(dataDir: string) {
    const cli = startCli(['run', hangingWorkflow(), '--json'], { env: env({ BATON_DATA_DIR: dataDir }) });
    // Wait until every agent is a live claude process blocked on the model.
    const before = model.server.messageRequests().length;
    await waitFor(
      () => model.server.messageRequests().length - before >= 3 || undefined,
      30_000,
      'three agents to call the model',
    );
    return cli;
  }

  it('baton cancel stops every agent of the run within 2 s and leaves no claude process behind', async () => {
    const dataDir = join(model.home.dir, 'cancel-data');
    const cli = await startHangingRun(dataDir);
    const runs = await runCli(['runs', '--json', '--data-dir', dataDir], { env: env() });
    const runId = (JSON.parse(runs.stdout) as Array<{ runId: string }>)[0]!.runId;
    expect(processesWithEnv(model.home.dir).length).toBeGreaterThanOrEqual(3);

    const cancel = await runCli(['cancel', runId, '--data-dir', dataDir], { env: env() });
    // Timed from the cancel being on record, not from the start of the `baton cancel` process.
    const cancelledAt = Date.now();
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain(`Cancel requested for run ${runId}: its agents are being stopped.`);
    const { code, stdout } = await cli.output;
    const stopMs = Date.now() - cancelledAt;
    expect(processesWithEnv(model.home.dir)).toEqual([]);
    expect(stopMs).toBeLessThan(2000);
    expect(code).toBe(1);
    const summary = JSON.parse(stdout) as RunSummary;
    expect(summary.status).toBe('cancelled');
    expect(summary.phases[0]!.agents.map((a) => a.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    // It says baton cancel stopped them, not the SIGTERM baton cancel sends a local orchestrator.
    expect(new Set(summary.phases[0]!.agents.map((a) => a.error?.message))).toEqual(
      new Set(['run cancelled (baton cancel)']),
    );
    const again = await runCli(['cancel', runId, '--data-dir', dataDir], { env: env() });
    expect([again.code, again.stdout]).toEqual([
      0,
      `Run ${runId} had already ended (cancelled); there is nothing to cancel.\n`,
    ]);

    // The audit trail says who started and who cancelled it.
    const audit = await runCli(['audit', '--json', '--data-dir', dataDir], { env: env() });
    const events = JSON.parse(audit.stdout) as Array<{
      action: string;
      actor: string;
      target?: string;
      details: Record<string, unknown>;
    }>;
    expect(events.map((e) => e.action)).toEqual([
      'config.changed',
      'run.started',
      'run.cancel_requested',
      'run.finished',
    ]);
    expect(events[2]).toMatchObject({ target: runId, actor: expect.stringMatching(/.+@.+/) });
    expect(events[3]!.details).toMatchObject({ status: 'cancelled' });
    // Only this run's events, named by the short id branch names show.
    const ofRun = await runCli(['audit', '--run', runId.slice(0, 8), '--json', '--data-dir', dataDir], { env: env() });
    expect((JSON.parse(ofRun.stdout) as Array<{ action: string }>).map((e) => e.action)).toEqual([
      'run.started',
      'run.cancel_requested',
      'run.finished',
    ]);
  });

  it('SIGINT cancels the run the same way', async () => {
    const cli = await startHangingRun(join(model.home.dir, 'sigint-data'));
    cli.kill('SIGINT');
    const { code, stdout, stderr } = await cli.output;
    expect(stderr).toContain('SIGINT: cancelling the run');
    expect(code).toBe(1);
    expect((JSON.parse(stdout) as RunSummary).status).toBe('cancelled');
    expect(processesWithEnv(model.home.dir)).toEqual([]);
  });
});

describe('kill switch with --model-script', () => {
  it("SIGINT ends the run without waiting for a scripted reply still due (the scripted model is the run's own)", async () => {
    const marker = join(model.home.dir, 'late-marker');
    const script = join(model.home.dir, 'late-script.yaml');
    // A tool call first, then the reply due in 120 s: once the marker exists, the agent asks for it.
    writeFileSync(
      script,
      `rules:\n  - { match: { turn: 1 }, reply: { toolUse: { name: Bash, input: { command: "touch ${marker}" } } } }\ndefault: { text: late, delayMs: 120000 }\n`,
    );
    const path = workflowFile(
      'version: 1\nname: late\nphases:\n  - { id: one, agents: [{ id: a, prompt: wait for it, allowedTools: [Bash] }] }\n',
    );
    const cli = startCli(['run', path, '--model-script', script, '--json'], {
      env: env({ BATON_DATA_DIR: join(model.home.dir, 'late-data') }),
    });
    await waitFor(() => existsSync(marker) || undefined, 60_000, 'the agent to run its tool call');
    // Time for its next request, the one whose reply is due in 120 s; the cancel must not wait for it.
    await new Promise((r) => setTimeout(r, 1000));
    const cancelledAt = Date.now();
    cli.kill('SIGINT');
    const { code, stdout, stderr } = await cli.output;
    expect(Date.now() - cancelledAt).toBeLessThan(60_000);
    expect(code).toBe(1);
    expect(stderr).toContain(`Agents talk to the scripted model at http://127.0.0.1:`);
    expect((JSON.parse(stdout) as RunSummary).status).toBe('cancelled');
    expect(processesWithEnv(model.home.dir)).toEqual([]);
  });
});

describe('invalid input exits 2 with the field named and no stack trace', () => {
  it('a workflow with a wrong field', async () => {
    const path = workflowFile(
      'version: 1\nname: bad\nphases:\n  - id: one\n    agents:\n      - id: a\n        promt: typo\n',
    );
    const { code, stdout, stderr } = await runCli(['run', path], { env: env() });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('BATON_WORKFLOW_INVALID');
    expect(stderr).toMatch(/workflow-\d+\.yaml:6: phases\[0\]\.agents\[0\]\.prompt/);
    expect(stderr).toMatch(/:7: phases\[0\]\.agents\[0\]\.promt: unknown field/);
    expect(stderr).toMatch(/agents\[0\]\.prompt: required field is missing/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('with --model-script, a wrong workflow gets its error alone (nothing said of a model it never used)', async () => {
    const script = join(model.home.dir, 'unused-script.yaml');
    writeFileSync(script, 'default: { text: never asked }\n');
    const path = workflowFile('version: 1\nname: bad\nphases:\n  - { id: one, agents: [{ id: a }] }\n');
    const { code, stderr } = await runCli(['run', path, '--model-script', script], { env: env() });
    expect(code).toBe(2);
    expect(stderr).toContain('phases[0].agents[0].prompt');
    expect(stderr).not.toContain('scripted model');
  });

  it('a dependency cycle, with its path', async () => {
    const path = workflowFile(
      'version: 1\nname: loop\nphases:\n  - { id: a, dependsOn: [b], agents: [{ id: x, prompt: p }] }\n  - { id: b, dependsOn: [a], agents: [{ id: y, prompt: p }] }\n',
    );
    const { code, stderr } = await runCli(['run', path], { env: env() });
    expect(code).toBe(2);
    expect(stderr).toMatch(/dependency cycle: a -> b -> a/);
  });

  it("an agent's cwd that is not a directory: refused by plan and by run before any agent starts", async () => {
    const path = workflowFile(
      'version: 1\nname: nowhere\nphases:\n  - id: one\n    agents:\n      - { id: a, prompt: p, cwd: no/such/dir }\n      - { id: b, prompt: p, cwd: . }\n',
    );
    const before = model.server.messageRequests().length;
    for (const command of ['plan', 'run']) {
      const { code, stderr } = await runCli([command, path], { env: env() });
      expect(code, command).toBe(2);
      expect(stderr).toMatch(
        /BATON_WORKFLOW_INVALID: .*\n\s+- phases\[0\]\.agents\[0\]\.cwd: \S+no\/such\/dir is not a directory/,
      );
      expect(stderr).not.toContain('agents[1]');
    }
    expect(model.server.messageRequests().length).toBe(before);
  });

  it('a claude_path that is not an executable file: refused before any agent starts, naming the setting', async () => {
    const path = workflowFile(
      'version: 1\nname: no-claude\nphases:\n  - { id: one, agents: [{ id: a, prompt: p }] }\n',
    );
    const before = model.server.messageRequests().length;
    const { code, stderr } = await runCli(['run', path], { env: env({ BATON_CLAUDE_PATH: model.home.dir }) });
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /BATON_CONFIG_INVALID: claude_path \(BATON_CLAUDE_PATH or the config file\): \S+ is not an executable file/,
    );
    expect(model.server.messageRequests().length).toBe(before);
  });

  it('a number option outside what its setting allows, or not written as a whole number', async () => {
    for (const [args, says] of [
      [
        ['run', 'w.yaml', '--priority', '5000'],
        "'--priority <n>' argument '5000' is invalid. expected a whole number from -1000 to 1000",
      ],
      [['worker', '--concurrency', '1001'], 'from 1 to 1000'],
      [['runs', '--limit', '0x10'], "'--limit <n>' argument '0x10' is invalid. expected a whole number of 1 or more"],
      [['serve', '--port', '1e3'], 'from 0 to 65535'],
    ] as const) {
      const { code, stderr } = await runCli([...args], { env: env() });
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(/^error BATON_USAGE: option /);
      expect(stderr).toContain(says);
    }
  });

  it('commands that only read or change stored runs leave a data dir without a store as it was', async () => {
    const mistyped = join(model.home.dir, 'data-typo');
    const runs = await runCli(['runs', '--data-dir', mistyped], { env: env() });
    expect(runs.code).toBe(0);
    expect(runs.stdout).toContain(`No runs yet`);
    for (const args of [
      ['status', '--json'],
      ['usage', '--json'],
      ['approvals'],
      ['sessions', 'list'],
      ['cancel', 'run-0000'],
      ['context', 'export'],
    ]) {
      const { stderr } = await runCli([...args, '--data-dir', mistyped], { env: env() });
      expect(stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(mistyped)).toBe(false);
  });

  it('baton run refused for bad input leaves data_dir as it was: no store, backups, disk reserve or logs', async () => {
    const untouched = join(model.home.dir, 'data-untouched');
    const typo = workflowFile('version: 1\nname: bad\nphases:\n  - { id: one, agents: [{ id: a, promt: p }] }\n');
    const nowhere = workflowFile(
      'version: 1\nname: n\nphases:\n  - { id: one, agents: [{ id: a, prompt: p, cwd: no/dir }] }\n',
    );
    const fine = workflowFile('version: 1\nname: fine\nphases:\n  - { id: one, agents: [{ id: a, prompt: p }] }\n');
    for (const [args, extra] of [
      [['run', typo], {}],
      [['run', nowhere], {}],
      [['run', fine], { BATON_CLAUDE_PATH: model.home.dir }],
      [['run', '--resume', 'no-such-run'], {}],
    ] as const) {
      const { code } = await runCli([...args, '--data-dir', untouched], { env: env(extra) });
      expect(code, args.join(' ')).toBe(2);
      expect(existsSync(untouched), args.join(' ')).toBe(false);
    }
  });

  it('with --json, a failure is exactly one JSON object on stdout too, the message for people on stderr', async () => {
    const typo = workflowFile('version: 1\nname: bad\nphases:\n  - { id: one, agents: [{ id: a, promt: p }] }\n');
    const damaged = join(model.home.dir, 'data-damaged');
    mkdirSync(damaged);
    writeFileSync(join(damaged, 'baton.db'), 'not a database, and long enough to be read as one'.repeat(100));
    for (const [args, exit, code] of [
      [['run', typo, '--json'], 2, 'BATON_WORKFLOW_INVALID'],
      [['status', 'no-such-run', '--json'], 2, 'BATON_RUN_NOT_FOUND'],
      [['runs', '--limit', '0', '--json'], 2, 'BATON_USAGE'],
      [['status', '--json', '--data-dir', damaged], 1, 'BATON_STORE'],
    ] as const) {
      const { code: status, stdout, stderr } = await runCli([...args], { env: env() });
      expect(status, args.join(' ')).toBe(exit);
      expect(stdout.trim().split('\n'), args.join(' ')).toHaveLength(1);
      const { error } = JSON.parse(stdout) as { error: { code: string; message: string } };
      expect(error.code, args.join(' ')).toBe(code);
      expect(stderr).toContain(`error ${code}: ${error.message.split('\n')[0]}`);
    }
  });

  it('a missing workflow file', async () => {
    const { code, stderr } = await runCli(['run', join(model.home.dir, 'nope.yaml')], { env: env() });
    expect(code).toBe(2);
    expect(stderr).toMatch(/BATON_WORKFLOW_INVALID: Workflow file .*nope\.yaml does not exist/);
  });

  it('a bad config value from the environment', async () => {
    const { code, stderr } = await runCli(['config', 'check'], { env: env({ BATON_PARALLEL_LIMIT: 'lots' }) });
    expect(code).toBe(2);
    expect(stderr).toContain('BATON_PARALLEL_LIMIT');
  });

  it('a bad config file, with the line', async () => {
    const path = join(model.home.dir, 'bad-config.yaml');
    writeFileSync(path, 'parallel_limit: 4\nmax_retries: -1\n');
    const { code, stderr } = await runCli(['config', 'check', '--config', path], { env: env() });
    expect(code).toBe(2);
    expect(stderr).toMatch(/bad-config\.yaml:2: max_retries/);
  });

  it('scope on a remote (http) MCP server: refused with the field named, not silently ignored', async () => {
    const path = join(model.home.dir, 'remote-scope.yaml');
    writeFileSync(path, 'mcp_servers:\n  tracker: { type: http, url: "https://mcp.example/mcp", scope: run }\n');
    const { code, stderr } = await runCli(['config', 'check', '--config', path], { env: env() });
    expect(code).toBe(2);
    expect(stderr).toContain('BATON_CONFIG_INVALID');
    expect(stderr).toMatch(/remote-scope\.yaml:2: mcp_servers\.tracker\.scope: scope applies to stdio servers only/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('an unknown run id', async () => {
    const { code, stderr } = await runCli(['status', 'no-such-run'], { env: env() });
    expect(code).toBe(2);
    expect(stderr).toContain('No run with id no-such-run');
  });

  it('a command given away from the runs says which store it looked in', async () => {
    // Runs live in the data_dir of where `baton run` started; from another directory there are none.
    const elsewhere = join(model.home.dir, 'elsewhere');
    const status = await runCli(['status'], { env: env({ BATON_DATA_DIR: elsewhere }) });
    expect(status.code).toBe(2);
    expect(status.stderr).toContain(`No runs yet in ${elsewhere}.`);
    expect(status.stderr).toContain('--data-dir');
    const approve = await runCli(['approve', 'd29949bdc449'], { env: env({ BATON_DATA_DIR: elsewhere }) });
    expect(approve.code).toBe(2);
    expect(approve.stderr).toContain(`BATON_APPROVAL_NOT_FOUND: No approval request d29949bdc449 in ${elsewhere}.`);
    expect(approve.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('config check prints the effective config', async () => {
    const { code, stdout } = await runCli(['config', 'check', '--json'], { env: env({ BATON_PARALLEL_LIMIT: '7' }) });
    expect(code).toBe(0);
    const { config, sources } = JSON.parse(stdout) as { config: Record<string, unknown>; sources: string[] };
    expect(config.parallel_limit).toBe(7);
    expect(config.max_retries).toBe(2);
    expect(sources).toContain('env BATON_PARALLEL_LIMIT');
  });
});

describe('baton model-server', () => {
  it('serves a script standalone to holders of the key it prints, logs requests, and stops on SIGTERM', async () => {
    const script = join(model.home.dir, 'standalone-script.yaml');
    const log = join(model.home.dir, 'standalone-requests.jsonl');
    writeFileSync(script, 'rules:\n  - { match: { prompt: ping }, reply: { text: pong } }\n');
    const cli = startCli(['model-server', '--script', script, '--log', log], { env: env() });
    const url = await waitFor(
      () => /listening on (http:\/\/\S+)/.exec(cli.stdoutSoFar())?.[1],
      20_000,
      'the server URL',
    );
    const key = /^export ANTHROPIC_API_KEY=(\S+)$/m.exec(cli.stdoutSoFar())?.[1];
    expect(key).toMatch(/^scripted-[0-9a-f]{32}$/);
    const ask = (headers: Record<string, string>) =>
      fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'ping' }] }),
      });
    // Without the key, or with another (a real Anthropic key, say), the script is not played.
    const refused = await ask({ 'x-api-key': 'sk-ant-someone-else-0123456789' });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    expect((await ask({})).status).toBe(401);
    // As claude sends it: x-api-key (ANTHROPIC_API_KEY) or a bearer token (ANTHROPIC_AUTH_TOKEN).
    const response = await ask({ 'x-api-key': key! });
    expect(((await response.json()) as { content: Array<{ text: string }> }).content[0]!.text).toBe('pong');
    expect((await ask({ authorization: `Bearer ${key!}` })).status).toBe(200);
    cli.kill('SIGTERM');
    expect((await cli.output).code).toBe(0);
    // The two answered requests, one JSON line each (refused ones never reach the script).
    const logged = readFileSync(log, 'utf8').trim().split('\n');
    expect(logged).toHaveLength(2);
    expect(JSON.parse(logged[0]!)).toMatchObject({
      path: '/v1/messages',
      rule: 'rules[0]',
      outcome: 'message',
    });
  });

  it('rejects an invalid script with exit 2', async () => {
    const script = join(model.home.dir, 'bad-script.yaml');
    writeFileSync(script, 'rules:\n  - { match: { promt: x }, reply: { text: y } }\n');
    const { code, stderr } = await runCli(['model-server', '--script', script], { env: env() });
    expect(code).toBe(2);
    expect(stderr).toMatch(/BATON_SCRIPT_INVALID: .*bad-script\.yaml:2: rules\[0\]\.match\.promt: unknown field/s);
  });
});

describe('metrics endpoint', () => {
  it('serves Prometheus metrics while a run is going, to holders of data_dir/metrics.token', async () => {
    const path = workflowFile(
      'version: 1\nname: metered\nphases:\n  - id: work\n    agents: [{ id: slow, prompt: "parallel task metered" }]\n',
    );
    const cli = startCli(['run', path], { env: env({ BATON_ENABLE_METRICS: 'true', BATON_METRICS_PORT: '0' }) });
    let stderr = '';
    cli.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const url = await waitFor(() => /Metrics at (http:\/\/\S+)/.exec(stderr)?.[1], 20_000, 'the metrics URL');
    expect((await fetch(url)).status).toBe(401);
    const token = readFileSync(join(model.home.dir, 'data', 'metrics.token'), 'utf8').trim();
    const during = await waitFor(
      async () => {
        const text = await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).text();
        return /^baton_active_agents 1$/m.test(text) ? text : undefined;
      },
      20_000,
      'an active agent in the metrics',
    );
    expect(during).toContain('# TYPE baton_agent_spawn_seconds histogram');
    expect((await cli.output).code).toBe(0);
  });
});

describe('baton usage', () => {
  it('totals equal the usage the model reported for every agent', async () => {
    const dataDir = join(model.home.dir, 'usage-data');
    const path = workflowFile(`
version: 1
name: usage-check
phases:
  - id: one
    agents: [{ id: u1, prompt: Name three primes }, { id: u2, prompt: Add them up, outputSchema: { type: object, properties: { sum: { type: number } } } }]
`);
    const run = await runCli(['run', path, '--json', '--data-dir', dataDir, '--tenant', 'team-a'], { env: env() });
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as RunSummary;
    const reported = summary.phases[0]!.agents.flatMap((a) => model.server.messageRequests(a.sessionId)).map(
      (r) => r.usage!,
    );
    const { stdout } = await runCli(['usage', '--by', 'workflow', '--since', '1h', '--json', '--data-dir', dataDir], {
      env: env(),
    });
    const usage = JSON.parse(stdout) as {
      rows: Array<{ key: string; agents: number; inputTokens: number; outputTokens: number; costUsd: number }>;
      totals: { inputTokens: number; outputTokens: number; costUsd: number };
    };
    expect(usage.rows.map((r) => [r.key, r.agents])).toEqual([['usage-check', 2]]);
    expect(usage.totals.inputTokens).toBe(reported.reduce((sum, u) => sum + u.input_tokens, 0));
    expect(usage.totals.outputTokens).toBe(reported.reduce((sum, u) => sum + u.output_tokens, 0));
    expect(usage.totals.costUsd).toBeCloseTo(summary.totals.costUsd);
    const bad = await runCli(['usage', '--since', 'yesterday'], { env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since yesterday is not a duration');

    // The terminal dashboard, drawn once from the store.
    const dashboard = await runCli(['dashboard', summary.runId, '--once', '--data-dir', dataDir], { env: env() });
    expect(dashboard.code).toBe(0);
    expect(dashboard.stdout).toContain('Agent Orchestration');
    expect(dashboard.stdout).toContain('usage-check · succeeded');
    expect(dashboard.stdout).toContain('Done: 2/2 (0 failed)');

    const byTenant = JSON.parse(
      (await runCli(['usage', '--by', 'tenant', '--json', '--data-dir', dataDir], { env: env() })).stdout,
    ) as { rows: Array<{ key: string; costUsd: number }> };
    expect(byTenant.rows.map((r) => r.key)).toEqual(['team-a']);
    // With its daily budget spent, the tenant's next run is refused before any agent starts.
    const budgets = JSON.stringify({ 'team-a': byTenant.rows[0]!.costUsd / 2 });
    const refused = await runCli(['run', path, '--json', '--data-dir', dataDir, '--tenant', 'team-a'], {
      env: env({ BATON_TENANT_DAILY_BUDGET_USD: budgets }),
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /BATON_TENANT_BUDGET_EXCEEDED: Tenant team-a has used \$[\d.]+ of its \$[\d.]+ daily budget/,
    );
    const overTokens = await runCli(['run', path, '--json', '--data-dir', dataDir, '--tenant', 'team-a'], {
      env: env({ BATON_TENANT_DAILY_TOKEN_BUDGET: JSON.stringify({ 'team-a': 1000 }) }),
    });
    expect(overTokens.code).toBe(1);
    expect(overTokens.stderr).toMatch(
      /Tenant team-a has used \d+ of its 1000 daily tokens \(tenant_daily_token_budget\)/,
    );
    const otherTenant = await runCli(['run', path, '--json', '--data-dir', dataDir, '--tenant', 'team-b'], {
      env: env({ BATON_TENANT_DAILY_BUDGET_USD: budgets }),
    });
    expect(otherTenant.code).toBe(0);

    // The terminal dashboard of one tenant: another tenant's run reads as no run; a bad name says how to fix it.
    const dashboardOf = (tenant: string, ...runId: string[]) =>
      runCli(['dashboard', ...runId, '--once', '--tenant', tenant, '--data-dir', dataDir], { env: env() });
    const ownRun = await dashboardOf('team-a', summary.runId);
    expect([ownRun.code, ownRun.stdout]).toEqual([0, expect.stringContaining(`run ${summary.runId}`)]);
    const othersRun = await dashboardOf('team-b', summary.runId);
    expect(othersRun.code).toBe(2);
    expect(othersRun.stderr).toContain(`BATON_RUN_NOT_FOUND: No run with id ${summary.runId} for tenant team-b`);
    expect(othersRun.stdout).not.toContain('usage-check');
    const latestOfB = await dashboardOf('team-b');
    expect(latestOfB.stdout).toContain(`run ${(JSON.parse(otherTenant.stdout) as RunSummary).runId}`);
    const badName = await dashboardOf('team a');
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('BATON_USAGE: --tenant "team a" is not a tenant name: use letters, digits');
  });
});

describe('secrets', () => {
  it('reach the agent, but not the stored run, the JSON output or the logs', async () => {
    const dataDir = join(model.home.dir, 'secret-data');
    const secret = 'svc_live_0123456789abcd';
    const path = workflowFile(
      `version: 1\nname: secretive\nphases:\n  - id: one\n    agents: [{ id: caller, prompt: "Call the billing API with ${secret}" }]\n`,
    );
    const cliEnv = env({ BILLING_SERVICE_TOKEN: secret, BATON_DATA_DIR: dataDir });
    const run = await runCli(['run', path, '--json'], { env: cliEnv });
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as RunSummary;
    // The agent itself got the real value...
    expect(model.server.messageRequests(summary.phases[0]!.agents[0]!.sessionId)[0]!.view!.prompt).toContain(secret);
    // ...nothing Baton keeps or shows has it.
    expect(run.stdout).not.toContain(secret);
    expect(summary.phases[0]!.agents[0]!.result).toBe('Called it with [REDACTED]. Finding: the API answered 200');
    const status = await runCli(['status', summary.runId, '--json'], { env: cliEnv });
    expect(status.stdout).not.toContain(secret);
    const exported = await runCli(['context', 'export', '--run', summary.runId], { env: cliEnv });
    expect(exported.stdout).toContain('[REDACTED]');
    expect(exported.stdout).not.toContain(secret);
    const log = readFileSync(join(dataDir, 'logs', 'baton.log'), 'utf8');
    expect(log).toContain('"event":"run.finished"');
    expect(log).not.toContain(secret);
  });
});
