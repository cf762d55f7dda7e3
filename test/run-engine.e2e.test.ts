import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listProcesses, processAlive } from '../src/core/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { processesWithEnv } from './support/processes.js';
import { useScriptedModel } from './support/scripted-model.js';

// Each model turn reports 25k input tokens, so each one costs the same few cents.
const costly = { input_tokens: 25_000, output_tokens: 10 };
const readHostname = { toolUse: { name: 'Read', input: { file_path: '/etc/hostname' } }, usage: costly };

const model = useScriptedModel(
  {
    rules: [
      {
        match: { prompt: 'spend then overload' },
        // Two turns, an overload (the attempt fails, transient), then three more turns on the retry.
        replies: [
          readHostname,
          readHostname,
          { fault: { status: 529 } },
          readHostname,
          readHostname,
          { text: 'done', usage: costly },
        ],
        sequencePer: 'session',
      },
      {
        match: { prompt: 'turns then overload' },
        // Two turns, an overload, then turns without end: maxTurns must hold over both attempts.
        replies: [readHostname, readHostname, { fault: { status: 529 } }, readHostname],
        sequencePer: 'session',
      },
      { match: { prompt: 'always overloaded' }, reply: { fault: { status: 529 } }, sequencePer: 'session' },
      // s1's first call hangs until the run is stopped; resumed, it answers (s2 and s3 wait for its slot).
      { match: { prompt: 'stoppable 1' }, replies: [{ hang: true }, { text: 'finished' }], sequencePer: 'session' },
      { match: { prompt: '/^stoppable \\d$/' }, reply: { text: 'finished' }, sequencePer: 'session' },
      // The same for an agent whose orchestrator is killed (kill -9) while its call hangs.
      { match: { prompt: 'cut off' }, replies: [{ hang: true }, { text: 'finished' }], sequencePer: 'session' },
      // A follow-up asks for the very command the agent's rules deny, then for a costly turn.
      {
        match: { last: 'Clean up now' },
        reply: { toolUse: { name: 'Bash', input: { command: 'rm keep.txt' } } },
        sequencePer: 'session',
      },
      { match: { last: 'keep.txt' }, reply: { text: 'cleaned' }, sequencePer: 'session' },
      { match: { prompt: 'price one turn' }, reply: { text: 'priced', usage: costly }, sequencePer: 'session' },
      // A Bash command that leaves a daemon in a session of its own (out of the agent's process group).
      {
        match: { prompt: 'leave a daemon' },
        replies: [
          {
            toolUse: {
              name: 'Bash',
              input: { command: `setsid sh -c 'echo $$ > daemon.pid; exec sleep 100000' </dev/null >/dev/null 2>&1 &` },
            },
          },
          { text: 'left one' },
        ],
        sequencePer: 'session',
      },
    ],
    default: { text: 'OK' },
  },
  'baton-run-engine-',
);

const workflowFile = (yaml: string): string => model.home.writeWorkflow(yaml);

const env = (extra: Record<string, string> = {}) =>
  model.home.cliEnv(model.url, {
    BATON_DATA_DIR: join(model.home.dir, 'data'),
    BATON_RETRY_BASE_DELAY_MS: '0',
    ...extra,
  });

async function runJson(
  yaml: string,
  extra: Record<string, string> = {},
): Promise<{ code: number | null; summary: RunSummary }> {
  const { code, stdout, stderr } = await runCli(['run', workflowFile(yaml), '--json'], { env: env(extra) });
  expect(stderr).not.toMatch(/\n\s+at /);
  return { code, summary: JSON.parse(stdout) as RunSummary };
}

async function priceOfOneTurn(): Promise<number> {
  const priced = await runJson(`
version: 1
name: price
phases: [{ id: only, agents: [{ id: pricer, prompt: price one turn }] }]
`);
  return priced.summary.phases[0]!.agents[0]!.costUsd;
}

