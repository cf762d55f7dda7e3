import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { traceIdOf, type AgentTimeline } from '../src/observability/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { spanAttribute as attr, startOtlpReceiver, type OtlpReceiver, type OtlpSpan } from './support/otlp-receiver.js';
import { requireProgram } from './support/programs.js';
import { parsePrometheus, seriesValue } from './support/prometheus.js';
import { useRedisServer } from './support/redis.js';
import { useScriptedModel } from './support/scripted-model.js';

/** What the notes file holds, and the agent's environment names a secret: no span may carry it. */
const secret = 'notes-tok-8f2e61c0d94a';
/** The usage the scripted model reports for the agent's two turns. */
const firstTurn = { input_tokens: 111, output_tokens: 22 };
const secondTurn = { input_tokens: 333, output_tokens: 44 };

// Two model turns: the first asks for one tool call (Read), the second answers.
const model = useScriptedModel(
  {
    rules: [
      {
        match: { prompt: 'Trace the notes', turn: 1 },
        reply: { toolUse: { name: 'Read', input: { file_path: 'notes.txt' } }, usage: firstTurn },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Trace the notes', turn: 2 },
        reply: { text: 'Notes traced.', usage: secondTurn },
        sequencePer: 'script',
      },
    ],
    default: { text: 'OK' },
  },
  'baton-tracing-e2e-',
);

/** A project with the notes file and a one-agent workflow; returns the workflow's path. */
function project(name: string): string {
  const dir = join(model.home.dir, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'notes.txt'), `The token is ${secret}\n`);
  const workflow = join(dir, 'notes.yaml');
  writeFileSync(
    workflow,
    'version: 1\nname: notes\nphases:\n  - { id: notes, agents: [{ id: tracer, prompt: "Trace the notes" }] }\n',
  );
  return workflow;
}

const env = (otlp: OtlpReceiver, extra: Record<string, string>): NodeJS.ProcessEnv =>
  model.home.cliEnv(model.url, { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, NOTES_API_TOKEN: secret, ...extra });

/** The agent's spans: its agent span, its one attempt, its model turns in order, its tool calls. */
function agentTrace(spans: OtlpSpan[]) {
  const agent = spans.find((s) => s.name === 'invoke_agent tracer')!;
  const attempt = spans.find((s) => s.name === 'baton.attempt 1')!;
  const turns = spans
    .filter((s) => attr(s, 'gen_ai.operation.name') === 'chat')
    .sort((a, b) => Number(attr(a, 'baton.turn')) - Number(attr(b, 'baton.turn')));
  const tools = spans.filter((s) => attr(s, 'gen_ai.operation.name') === 'execute_tool');
  return { agent, attempt, turns, tools };
}

/** Two turns under the attempt with the usage the model reported; the Read call a child of the first. */
function expectTurnsAndTool(spans: OtlpSpan[]): void {
  const { agent, attempt, turns, tools } = agentTrace(spans);
  expect(attempt.parentSpanId).toBe(agent.spanId);
  expect(
    turns.map((s) => [
      s.parentSpanId === attempt.spanId,
      attr(s, 'baton.turn'),
      attr(s, 'gen_ai.usage.input_tokens'),
      attr(s, 'gen_ai.usage.output_tokens'),
      attr(s, 'gen_ai.response.finish_reasons'),
      s.status?.code ?? 0,
    ]),
  ).toEqual([
    [true, 1, firstTurn.input_tokens, firstTurn.output_tokens, ['tool_use'], 0],
    [true, 2, secondTurn.input_tokens, secondTurn.output_tokens, ['end_turn'], 0],
  ]);
  for (const turn of turns) expect(attr(turn, 'gen_ai.response.model')).toEqual(expect.any(String));
  expect(tools.map((s) => [attr(s, 'gen_ai.tool.name'), s.parentSpanId])).toEqual([['Read', turns[0]!.spanId]]);
  // The agent's totals are its turns' sums: no model response of the session went untraced.
  expect(attr(agent, 'gen_ai.usage.input_tokens')).toBe(firstTurn.input_tokens + secondTurn.input_tokens);
  expect(attr(agent, 'gen_ai.usage.output_tokens')).toBe(firstTurn.output_tokens + secondTurn.output_tokens);
  expect(JSON.stringify(spans)).not.toContain(secret);
  expect(JSON.stringify(spans)).not.toContain('sk-baton-test'); // the agents' API key
}

