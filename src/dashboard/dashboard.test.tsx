import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { rmSync } from 'node:fs';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/cli.js';
import { parsePrometheus, seriesValue } from '../../test/support/prometheus.js';
import { useTempStore } from '../../test/support/temp-store.js';
import { FakeRuntime } from '../agents/index.js';
import { defaultConfig } from '../config/index.js';
import { StoreMetrics } from '../observability/index.js';
import { currentRunStatus, runWorkflow } from '../orchestrator/index.js';
import { parseWorkflow } from '../workflow/index.js';
import { BatonError, ErrorCodes, type ApprovalRecord, type ServerRunHealth } from '../core/index.js';
import type { AgentRecord, ToolCallRecord } from '../store/index.js';
import { agentActivity } from './activity.js';
import { bar, Dashboard } from './Dashboard.js';
import { dashboardSnapshot, type DashboardSnapshot } from './snapshot.js';
import { ensureTenantToken, readTenantTokens } from './tenant-tokens.js';
import { watchRun } from './watch.js';
import { startWebDashboard } from './web.js';
import { agentRecord } from '../../test/support/records.js';

const temp = useTempStore('baton-dash-');

function health(name: string, extra: Partial<ServerRunHealth> = {}): ServerRunHealth {
  return { name, scope: 'run', breaker: 'closed', calls: 1, failures: 0, crashes: 0, restarts: 0, ...extra };
}

const snapshot: DashboardSnapshot = {
  runId: 'run-1',
  workflow: 'review',
  status: 'running',
  agents: 50,
  active: 12,
  queued: 34,
  succeeded: 89,
  failed: 11,
  successRate: 0.89,
  avgDurationMs: 34_000,
  mcp: [
    {
      ...health('git', { calls: 10, failures: 3, crashes: 1, restarts: 1, p50Ms: 4.25, lastError: 'exited (code 1)' }),
      sources: ['orchestrator', 'host-a:42'],
    },
    { ...health('web', { breaker: 'open' }), calls: 0, sources: ['orchestrator'] },
  ],
  contextBytes: 34_000,
  contextLimitBytes: 50_000,
  tokens: 12_456,
  costUsd: 1.5,
  budgetUsd: 5,
  waiting: [],
  running: [
    { agentId: 'reviewer.3', tool: 'mcp__git__diff', elapsedMs: 12_000 },
    { agentId: 'writer', elapsedMs: 3_000 },
  ],
};