describe('run engine on real claude agents (scripted model)', () => {
  it("counts a retried agent's cost once: a resumed attempt adds only what it spent itself", async () => {
    const turnUsd = await priceOfOneTurn();
    const { code, summary } = await runJson(`
version: 1
name: retried
phases: [{ id: only, agents: [{ id: retried, prompt: spend then overload, allowedTools: [Read] }] }]
`);
    expect(code).toBe(0);
    const agent = summary.phases[0]!.agents[0]!;
    expect(agent).toMatchObject({ status: 'succeeded', attempts: 2, usage: { inputTokens: 5 * 25_000 } });
    // Five answered turns, two in the first attempt and three in the resumed one.
    expect(agent.costUsd).toBeCloseTo(5 * turnUsd, 6);
    expect(summary.totals.costUsd).toBeCloseTo(5 * turnUsd, 6);
  });

  it('holds an agent to maxBudgetUsd over all its attempts: a retry gets only what is left', async () => {
    const turnUsd = await priceOfOneTurn();
    expect(turnUsd).toBeGreaterThan(0);
    // Room for three turns: the first attempt takes two, so the retry may take one more, not three.
    const budget = 3.5 * turnUsd;
    const { code, summary } = await runJson(`
version: 1
name: budget
phases:
  - id: only
    agents: [{ id: spender, prompt: spend then overload, maxBudgetUsd: ${budget}, allowedTools: [Read] }]
`);
    expect(code).toBe(1);
    const agent = summary.phases[0]!.agents[0]!;
    expect(agent).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'BATON_AGENT_BUDGET_EXCEEDED' } });
    // Claude Code stops after the turn that passes its budget: two turns, then two more, never five.
    expect(agent.costUsd).toBeCloseTo(4 * turnUsd, 6);
    const answered = model.server.messageRequests(agent.sessionId).filter((r) => r.outcome === 'message');
    expect(answered.length).toBe(4);
  });
});

describe('maxTurns over retries (real claude)', () => {
  it('a retry gets only the turns the earlier attempts left', async () => {
    const { code, summary } = await runJson(`
version: 1
name: turns
phases:
  - id: only
    agents: [{ id: turner, prompt: turns then overload, maxTurns: 3, allowedTools: [Read] }]
`);
    expect(code).toBe(1);
    const agent = summary.phases[0]!.agents[0]!;
    expect(agent).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'BATON_AGENT_MAX_TURNS' } });
    const answered = model.server.messageRequests(agent.sessionId).filter((r) => r.outcome === 'message');
    expect(answered.length).toBeLessThanOrEqual(3);
  });
});

describe('baton cancel of a run whose orchestrator died', () => {
  it('signals no process that took over its pid, and reads it as interrupted', async () => {
    const dataDir = join(model.home.dir, 'reused-pid');
    // Started after the run: the pid the dead orchestrator left now belongs to someone else.
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const store = openSqliteStore({ dataDir });
      const startedAt = Date.now() - 60_000;
      await store.saveRun({
        id: 'orphaned',
        workflowName: 'w',
        tenant: 'default',
        workflow: {},
        status: 'running',
        pid: bystander.pid!,
        host: hostname(),
        createdAt: startedAt,
        startedAt,
      });
      await store.close();
      const cancel = await runCli(['cancel', 'orphaned', '--data-dir', dataDir], { env: env() });
      expect(cancel.code).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(bystander.exitCode).toBeNull();
      expect(bystander.signalCode).toBeNull();
      expect(processAlive(bystander.pid!)).toBe(true);
      // Nor is the run taken for still running: its status reads interrupted, not running.
      const status = await runCli(['status', 'orphaned', '--json', '--data-dir', dataDir], { env: env() });
      expect((JSON.parse(status.stdout) as { status: string }).status).not.toBe('running');
    } finally {
      bystander.kill('SIGKILL');
    }
  });
});