describe('model-turn spans of a real agent (real claude, scripted model)', () => {
  it('a local run traces each model turn under its attempt, with the usage the model reported, and its tool call under the turn that asked for it', async () => {
    const otlp = await startOtlpReceiver();
    const workflow = project('local');
    const run = await runCli(['run', workflow, '--json'], {
      env: env(otlp, {
        BATON_DATA_DIR: join(model.home.dir, 'data-local'),
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=ci,team=data%20platform',
      }),
    }).finally(() => otlp.close());
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as RunSummary;
    expect(otlp.rejected).toEqual([]);
    expect(new Set(otlp.spans.map((s) => s.traceId))).toEqual(new Set([traceIdOf(summary.runId)]));
    expectTurnsAndTool(otlp.spans);
    for (const span of otlp.spans)
      expect(span.resource).toEqual({
        'service.name': 'baton',
        'deployment.environment': 'ci',
        team: 'data platform',
      });
  }, 120_000);

  it('a collector that is down costs the traces, not the run: exit 0, its summary, and a warning', async () => {
    const otlp = await startOtlpReceiver();
    const down = otlp.endpoint;
    await otlp.close(); // nothing listens there any more
    const run = await runCli(['run', project('down'), '--json'], {
      env: env(otlp, { BATON_DATA_DIR: join(model.home.dir, 'data-down'), OTEL_EXPORTER_OTLP_ENDPOINT: down }),
    });
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as RunSummary).status).toBe('succeeded');
    expect(run.stderr).toMatch(/^warning: traces were not exported \(.+\); the run itself is unaffected$/m);
  }, 120_000);

  it('refuses an OTLP protocol it does not speak (grpc) with exit 2 naming the variable, before any run is stored', async () => {
    const otlp = await startOtlpReceiver();
    const cliEnv = env(otlp, {
      BATON_DATA_DIR: join(model.home.dir, 'data-grpc'),
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    });
    const run = await runCli(['run', project('grpc')], { env: cliEnv }).finally(() => otlp.close());
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect([run.code, run.stderr]).toEqual([2, expect.stringContaining('BATON_CONFIG_INVALID')]);
    expect(run.stderr).toContain('OTEL_EXPORTER_OTLP_PROTOCOL=grpc');
    expect(run.stderr).toContain('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf or http/json');
    const runs = await runCli(['runs', '--json'], { env: cliEnv });
    expect(JSON.parse(runs.stdout)).toEqual([]);
    expect(otlp.spans).toEqual([]);
  }, 60_000);
});

/**
 * What the worker stored of the agent's tool call (in Redis), as `baton status` reads it from elsewhere, and
 * what the worker's `/metrics` (read from the store, parsed by a Prometheus parser) counts of it.
 */
async function expectWorkerRecords(runId: string, workerOutput: string, cliEnv: NodeJS.ProcessEnv): Promise<void> {
  const status = await runCli(['status', runId, '--agent', 'tracer', '--json'], { env: cliEnv });
  expect(status.code).toBe(0);
  expect(status.stdout).not.toContain(secret);
  const timeline = JSON.parse(status.stdout) as AgentTimeline;
  const calls = timeline.attempts.flatMap((a) => a.toolCalls);
  expect(calls.map((c) => [c.seq, c.name, c.turn, c.status])).toEqual([[1, 'Read', 1, 'ok']]);
  expect(calls[0]!.outputPreview).toContain('[REDACTED]');
  const url = /Metrics at (\S+)/.exec(workerOutput)![1]!;
  const token = readFileSync(join(cliEnv.BATON_DATA_DIR!, 'metrics.token'), 'utf8').trim();
  const text = await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).text();
  const families = parsePrometheus(text);
  expect(seriesValue(families, 'baton_tool_calls_total', { tool: 'Read', server: '', status: 'ok' })).toBe(1);
  expect(seriesValue(families, 'baton_runs', { status: 'succeeded' })).toBe(1);
  expect(text).not.toContain(runId);
}