describe('terminal dashboard', () => {
  it("renders the roadmap's box", () => {
    const frame = render(<Dashboard snapshot={snapshot} />).lastFrame() ?? '';
    for (const line of [
      'Active: 12',
      'Queue: 34',
      'Success: 89%',
      'Avg Time: 34s',
      '■■■■■■■□□□ git 10 call(s), 3 failed',
      'breaker closed · p50 4.3 ms',
      '1 crash(es), 1 restart(s)',
      'via orchestrator, host-a:42',
      'last error: exited (code 1)',
      '□□□□□□□□□□ web 0 call(s), 0 failed',
      'breaker open  ',
      'via orchestrator  ',
      'Context Size: 34KB / 50KB (your config)',
      'Token Usage: 12,456 · $1.5000 / $5',
      '▶ reviewer.3: mcp__git__diff (12s)',
      '▶ writer: thinking (3s)',
    ]) {
      expect(frame).toContain(line);
    }
    expect(frame.split('crash(es)')).toHaveLength(2); // only the server that crashed says so
    expect(frame).toMatch(/^┌─+┐/);
  });

  it('shows a small non-zero cost as it is, not as $0.0000', () => {
    const frame = render(<Dashboard snapshot={{ ...snapshot, costUsd: 0.000045 }} />).lastFrame() ?? '';
    expect(frame).toContain('Token Usage: 12,456 · $0.000045 / $5');
  });
  it('lists requests waiting for a person; on a terminal, arrows pick one and a / d answer it', async () => {
    const waiting = [
      { id: 'aaa111', who: 'agent fixer', summary: 'Edit(typo.txt)', deadline: 0 },
      { id: 'bbb222', who: 'phase deploy', summary: 'Start phase deploy?\nbuild: ok', deadline: 0 },
    ];
    const plain = render(<Dashboard snapshot={{ ...snapshot, waiting }} />).lastFrame() ?? '';
    expect(plain).toContain('Waiting for you: 2');
    expect(plain).toContain('aaa111 agent fixer: Edit(typo.txt)');
    expect(plain).toContain('bbb222 phase deploy: Start phase deploy?');
    expect(plain).toContain('baton approve|deny <id>');

    const answers: Array<[string, boolean]> = [];
    const app = render(<Dashboard snapshot={{ ...snapshot, waiting }} onAnswer={(id, ok) => answers.push([id, ok])} />);
    const until = (holds: () => boolean) => waitFor(() => holds() || undefined, 5000, 'the dashboard to react');
    await until(() => (app.lastFrame() ?? '').includes('› aaa111'));
    app.stdin.write('a');
    await until(() => answers.length === 1);
    app.stdin.write('\u001B[B'); // arrow down
    await until(() => (app.lastFrame() ?? '').includes('› bbb222'));
    app.stdin.write('d');
    await until(() => answers.length === 2);
    expect(answers).toEqual([
      ['aaa111', true],
      ['bbb222', false],
    ]);
    expect(app.lastFrame()).toContain('a approve · d deny');
    app.unmount();
  });

  it('shows what each running agent is doing: its open tool call and for how long, or thinking since its last', () => {
    const agent = (id: string, status: AgentRecord['status']): AgentRecord =>
      agentRecord({ runId: 'r', id, sessionId: id, status, startedAt: 1_000 });
    const call = (agentId: string, attempt: number, seq: number, extra: Partial<ToolCallRecord>): ToolCallRecord => ({
      runId: 'r',
      agentId,
      attempt,
      seq,
      toolUseId: `${agentId}${attempt}${seq}`,
      name: 'Bash',
      turn: 1,
      startedAt: 2_000,
      status: 'running',
      inputPreview: '',
      ...extra,
    });
    const calls = [
      call('busy', 1, 1, { status: 'error', finishedAt: 2_500 }),
      call('busy', 2, 1, { name: 'mcp__git__diff', startedAt: 4_000 }),
      call('between', 1, 1, { status: 'ok', finishedAt: 3_000 }),
      call('done', 1, 1, {}),
      // Two calls of one turn: the quick second one has ended, the first still runs.
      call('parallel', 1, 1, { startedAt: 5_000 }),
      call('parallel', 1, 2, { name: 'Read', startedAt: 5_000, status: 'ok', finishedAt: 5_100 }),
    ];
    const agents = [
      agent('busy', 'running'),
      agent('parallel', 'running'),
      agent('between', 'running'),
      agent('fresh', 'running'),
      agent('done', 'succeeded'),
    ];
    expect(agentActivity(agents, calls, 10_000)).toEqual([
      { agentId: 'busy', tool: 'mcp__git__diff', elapsedMs: 6_000 },
      { agentId: 'parallel', tool: 'Bash', elapsedMs: 5_000 },
      { agentId: 'between', elapsedMs: 7_000 },
      { agentId: 'fresh', elapsedMs: 9_000 },
    ]);
  });

  it('draws bars from shares', () => {
    expect([bar(0), bar(0.44), bar(1), bar(1.7)]).toEqual(['□□□□□□□□□□', '■■■■□□□□□□', '■■■■■■■■■■', '■■■■■■■■■■']);
  });

  it("shows a run's MCP health from the store, merged over its sources, and no other run's", async () => {
    const run = { workflowName: 'wf', workflow: {}, status: 'succeeded' as const, createdAt: 1 };
    await temp.store.saveRun({ ...run, id: 'mine', tenant: 'team-a' });
    await temp.store.saveRun({ ...run, id: 'theirs', tenant: 'team-b' });
    await temp.store.saveMcpHealth('mine', 'orchestrator', [health('memory', { calls: 2, p50Ms: 1.5 })]);
    await temp.store.saveMcpHealth('mine', 'host-a:42', [
      health('memory', { calls: 3, failures: 1, crashes: 1, restarts: 1, p50Ms: 4, lastError: 'exited' }),
    ]);
    await temp.store.saveMcpHealth('theirs', 'orchestrator', [health('memory', { calls: 50 }), health('secret-db')]);
    const mine = await dashboardSnapshot(temp.store, 'mine', 50_000);
    expect(mine?.mcp).toEqual([
      {
        ...health('memory', { calls: 5, failures: 1, crashes: 1, restarts: 1, p50Ms: 4, lastError: 'exited' }),
        sources: ['host-a:42', 'orchestrator'],
      },
    ]);
    const frame = render(<Dashboard snapshot={mine!} />).lastFrame() ?? '';
    expect(frame).toContain('■■■■■■■■□□ memory 5 call(s), 1 failed');
    expect(frame).not.toContain('secret-db');
  });

  it("counts Baton's own model calls (summaries, re-ranking) in the run's tokens and cost, against its budget", async () => {
    const run = { workflowName: 'wf', workflow: { budgetUsd: 2 }, createdAt: 1, tenant: 'default' };
    await temp.store.saveRun({ ...run, id: 'summarized', status: 'succeeded' });
    const usage = { inputTokens: 100, outputTokens: 20, cacheReadTokens: 0, cacheCreationTokens: 0 };
    await temp.store.saveAgent(agentRecord({ runId: 'summarized', id: 'a', status: 'succeeded', usage, costUsd: 0.5 }));
    const call = { runId: 'summarized', tenant: 'default', purpose: 'summary', usage, costUsd: 0.25 } as const;
    await temp.store.saveBatonCall({ ...call, id: 'call-1', startedAt: 2, finishedAt: 3 });
    expect(await dashboardSnapshot(temp.store, 'summarized', 50_000)).toMatchObject({ tokens: 240, costUsd: 0.75 });
  });

  it('shows a run whose orchestrator was killed as interrupted, with nothing running, however its records read', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const run = { workflowName: 'wf', workflow: {}, createdAt: 1, tenant: 'default' };
    await temp.store.saveRun({ ...run, id: 'killed', status: 'running', pid: dead, host: hostname() });
    await temp.store.saveAgent(agentRecord({ runId: 'killed', id: 'a' }));
    await temp.store.saveToolCall({
      runId: 'killed',
      agentId: 'a',
      attempt: 1,
      seq: 1,
      toolUseId: 't1',
      name: 'Bash',
      turn: 1,
      startedAt: 1,
      status: 'running',
      inputPreview: '{}',
    });
    expect(await dashboardSnapshot(temp.store, 'killed', 50_000)).toMatchObject({
      status: 'interrupted',
      active: 0,
      running: [],
    });
  });

  it('follows a run as it progresses, reading only the store', async () => {
    const workflow = parseWorkflow(
      'version: 1\nname: live\nphases:\n  - id: a\n    agents: [{ id: a1, prompt: one }, { id: a2, prompt: two }]\n  - id: b\n    dependsOn: [a]\n    agents: [{ id: b1, prompt: three }]\n',
      'live.yaml',
    );
    const runtime = new FakeRuntime(() => ({
      text: 'Finding: done',
      delayMs: 120,
      usage: { inputTokens: 10, outputTokens: 5 },
      costUsd: 0.01,
    }));
    const running = runWorkflow({
      workflow,
      workflowDir: temp.dir,
      config: { ...defaultConfig(), data_dir: temp.dir },
      store: temp.store,
      runtime,
      env: {},
      runId: 'live-run',
    });
    const seen: DashboardSnapshot[] = [];
    await new Promise((r) => setTimeout(r, 20)); // the run is saved before its first agent starts
    const last = await watchRun(temp.store, 'live-run', (s) => seen.push(s), {
      intervalMs: 25,
      contextLimitBytes: 50_000,
    });
    await running;
    expect(seen.some((s) => s.active > 0)).toBe(true);
    expect(seen.some((s) => s.queued > 0)).toBe(true);
    expect(last).toMatchObject({
      status: 'succeeded',
      agents: 3,
      succeeded: 3,
      successRate: 1,
      tokens: 45,
      active: 0,
      queued: 0,
    });
    expect(last!.contextBytes).toBeGreaterThan(0);
    const frame = render(<Dashboard snapshot={last!} />).lastFrame() ?? '';
    expect(frame).toContain('Success: 100%');
    expect(frame).toContain('Done: 3/3 (0 failed)');
  });
});