describe('a run whose orchestrator was killed (kill -9) and never resumed', () => {
  it('status says it is interrupted and which agents were cut off; a resume a quota refuses changes nothing', async () => {
    const dataDir = join(model.home.dir, 'killed');
    const path = workflowFile(`
version: 1
name: killed
phases:
  - { id: first, agents: [{ id: pricer, prompt: price one turn }] }
  - { id: second, dependsOn: [first], agents: [{ id: s1, prompt: cut off }] }
`);
    const runEnv = env({ BATON_DATA_DIR: dataDir });
    const orchestrator = startCli(['run', path], { env: runEnv });
    const store = openSqliteStore({ dataDir });
    try {
      // s1 is waiting on its (hanging) model call when its orchestrator is killed.
      const runId = await waitFor(
        async () => {
          const [run] = await store.listRuns({ limit: 1 });
          const s1 = run ? await store.getAgent(run.id, 's1') : undefined;
          return s1?.status === 'running' && model.server.messageRequests(s1.sessionId).length > 0
            ? run!.id
            : undefined;
        },
        45_000,
        's1 to call the model',
      );
      orchestrator.kill('SIGKILL');
      await orchestrator.output;

      const status = await runCli(['status', runId], { env: runEnv });
      expect(status.stdout).toContain(`Run ${runId} (killed): interrupted`);
      expect(status.stdout).toContain('Cut off when its orchestrator stopped: s1 (phase second)');
      expect(status.stdout).toMatch(/^ {4}interrupted s1 /m);
      expect(status.stdout).not.toMatch(/^ {4}running /m);
      const json = JSON.parse((await runCli(['status', runId, '--json'], { env: runEnv })).stdout) as RunSummary;
      expect(json.status).toBe('interrupted');
      expect(json.phases.map((p) => [p.id, p.status, p.agents.map((a) => `${a.id}:${a.status}`)])).toEqual([
        ['first', 'succeeded', ['pricer:succeeded']],
        ['second', 'interrupted', ['s1:interrupted']],
      ]);
      const timeline = JSON.parse((await runCli(['status', runId, '--agent', 's1', '--json'], { env: runEnv })).stdout);
      expect(timeline).toMatchObject({ status: 'interrupted', attempts: [{ attempt: 1, status: 'interrupted' }] });

      // The tenant's tokens are spent (pricer's turn): the resume is refused, and the stored run is as it was.
      const stored = async () => ({
        run: await store.getRun(runId),
        phases: await store.listPhases(runId),
        agents: await store.listAgents(runId),
        attempts: await store.listAttempts(runId),
        toolCalls: await store.listToolCalls(runId),
        audit: await store.listAuditEvents({}),
        cancel: await store.isCancelRequested(runId),
      });
      const before = await stored();
      const quota = join(model.home.dir, 'killed-quota.yaml');
      writeFileSync(quota, 'tenant_daily_token_budget: { default: 1000 }\n');
      const refused = await runCli(['run', '--resume', runId, '--config', quota], { env: runEnv });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('BATON_TENANT_BUDGET_EXCEEDED');
      expect(refused.stderr).toContain(`run ${runId} was not resumed and is left as it was`);
      expect(await stored()).toEqual(before);

      // Resumed without the quota: s1's lost attempt is closed, and it continues its session to the end.
      const resumed = await runCli(['run', '--resume', runId, '--json'], { env: runEnv });
      expect(resumed.code, resumed.stderr).toBe(0);
      const attempts = await store.listAttempts(runId, 's1');
      expect(attempts.map((a) => `${a.attempt}:${a.status}:${a.error?.code ?? ''}`)).toEqual([
        '1:failed:BATON_ORCHESTRATOR_LOST',
        '2:succeeded:',
      ]);
      expect(processesWithEnv(model.home.dir)).toEqual([]);
    } finally {
      orchestrator.kill('SIGKILL');
      await store.close();
    }
  });
});

