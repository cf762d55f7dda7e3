import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parsePrometheus, seriesValue } from '../../test/support/prometheus.js';
import { agentRecord } from '../../test/support/records.js';
import { useTempStore } from '../../test/support/temp-store.js';
import { FakeRuntime } from '../agents/index.js';
import { defaultConfig } from '../config/index.js';
import { BatonError, ErrorCodes } from '../core/index.js';
import { buildCatalog, McpManager } from '../mcp/index.js';
import { currentRunStatus, RunEvents, runWorkflow } from '../orchestrator/index.js';
import { parseWorkflow } from '../workflow/index.js';
import { BatonMetrics, startMetricsServer } from './metrics.js';
import { StoreMetrics } from './store-metrics.js';

const temp = useTempStore('baton-metrics-');

/** The value of one series in Prometheus text format, e.g. `baton_agents_total{status="failed"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const workflow = parseWorkflow(
  `version: 1
name: metrics
mcpServers:
  memory: { command: mcp-memory }
  dead: { command: mcp-dead }
phases:
  - id: build
    agents:
      - { id: ok, prompt: build it, mcpServers: [memory] }
      - { id: flaky, prompt: build more, mcpServers: [memory, dead] }
  - id: check
    dependsOn: [build]
    agents: [{ id: broken, prompt: check it, mcpServers: [] }]
`,
  'metrics.yaml',
);

describe('metrics', () => {
  it('counts agents, attempts, retries, tokens, cost, context and MCP checks after a run', async () => {
    const metrics = new BatonMetrics();
    const events = new RunEvents();
    metrics.observeRun(events);
    const mcp = new McpManager({
      catalog: buildCatalog({ workflow: workflow.mcpServers }),
      env: {},
      timeoutMs: 1000,
      retryBaseDelayMs: 1,
      probe: async (name) => {
        if (name === 'dead') throw new BatonError(ErrorCodes.mcpUnavailable, 'down');
        return [{ name: 'read_graph' }];
      },
    });
    metrics.observeMcp(mcp.events);
    const calls = new Map<string, number>();
    const runtime = new FakeRuntime((spec) => {
      calls.set(spec.agentId, (calls.get(spec.agentId) ?? 0) + 1);
      if (spec.agentId === 'flaky' && calls.get('flaky') === 1)
        return { error: { code: ErrorCodes.modelOverloaded, message: '529', transient: true } };
      if (spec.agentId === 'broken')
        return {
          error: { code: ErrorCodes.modelInvalidRequest, message: '400', transient: false },
          usage: { inputTokens: 5 },
        };
      return {
        text: 'Decision: ship it',
        usage: { inputTokens: 100, outputTokens: 20, cacheReadTokens: 7 },
        costUsd: 0.25,
      };
    });
    const config = { ...defaultConfig(), data_dir: temp.dir, retry_base_delay_ms: 1, retry_max_delay_ms: 2 };
    const summary = await runWorkflow({
      workflow,
      workflowDir: temp.dir,
      config,
      store: temp.store,
      runtime,
      mcp,
      env: {},
      events,
    });
    mcp.close();

    const text = await metrics.text();
    expect(sample(text, 'baton_agents_total{status="succeeded"}')).toBe(2);
    expect(sample(text, 'baton_agents_total{status="failed"}')).toBe(1);
    expect(sample(text, 'baton_agent_attempts_total{status="failed",code="BATON_MODEL_OVERLOADED"}')).toBe(1);
    expect(sample(text, 'baton_agent_retries_total')).toBe(1);
    expect(sample(text, 'baton_runs_total{status="partial"}')).toBe(1);
    // Token totals equal the sum of what the agents reported.
    const input = summary.phases.flatMap((p) => p.agents).reduce((sum, a) => sum + a.usage.inputTokens, 0);
    expect(
      (sample(text, 'baton_tokens_total{phase="build",kind="input"}') ?? 0) +
        (sample(text, 'baton_tokens_total{phase="check",kind="input"}') ?? 0),
    ).toBe(input);
    expect(sample(text, 'baton_tokens_total{phase="build",kind="cache_read"}')).toBe(14);
    expect(sample(text, 'baton_cost_usd_total{model="default"}')).toBeCloseTo(summary.totals.costUsd);
    expect(sample(text, 'baton_active_agents')).toBe(0);
    expect(sample(text, 'baton_queue_depth')).toBe(0);
    expect(sample(text, 'baton_context_inheritance_depth_count')).toBe(3);
    expect(sample(text, 'baton_context_entries_total')).toBe(3);
    expect(sample(text, 'baton_mcp_checks_total{server="memory",status="up"}')).toBe(1);
    expect(sample(text, 'baton_mcp_checks_total{server="dead",status="down"}')).toBe(1);
    expect(sample(text, 'baton_mcp_retries_total{server="dead"}')).toBe(2);
    expect(sample(text, 'baton_mcp_breaker_state{server="dead"}')).toBe(2);
    expect(text).toContain('baton_process_resident_memory_bytes');
    // Bounded labels: no run, agent or session ids.
    expect(text).not.toContain(summary.runId);
    expect(text).not.toMatch(/agent(Id)?="/);

    // `baton serve` and `baton worker`, which Prometheus scrapes, read the same from the store.
    const stored = await new StoreMetrics(temp.store, currentRunStatus).text();
    for (const series of [
      'baton_agent_attempts_total{status="failed",code="BATON_MODEL_OVERLOADED"}',
      'baton_agent_attempts_total{status="failed",code="BATON_MODEL_INVALID_REQUEST"}',
      'baton_agent_attempts_total{status="succeeded",code=""}',
      'baton_agent_retries_total',
      'baton_agent_duration_seconds_count{status="succeeded"}',
      'baton_agent_duration_seconds_count{status="failed"}',
      'baton_context_inherited_tokens_count',
      'baton_context_inherited_tokens_sum',
    ]) {
      expect(sample(text, series), series).toBeGreaterThan(0);
      expect(sample(stored, series), series).toBe(sample(text, series));
    }
    expect(stored).not.toContain(summary.runId);
  });

  it("exports the MCP health runs saved: agents' calls by server and result, and running runs' breakers", async () => {
    const health = { scope: 'run' as const, crashes: 0, restarts: 0 };
    const run = { workflowName: 'w', workflow: {}, createdAt: Date.now(), tenant: 'default' };
    await temp.store.saveRun({ ...run, id: 'live', status: 'running', pid: process.pid, host: hostname() });
    await temp.store.saveRun({ ...run, id: 'done', status: 'succeeded' });
    await temp.store.saveMcpHealth('live', 'orchestrator', [
      { ...health, name: 'memory', breaker: 'closed', calls: 4, failures: 1 },
    ]);
    await temp.store.saveMcpHealth('live', 'build-1:42', [
      { ...health, name: 'memory', breaker: 'open', calls: 2, failures: 2 },
    ]);
    await temp.store.saveMcpHealth('done', 'orchestrator', [
      { ...health, name: 'github', breaker: 'open', calls: 3, failures: 0 },
    ]);
    const families = parsePrometheus(await new StoreMetrics(temp.store, currentRunStatus).text());
    expect(seriesValue(families, 'baton_mcp_calls_total', { server: 'memory', status: 'ok' })).toBe(3);
    expect(seriesValue(families, 'baton_mcp_calls_total', { server: 'memory', status: 'error' })).toBe(3);
    expect(seriesValue(families, 'baton_mcp_calls_total', { server: 'github', status: 'ok' })).toBe(3);
    // The worst any source of a running run saw; a finished run's breaker says nothing of now.
    const breakers = families.find((f) => f.name === 'baton_mcp_breaker_state')!.metrics;
    expect(breakers.map((m) => [m.labels, Number(m.value)])).toEqual([[{ server: 'memory' }, 2]]);
  });

  it('serves /metrics over HTTP to holders of its token only', async () => {
    const metrics = new BatonMetrics();
    const server = await startMetricsServer(metrics, { port: 0, token: 'metrics-token-0123456789' });
    try {
      expect((await fetch(server.url)).status).toBe(401);
      expect((await fetch(server.url, { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(401);
      const response = await fetch(server.url, { headers: { authorization: 'Bearer metrics-token-0123456789' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      expect(await response.text()).toContain('# TYPE baton_agents_total counter');
      const other = server.url.replace('/metrics', '/other');
      expect((await fetch(other, { headers: { authorization: 'Bearer metrics-token-0123456789' } })).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('exports from serve and worker every metric the shipped Grafana dashboard queries', async () => {
    const dashboard = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../deploy/grafana/baton-dashboard.json', import.meta.url)), 'utf8'),
    ) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const queried = new Set(
      dashboard.panels.flatMap((p) => p.targets ?? []).flatMap((t) => t.expr.match(/baton_[a-z_]+/g) ?? []),
    );
    expect(queried.size).toBeGreaterThan(10);
    // Only what `baton serve` and `baton worker` export (the store's totals): deploy/prometheus.yml scrapes
    // those, not a `baton run`, so a panel fed by a run's own metrics would stay empty.
    const exported = await new StoreMetrics(temp.store, currentRunStatus).seriesNames();
    expect([...queried].filter((name) => !exported.has(name))).toEqual([]);
    expect(queried).toContain('baton_tool_calls_total');
  });

  it('derives run, agent, token, cost and tool-call totals from the store, with bounded labels', async () => {
    const derived = parseWorkflow(
      'version: 1\nname: derived\nphases:\n  - id: work\n    agents: [{ id: a, prompt: go }, { id: b, prompt: fail }]\n',
      'derived.yaml',
    );
    const runtime = new FakeRuntime((spec) =>
      spec.prompt === 'fail'
        ? { error: { code: ErrorCodes.agentFailed, message: 'no', transient: false }, costUsd: 0.5 }
        : {
            text: 'ok',
            costUsd: 0.25,
            usage: { inputTokens: 10, outputTokens: 3 },
            toolCalls: [
              {
                seq: 1,
                toolUseId: 't1',
                name: 'Read',
                turn: 1,
                startedAt: 1,
                finishedAt: 2,
                durationMs: 1,
                status: 'ok',
                inputPreview: '{}',
              },
              {
                seq: 2,
                toolUseId: 't2',
                name: 'mcp__git__log',
                server: 'git',
                turn: 1,
                startedAt: 3,
                finishedAt: 5,
                durationMs: 2,
                status: 'error',
                inputPreview: '{}',
              },
              // Names the model made up (Claude Code has no such tool): one series for all of them.
              ...['mcp__made_up__x1', 'Frobnicate_7f3a'].map((name, i) => ({
                seq: 3 + i,
                toolUseId: `t${3 + i}`,
                name,
                turn: 2,
                startedAt: 6,
                finishedAt: 6,
                durationMs: 0,
                status: 'error' as const,
                inputPreview: '{}',
                outputPreview: `<tool_use_error>Error: No such tool available: ${name}</tool_use_error>`,
              })),
            ],
          },
    );
    const config = { ...defaultConfig(), data_dir: temp.dir };
    const summary = await runWorkflow({
      workflow: derived,
      workflowDir: temp.dir,
      config,
      store: temp.store,
      runtime,
      env: {},
      events: new RunEvents(),
    });
    const text = await new StoreMetrics(temp.store, currentRunStatus).text();
    expect(sample(text, 'baton_runs{status="partial"}')).toBe(1);
    expect(sample(text, 'baton_agents{status="succeeded"}')).toBe(1);
    expect(sample(text, 'baton_agents{status="failed"}')).toBe(1);
    expect(sample(text, 'baton_tokens_total{phase="work",kind="input"}')).toBe(10);
    expect(sample(text, 'baton_cost_usd_total{model="default"}')).toBeCloseTo(0.75);
    expect(sample(text, 'baton_tool_calls_total{tool="Read",server="",status="ok"}')).toBe(1);
    expect(sample(text, 'baton_tool_calls_total{tool="mcp__git__log",server="git",status="error"}')).toBe(1);
    expect(sample(text, 'baton_tool_calls_total{tool="unknown",server="",status="error"}')).toBe(2);
    expect(text).not.toMatch(/made_up|Frobnicate/);
    expect(sample(text, 'baton_active_agents')).toBe(0);
    expect(text).not.toContain(summary.runId);
  });

  it("counts a planner's generated phases under their planning phase: ids a model chose add no series", async () => {
    await temp.store.saveRun({
      id: 'planned',
      workflowName: 'w',
      tenant: 'default',
      workflow: {},
      status: 'succeeded',
      createdAt: 1,
    });
    for (const [id, phaseId] of [
      ['t1', 'plan.g1.fix-ticket-48213-user-jdoe'],
      ['t2', 'plan.g2.customer-acme-corp-migration'],
      ['planner.g1', 'plan'],
    ] as const)
      await temp.store.saveAgent(
        agentRecord({
          runId: 'planned',
          id,
          phaseId,
          status: 'succeeded',
          usage: { inputTokens: 100, outputTokens: 1, cacheReadTokens: 0, cacheCreationTokens: 0 },
        }),
      );
    const events = new RunEvents();
    const live = new BatonMetrics();
    live.observeRun(events);
    events.emit('agent.finished', {
      runId: 'planned',
      agentId: 't3',
      phaseId: 'plan.g3.another-invented-name',
      status: 'succeeded',
      usage: { inputTokens: 5, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 },
      costUsd: 0,
      durationMs: 1,
      attempts: 1,
    });
    for (const text of [await new StoreMetrics(temp.store, currentRunStatus).text(), await live.registry.metrics()]) {
      expect(text).not.toMatch(/ticket|acme|invented/);
      expect(sample(text, 'baton_tokens_total{phase="plan",kind="input"}')).toBeGreaterThan(0);
    }
  });

  it("counts the summarizer's model calls in the cost and token counters with a purpose label, live and from the store alike", async () => {
    const summarized = parseWorkflow(
      `version: 1
name: summarized
defaults: { model: opus }
context: { summarizer: agent }
phases:
  - { id: research, agents: [{ id: scout, prompt: look around }] }
  - { id: build, dependsOn: [research], inherit: summary, agents: [{ id: dev, prompt: build it }] }
`,
      'summarized.yaml',
    );
    const metrics = new BatonMetrics();
    const events = new RunEvents();
    metrics.observeRun(events);
    const usage = { inputTokens: 500, outputTokens: 40, cacheReadTokens: 3, cacheCreationTokens: 2 };
    const runtime = new FakeRuntime((spec) =>
      spec.agentId === 'context-summarizer'
        ? { text: 'the summary', costUsd: 0.25, usage }
        : { text: 'Finding: the cache is cold.', costUsd: 0.5 },
    );
    const config = { ...defaultConfig(), data_dir: temp.dir };
    const summary = await runWorkflow({
      workflow: summarized,
      workflowDir: temp.dir,
      config,
      store: temp.store,
      runtime,
      env: {},
      events,
    });
    expect(summary.status).toBe('succeeded');
    const fromStore = await new StoreMetrics(temp.store, currentRunStatus).text();
    for (const text of [await metrics.text(), fromStore]) {
      const families = parsePrometheus(text);
      expect(seriesValue(families, 'baton_cost_usd_total', { model: 'opus', purpose: 'summary' })).toBeCloseTo(0.25);
      expect(seriesValue(families, 'baton_cost_usd_total')).toBeCloseTo(1.25);
      const tokens = (kind: string) => seriesValue(families, 'baton_tokens_total', { purpose: 'summary', kind });
      expect([tokens('input'), tokens('output'), tokens('cache_read'), tokens('cache_write')]).toEqual([500, 40, 3, 2]);
      // Agents' series keep their labels (no purpose); Baton's own carry no phase.
      const cost = families.find((f) => f.name === 'baton_cost_usd_total')!.metrics.map((m) => m.labels);
      expect(cost).toEqual(expect.arrayContaining([{ model: 'opus' }, { model: 'opus', purpose: 'summary' }]));
      const own = families
        .find((f) => f.name === 'baton_tokens_total')!
        .metrics.filter((m) => m.labels?.purpose !== undefined);
      expect(own.every((m) => m.labels?.phase === undefined)).toBe(true);
      expect(text).not.toContain(summary.runId);
    }
  });

  it('counts a run whose orchestrator was killed as interrupted, its agents no longer active', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid; // a pid that has exited
    // Created now: a live pid counts as the run's orchestrator only if that process started before the run.
    const run = { workflowName: 'w', workflow: {}, createdAt: Date.now(), tenant: 'default' };
    await temp.store.saveRun({ ...run, id: 'killed', status: 'running', pid: dead, host: hostname() });
    await temp.store.saveRun({ ...run, id: 'alive', status: 'running', pid: process.pid, host: hostname() });
    await temp.store.saveAgent(agentRecord({ runId: 'killed', id: 'a' }));
    await temp.store.saveAgent(agentRecord({ runId: 'alive', id: 'b' }));
    const text = await new StoreMetrics(temp.store, currentRunStatus).text();
    expect(sample(text, 'baton_runs{status="interrupted"}')).toBe(1);
    expect(sample(text, 'baton_active_agents')).toBe(1);
  });

  it('counts in baton_queue_depth the agents ready and waiting for a slot or a worker, alike in the store and a run', async () => {
    const run = { workflowName: 'w', workflow: {}, createdAt: Date.now(), tenant: 'default' };
    await temp.store.saveRun({ ...run, id: 'q', status: 'running', pid: process.pid, host: hostname() });
    await temp.store.savePhase({ runId: 'q', id: 'build', status: 'running' });
    await temp.store.savePhase({ runId: 'q', id: 'check', status: 'pending' });
    await temp.store.saveAgent(agentRecord({ runId: 'q', id: 'slot', phaseId: 'build', status: 'pending' }));
    await temp.store.saveAgent(agentRecord({ runId: 'q', id: 'job', phaseId: 'build', status: 'queued' }));
    await temp.store.saveAgent(agentRecord({ runId: 'q', id: 'go', phaseId: 'build', status: 'running' }));
    // Its phase waits on `build`: not ready, not in the queue.
    await temp.store.saveAgent(agentRecord({ runId: 'q', id: 'later', phaseId: 'check', status: 'pending' }));
    const stored = parsePrometheus(await new StoreMetrics(temp.store, currentRunStatus).text());
    expect(seriesValue(stored, 'baton_queue_depth')).toBe(2);
    expect(seriesValue(stored, 'baton_agents', { status: 'queued' })).toBe(0);

    const live = new BatonMetrics();
    const events = new RunEvents();
    live.observeRun(events);
    const inherited = { entries: 0, tokens: 0, phases: 0, queryMs: 0 };
    const ids = (agentId: string) => ({ runId: 'q', phaseId: 'build', agentId });
    for (const agentId of ['slot', 'job', 'go']) events.emit('agent.queued', ids(agentId));
    events.emit('agent.started', { ...ids('go'), sessionId: 's1', inherited });
    events.emit('agent.started', { ...ids('job'), sessionId: 's2', inherited, queued: true });
    expect(seriesValue(parsePrometheus(await live.text()), 'baton_queue_depth')).toBe(2);
    events.emit('agent.attempt', { ...ids('job'), attempt: 1, resumed: false });
    expect(seriesValue(parsePrometheus(await live.text()), 'baton_queue_depth')).toBe(1);
  });

  it('moves a resumed run from one status gauge to another; no counter goes backwards', async () => {
    const twice = parseWorkflow(
      'version: 1\nname: twice\nphases:\n  - id: work\n    agents: [{ id: a, count: 2, prompt: go }]\n',
      'twice.yaml',
    );
    const config = { ...defaultConfig(), data_dir: temp.dir, parallel_limit: 1 };
    const base = { workflow: twice, workflowDir: temp.dir, config, store: temp.store, env: {} };
    const runtime = new FakeRuntime(() => ({ text: 'ok', costUsd: 0.25, delayMs: 200 }));
    const controller = new AbortController();
    const events = new RunEvents();
    events.on('agent.started', () => controller.abort(new Error('stopped')));
    const first = await runWorkflow({ ...base, runtime, events, signal: controller.signal });
    expect(first.status).toBe('cancelled');
    // One long-lived exporter (`baton serve`) scrapes before and after the resume.
    const metrics = new StoreMetrics(temp.store, currentRunStatus);
    const before = parsePrometheus(await metrics.text());
    expect(seriesValue(before, 'baton_runs', { status: 'cancelled' })).toBe(1);
    const resumed = await runWorkflow({ ...base, runtime, events: new RunEvents(), runId: first.runId, resume: true });
    expect(resumed.status).toBe('succeeded');
    const after = parsePrometheus(await metrics.text());
    expect(seriesValue(after, 'baton_runs', { status: 'cancelled' })).toBe(0);
    expect(seriesValue(after, 'baton_runs', { status: 'succeeded' })).toBe(1);
    expect(seriesValue(after, 'baton_agents', { status: 'succeeded' })).toBe(2);
    // Prometheus reads a counter that went down as a reset: only events are counted, never a state.
    for (const family of before.filter((f) => f.type === 'COUNTER' && f.name.startsWith('baton_')))
      for (const { labels, value } of family.metrics)
        expect(seriesValue(after, family.name, labels), family.name).toBeGreaterThanOrEqual(Number(value));
  });
});