describe.runIf(requireProgram('redis-server'))(
  'spans of an agent on a baton worker (real redis-server, claude)',
  () => {
    const redis = useRedisServer();

    it('a worker told an OTLP protocol it does not speak (grpc) exits 2 naming the variable, before it connects', async () => {
      const otlp = await startOtlpReceiver();
      const shared = { BATON_DATA_DIR: join(model.home.dir, 'data-worker-grpc'), BATON_REDIS_URL: redis.server.url };
      const worker = await runCli(['worker'], {
        env: env(otlp, { ...shared, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }),
      }).finally(() => otlp.close());
      expect(worker.stderr).not.toMatch(/\n\s+at /);
      expect([worker.code, worker.stderr]).toEqual([2, expect.stringContaining('BATON_CONFIG_INVALID')]);
      expect(worker.stderr).toContain('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc');
    }, 60_000);

    it("joins the worker's attempt, turn and tool spans (sent as protobuf) to the run's trace, under the orchestrator's agent span (sent as JSON), through a BullMQ job", async () => {
      const otlp = await startOtlpReceiver();
      const workflow = project('queued');
      const shared = { BATON_DATA_DIR: join(model.home.dir, 'data-redis'), BATON_REDIS_URL: redis.server.url };
      const worker = startCli(['worker', '--concurrency', '1'], {
        env: env(otlp, { ...shared, OTEL_SERVICE_NAME: 'baton-worker', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }),
      });
      let runId: string | undefined;
      try {
        await waitFor(() => worker.stderrSoFar().includes('ready') || undefined, 60_000, 'the worker to be ready');
        const run = await runCli(['run', workflow, '--json'], {
          env: env(otlp, { ...shared, OTEL_SERVICE_NAME: 'baton-orchestrator' }),
        });
        expect(run.stderr).not.toMatch(/\n\s+at /);
        expect(run.code).toBe(0);
        runId = (JSON.parse(run.stdout) as RunSummary).runId;
        expect(worker.stderrSoFar()).toContain('tracer');
        await expectWorkerRecords(runId, worker.stderrSoFar(), env(otlp, shared));
        // The worker exports what it buffered as it stops.
        worker.kill('SIGTERM');
        expect((await worker.output).code).toBe(0);
      } finally {
        worker.kill('SIGKILL');
        await otlp.close();
      }
      expect(otlp.rejected).toEqual([]);
      expect(new Set(otlp.formats)).toEqual(new Set(['json', 'protobuf']));
      const spans = otlp.spans;
      expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceIdOf(runId)]));
      const fromWorker = spans.filter((s) => s.service === 'baton-worker');
      expect(fromWorker.map((s) => attr(s, 'gen_ai.operation.name') ?? s.name).sort()).toEqual([
        'baton.attempt 1',
        'chat',
        'chat',
        'execute_tool',
      ]);
      // Every worker span's parents lead, through the worker's own spans, to the orchestrator's agent span.
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      const ancestry = (span: OtlpSpan): string[] => {
        const parent = byId.get(span.parentSpanId ?? '');
        const label = `${span.service}: ${attr(span, 'gen_ai.operation.name') === 'chat' ? 'chat' : span.name}`;
        return [label, ...(parent ? ancestry(parent) : [])];
      };
      const orchestrator = [
        'baton-orchestrator: invoke_agent tracer',
        'baton-orchestrator: baton.phase notes',
        'baton-orchestrator: baton.run',
      ];
      const { turns, tools } = agentTrace(spans);
      expect(ancestry(tools[0]!)).toEqual([
        'baton-worker: execute_tool Read',
        'baton-worker: chat',
        'baton-worker: baton.attempt 1',
        ...orchestrator,
      ]);
      for (const turn of turns)
        expect(ancestry(turn)).toEqual(['baton-worker: chat', 'baton-worker: baton.attempt 1', ...orchestrator]);
      expectTurnsAndTool(spans);
    }, 180_000);
  },
);