describe('a run id that names no run', () => {
  it('is BATON_RUN_NOT_FOUND (exit 2, no stack) for every command that reads one', async () => {
    const dataDir = join(model.home.dir, 'empty-store');
    for (const args of [
      ['status', 'nope'],
      ['cancel', 'nope'],
      ['merge', 'nope'],
      ['status', 'nope', '--agent', 'a'],
    ]) {
      const { code, stderr } = await runCli([...args, '--data-dir', dataDir], { env: env() });
      expect({ args, code, stderr }).toMatchObject({ code: 2, stderr: expect.stringContaining('BATON_RUN_NOT_FOUND') });
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('timeouts and the kill switch (real claude)', () => {
  it('an agent waiting out a long backoff still ends at its timeout, BATON_AGENT_TIMEOUT, not retried again', async () => {
    const started = Date.now();
    const { code, summary } = await runJson(
      `
version: 1
name: backoff
phases: [{ id: only, agents: [{ id: overloaded, prompt: always overloaded, timeoutMs: 4000 }] }]
`,
      { BATON_RETRY_BASE_DELAY_MS: '600000', BATON_RETRY_MAX_DELAY_MS: '600000' },
    );
    expect(code).toBe(1);
    expect(summary.phases[0]!.agents[0]).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'BATON_AGENT_TIMEOUT' },
    });
    // The timeout as written and where to raise it, not what was left of its timer once the agent was ready.
    expect(summary.phases[0]!.agents[0]!.error!.message).toBe(
      "agent overloaded timed out after 4000 ms and was killed; to give it longer, raise the agent's timeoutMs in the workflow",
    );
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(processesWithEnv(model.home.dir)).toEqual([]);
  });

  it('what an agent started outside its process group (setsid in a Bash command) does not outlive it', async () => {
    const project = join(model.home.dir, 'daemon-project');
    mkdirSync(project, { recursive: true });
    const { code, summary } = await runJson(`
version: 1
name: daemon
phases:
  - id: only
    agents: [{ id: daemoniser, prompt: leave a daemon, allowedTools: [Bash], cwd: ${JSON.stringify(project)} }]
`);
    expect(code).toBe(0);
    expect(summary.status).toBe('succeeded');
    // The daemon did start (it wrote its pid), and is gone with the agent.
    const pid = Number(readFileSync(join(project, 'daemon.pid'), 'utf8'));
    expect(pid).toBeGreaterThan(1);
    // Killed, not reaped (init may take its time with a zombie): no live process has that pid.
    expect(listProcesses().filter((p) => p.pid === pid && p.state !== 'Z')).toEqual([]);
    expect(processesWithEnv(model.home.dir)).toEqual([]);
  });

  it('an agent waiting for an MCP server that stays down (onMcpUnavailable: wait) fails at its timeout', async () => {
    const path = workflowFile(`
version: 1
name: mcp-wait
mcpServers:
  down: { command: "false" }
phases:
  - id: only
    agents: [{ id: waiter, prompt: price one turn, mcpServers: [down], onMcpUnavailable: wait, timeoutMs: 3000 }]
`);
    const cli = startCli(['run', path, '--json'], { env: env() });
    // Well past the timeout: a run still going then waits on a deadline that never fires.
    const deadline = setTimeout(() => cli.kill('SIGTERM'), 45_000);
    const { code, stdout } = await cli.output;
    clearTimeout(deadline);
    expect(code).toBe(1);
    const agent = (JSON.parse(stdout) as RunSummary).phases[0]!.agents[0]!;
    expect(agent).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'BATON_MCP_UNAVAILABLE' } });
    expect(agent.error!.message).toContain('down');
  });

  it('SIGTERM to baton run cancels running and queued agents alike; --resume then runs each once, in its own session', async () => {
    const dataDir = join(model.home.dir, 'sigterm');
    const path = workflowFile(`
version: 1
name: stoppable
phases:
  - id: work
    agents: [{ id: s1, prompt: stoppable 1 }, { id: s2, prompt: stoppable 2 }, { id: s3, prompt: stoppable 3 }]
`);
    const runEnv = env({ BATON_DATA_DIR: dataDir, BATON_PARALLEL_LIMIT: '1' });
    const cli = startCli(['run', path, '--json'], { env: runEnv });
    await waitFor(
      () => model.server.requests.some((r) => r.view?.prompt === 'stoppable 1') || undefined,
      30_000,
      's1 to call the model',
    );
    cli.kill('SIGTERM');
    const { code, stdout, stderr } = await cli.output;
    expect(stderr).toContain('SIGTERM: cancelling the run');
    expect(code).toBe(1);
    const stopped = JSON.parse(stdout) as RunSummary;
    expect(stopped.status).toBe('cancelled');
    expect(stopped.phases[0]!.agents.map((a) => [a.id, a.status, a.error?.code])).toEqual([
      ['s1', 'cancelled', 'BATON_CANCELLED'],
      ['s2', 'cancelled', 'BATON_CANCELLED'],
      ['s3', 'cancelled', 'BATON_CANCELLED'],
    ]);
    expect(processesWithEnv(model.home.dir)).toEqual([]);

    const resumed = await runCli(['run', '--resume', stopped.runId, '--json'], { env: runEnv });
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.stdout) as RunSummary;
    expect(summary.status).toBe('succeeded');
    // s1 continued its session (its hung call, then the answer); s2 and s3 each called the model once.
    const calls = (id: string) =>
      model.server.messageRequests(stopped.phases[0]!.agents.find((a) => a.id === id)!.sessionId);
    expect(calls('s2').filter((r) => r.outcome === 'message')).toHaveLength(1);
    for (const agent of summary.phases[0]!.agents) {
      const before = stopped.phases[0]!.agents.find((a) => a.id === agent.id)!;
      expect(agent).toMatchObject({ status: 'succeeded', sessionId: before.sessionId });
    }
    expect(summary.phases[0]!.agents.map((a) => a.result)).toEqual(Array(3).fill('finished'));
  });
});

describe('baton sessions resume|fork: the same agent, the same rules', () => {
  it("keeps the agent's permission rules: a command they deny in the run stays denied in a follow-up", async () => {
    const dir = join(model.home.dir, 'rules');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'keep.txt'), 'precious\n');
    const path = join(dir, 'wf.yaml');
    writeFileSync(
      path,
      `
version: 1
name: rules
phases:
  - id: only
    agents:
      - id: careful
        prompt: price one turn
        allowedTools: [Bash]
        permissions: { deny: ["Bash(rm:*)"] }
`,
    );
    const { code, stdout } = await runCli(['run', path, '--json'], { env: env() });
    expect(code).toBe(0);
    const sessionId = (JSON.parse(stdout) as RunSummary).phases[0]!.agents[0]!.sessionId;
    for (const mode of ['resume', 'fork']) {
      const followUp = await runCli(['sessions', mode, sessionId, 'Clean up now', '--json'], { env: env() });
      expect(followUp.code).toBe(0);
      expect(existsSync(join(dir, 'keep.txt'))).toBe(true);
    }
  });
});