/** A finished run of `tenant` with one agent whose prompt names the run, and a request of it waiting for a person. */
async function runOf(tenant: string, runId: string, dir: string, store: typeof temp.store): Promise<void> {
  const workflow = parseWorkflow(
    `version: 1\nname: wf-${runId}\nphases:\n  - id: p\n    agents: [{ id: worker, prompt: prompt of ${runId} }]\n`,
    `${runId}.yaml`,
  );
  await runWorkflow({
    workflow,
    workflowDir: dir,
    config: { ...defaultConfig(), data_dir: dir },
    store,
    runtime: new FakeRuntime(() => ({ text: `result of ${runId}`, usage: { inputTokens: 3, outputTokens: 2 } })),
    env: {},
    runId,
    tenant,
  });
  await store.saveApproval(approval(`ask-${runId}`, runId));
}

function approval(id: string, runId: string): ApprovalRecord {
  const at = Date.now();
  return {
    id,
    kind: 'phase.before',
    runId,
    phaseId: 'p',
    summary: `Go on with ${runId}?`,
    requestedAt: at,
    deadline: at + 3_600_000,
    onTimeout: 'deny',
    status: 'pending',
  };
}

/** An open `/api/events` stream: how many updates it has told, and everything it sent. */
async function eventStream(url: string, token: string) {
  const response = await fetch(`${url}api/events`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  let text = '';
  let ended = false;
  const reader = response.body!.getReader();
  void (async () => {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      text += Buffer.from(chunk.value).toString('utf8');
    ended = true;
  })().catch(() => (ended = true));
  return { updates: () => text.split('event: update\n').length - 1, text: () => text, ended: () => ended };
}

describe('web dashboard per tenant (real HTTP)', () => {
  async function twoTenants() {
    await runOf('team-a', 'run-a', temp.dir, temp.store);
    await runOf('team-b', 'run-b', temp.dir, temp.store);
    await temp.store.saveMcpHealth('run-b', 'orchestrator', [health('billing-db')]);
    const dashboard = await startWebDashboard({
      store: temp.store,
      port: 0,
      pollMs: 20,
      token: 'operator-token',
      tenantTokens: () => readTenantTokens(temp.dir),
      metrics: new StoreMetrics(temp.store, currentRunStatus),
    });
    const teamA = ensureTenantToken(temp.dir, 'team-a');
    const as = (token: string, path: string, init: RequestInit = {}) =>
      fetch(`${dashboard.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
    return { dashboard, teamA, as };
  }

  it("a tenant's token sees its own run, agents, approvals; the other's are 404 like unknown ones; /metrics is the operator's", async () => {
    const { dashboard, teamA, as } = await twoTenants();
    try {
      const ids = async (token: string, path: string, key: string) =>
        ((await (await as(token, path)).json()) as Array<Record<string, string>>).map((r) => r[key]).sort();
      expect(await ids('operator-token', 'api/runs', 'runId')).toEqual(['run-a', 'run-b']);
      expect(await ids(teamA.token, 'api/runs', 'runId')).toEqual(['run-a']);
      const own = (await (await as(teamA.token, 'api/runs/run-a')).json()) as {
        agents: Array<{ prompt: string; result: string }>;
      };
      expect(own.agents.map((a) => [a.prompt, a.result])).toEqual([['prompt of run-a', 'result of run-a']]);
      // Another tenant's run answers exactly as a run that does not exist: its id tells nothing.
      const theirs = await as(teamA.token, 'api/runs/run-b');
      const unknown = await as(teamA.token, 'api/runs/no-such-run');
      expect([theirs.status, await theirs.text()]).toEqual([404, await unknown.text()]);
      expect(unknown.status).toBe(404);
      expect((await as('operator-token', 'api/runs/run-b')).status).toBe(200);

      expect(await ids('operator-token', 'api/approvals', 'id')).toEqual(['ask-run-a', 'ask-run-b']);
      expect(await ids(teamA.token, 'api/approvals', 'id')).toEqual(['ask-run-a']);
      const decide = (id: string) =>
        as(teamA.token, `api/approvals/${id}/approve`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: new URL(dashboard.url).origin },
          body: '{}',
        });
      const otherDecision = await decide('ask-run-b');
      const unknownDecision = await decide('no-such-request');
      expect([otherDecision.status, await otherDecision.text()]).toEqual([404, await unknownDecision.text()]);
      expect((await temp.store.getApproval('ask-run-b'))?.status).toBe('pending');
      expect((await decide('ask-run-a')).status).toBe(200);
      expect((await temp.store.getApproval('ask-run-a'))?.status).toBe('approved');

      const refused = await as(teamA.token, 'metrics');
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('operator_only');
      const metrics = parsePrometheus(await (await as('operator-token', 'metrics')).text());
      expect(seriesValue(metrics, 'baton_runs', { status: 'succeeded' })).toBe(2);
      expect((await as('wrong-token', 'api/runs')).status).toBe(401);
      expect((await fetch(`${dashboard.url}api/runs`)).status).toBe(401);
    } finally {
      await dashboard.close();
    }
  });

  it("the tenant's login URL becomes a cookie of that tenant; deleting its token file withdraws it at once", async () => {
    const { dashboard, teamA, as } = await twoTenants();
    try {
      const login = await fetch(`${dashboard.url}?token=${teamA.token}`, { redirect: 'manual' });
      expect(login.status).toBe(303);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      const viaCookie = await fetch(`${dashboard.url}api/runs`, { headers: { cookie } });
      expect(((await viaCookie.json()) as Array<{ runId: string }>).map((r) => r.runId)).toEqual(['run-a']);
      rmSync(teamA.file);
      expect((await fetch(`${dashboard.url}api/runs`, { headers: { cookie } })).status).toBe(401);
      expect((await as(teamA.token, 'api/runs/run-a')).status).toBe(401);
      // A new token for the tenant works without restarting the dashboard; the old one stays withdrawn.
      const renewed = ensureTenantToken(temp.dir, 'team-a');
      expect(renewed.token).not.toBe(teamA.token);
      expect((await as(renewed.token, 'api/runs/run-a')).status).toBe(200);
      // A name that is no tenant's never becomes a path.
      expect(() => ensureTenantToken(temp.dir, '../operator')).toThrow(
        new BatonError(
          ErrorCodes.usage,
          '--tenant "../operator" is not a tenant name: use letters, digits, "-" and "_", starting with a letter or digit (e.g. --tenant team-a).',
        ),
      );
    } finally {
      await dashboard.close();
    }
  });

  it("a tenant's live stream tells of its own runs' changes only, and never names another run", async () => {
    const { dashboard, teamA } = await twoTenants();
    const operator = await eventStream(dashboard.url, 'operator-token');
    const tenant = await eventStream(dashboard.url, teamA.token);
    const until = (what: string, holds: () => boolean) => waitFor(() => holds() || undefined, 10_000, what);
    // On connecting, and at the first check of what each sees.
    await until('both streams to start', () => operator.updates() === 2 && tenant.updates() === 2);
    await temp.store.saveApproval(approval('later-b', 'run-b'));
    await until("the operator's page to hear of run-b", () => operator.updates() === 3);
    await temp.store.saveApproval(approval('later-a', 'run-a'));
    // Both pages hear of run-a's change in the same check; closing ends both streams after what was sent.
    await until('both pages to hear of run-a', () => operator.updates() === 4 && tenant.updates() >= 3);
    await dashboard.close();
    await until('the streams to end', () => operator.ended() && tenant.ended());
    expect(tenant.updates()).toBe(3);
    expect(tenant.text()).not.toContain('run-b');
  });

  it('tells open pages when an agent handed to workers is taken up (queued, then running)', async () => {
    const workflow = { version: 1, name: 'w', phases: [] };
    const run = { id: 'run-q', workflowName: 'w', tenant: 'default', workflow, createdAt: Date.now() };
    await temp.store.saveRun({ ...run, status: 'running', pid: process.pid, host: hostname() });
    await temp.store.saveAgent(agentRecord({ runId: 'run-q', id: 'worker', status: 'queued' }));
    const dashboard = await startWebDashboard({ store: temp.store, port: 0, pollMs: 20, token: 'operator-token' });
    try {
      const stream = await eventStream(dashboard.url, 'operator-token');
      const until = (what: string, holds: () => boolean) => waitFor(() => holds() || undefined, 10_000, what);
      await until('the stream to start', () => stream.updates() === 2);
      const agentStatus = async () => {
        const response = await fetch(`${dashboard.url}api/runs/run-q`, {
          headers: { authorization: 'Bearer operator-token' },
        });
        return ((await response.json()) as { agents: Array<{ status: string }> }).agents[0]!.status;
      };
      expect(await agentStatus()).toBe('queued');
      await temp.store.saveAgent(agentRecord({ runId: 'run-q', id: 'worker', status: 'running' }));
      await until('the page to hear the agent runs', () => stream.updates() === 3);
      expect(await agentStatus()).toBe('running');
    } finally {
      await dashboard.close();
    }
  });
});
