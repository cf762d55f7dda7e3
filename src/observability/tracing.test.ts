import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  startOtlpReceiver,
  spanAttribute,
  spanMs,
  type OtlpReceiver,
  type OtlpSpan,
} from '../../test/support/otlp-receiver.js';
import { useTempStore } from '../../test/support/temp-store.js';
import { FakeRuntime, type FakeBehaviour } from '../agents/index.js';
import { defaultConfig } from '../config/index.js';
import { BatonError, emptyUsage, ErrorCodes, type ModelTurn, type ToolCall } from '../core/index.js';
import { RunEvents, runJobHere, runWorkflow, type AgentJob } from '../orchestrator/index.js';
import { parseWorkflow } from '../workflow/index.js';
import { RunTracing, traceIdOf, tracingEnabled } from './tracing.js';

const temp = useTempStore('baton-tracing-');

let receiver: OtlpReceiver;
let endpoint: string;
beforeEach(async () => {
  receiver = await startOtlpReceiver();
  endpoint = receiver.endpoint;
});
afterEach(async () => {
  expect(receiver.rejected).toEqual([]);
  await receiver.close();
});
const attr = spanAttribute;

const secret = 'sk-ant-tracing-secret-0123456789';
const call = (seq: number, name: string, status: ToolCall['status']): ToolCall => ({
  seq,
  toolUseId: `toolu_${seq}`,
  name,
  ...(name.startsWith('mcp__') ? { server: 'memory' } : {}),
  turn: seq,
  startedAt: 1_700_000_000_000 + seq * 10,
  finishedAt: 1_700_000_000_005 + seq * 10,
  durationMs: 5,
  status,
  inputPreview: `{"key":"${secret}"}`,
});

/** A finished model turn (turn n asks for tool call n in these tests). */
const turn = (index: number, stopReason: string, inputTokens: number, outputTokens: number): ModelTurn => ({
  index,
  messageId: `msg_${index}`,
  requestModel: 'sonnet',
  responseModel: 'claude-sonnet-4-5',
  startedAt: 1_700_000_000_000 + index * 10 - 8,
  finishedAt: 1_700_000_000_000 + index * 10 - 1,
  status: 'done',
  usage: { inputTokens, outputTokens, cacheReadTokens: 0, cacheCreationTokens: 0 },
  stopReason,
});

const workflow = parseWorkflow(
  'version: 1\nname: traced\nphases:\n  - id: research\n    agents: [{ id: finder, prompt: find }]\n  - id: write\n    dependsOn: [research]\n    agents: [{ id: writer, prompt: write }]\n',
  'traced.yaml',
);

async function tracedRun(
  behaviour: FakeBehaviour,
  extra: { runId?: string; resume?: boolean } = {},
  tracing?: RunTracing,
) {
  tracing ??= await RunTracing.start({ endpoint, env: {} });
  const events = new RunEvents();
  tracing.observeRun(events, 'acme');
  const config = { ...defaultConfig(), data_dir: temp.dir, max_retries: 0 };
  const runtime = new FakeRuntime(behaviour);
  const summary = await runWorkflow({
    workflow,
    workflowDir: temp.dir,
    config,
    store: temp.store,
    runtime,
    env: { ANTHROPIC_API_KEY: secret },
    events,
    ...extra,
  });
  await tracing.shutdown();
  return summary;
}

describe('OpenTelemetry traces of runs', () => {
  it('is off unless an endpoint is configured', () => {
    expect(tracingEnabled({ env: {} })).toBe(false);
    expect(tracingEnabled({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' } })).toBe(true);
    expect(tracingEnabled({ env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' } })).toBe(
      true,
    );
    expect(tracingEnabled({ env: {}, endpoint: 'http://collector:4318' })).toBe(true);
    // The standard off switches win: the endpoint may be set for Claude Code's own telemetry only.
    const collector = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(tracingEnabled({ env: { ...collector, OTEL_TRACES_EXPORTER: 'none' } })).toBe(false);
    expect(tracingEnabled({ env: { ...collector, OTEL_SDK_DISABLED: 'true' } })).toBe(false);
    expect(tracingEnabled({ env: { ...collector, OTEL_SDK_DISABLED: 'false' } })).toBe(true);
  });

  it('refuses an OTLP protocol it does not speak (grpc), naming the variable and the fix, unless traces are off', async () => {
    const collector = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint };
    for (const [name, value] of [
      ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc'],
      ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'grpc'],
      ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'http/xml'],
    ] as const) {
      const refused = RunTracing.configured(undefined, { ...collector, [name]: value });
      await expect(refused).rejects.toBeInstanceOf(BatonError);
      await expect(refused).rejects.toMatchObject({ code: ErrorCodes.configInvalid });
      await expect(refused).rejects.toThrow(`${name}=${value}`);
      await expect(refused).rejects.toThrow('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf or http/json');
    }
    // The traces' own variable wins over the general one (which Claude Code's own telemetry may use).
    const spoken = [
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' },
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' },
      { OTEL_EXPORTER_OTLP_PROTOCOL: ' HTTP/JSON ' },
    ];
    for (const env of spoken) {
      const tracing = await RunTracing.configured(undefined, { ...collector, ...env });
      expect(tracing).toBeInstanceOf(RunTracing);
      await tracing!.shutdown();
    }
    // Traces off: the protocol is Claude Code's business only.
    const off = { ...collector, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_TRACES_EXPORTER: 'none' };
    await expect(RunTracing.configured(undefined, off)).resolves.toBeUndefined();
  });

  it('sends protobuf when the protocol is http/protobuf, the same spans as JSON (ids, parents, attributes, status)', async () => {
    const behaviour: FakeBehaviour = (spec) =>
      spec.agentId === 'finder'
        ? { text: 'found', usage: { inputTokens: 12, outputTokens: 3 }, toolCalls: [call(1, 'Bash', 'error')] }
        : { error: { code: ErrorCodes.modelInvalidRequest, message: 'bad request', transient: false } };
    /** Spans as a receiver sees them, by name, their parents by name: span ids are random in each run. */
    const seen = (runId: string) => {
      const byId = new Map(receiver.spans.map((s) => [s.spanId, s.name]));
      // Run and session ids are new in each run.
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
      const value = (s: OtlpSpan, key: string) => {
        const given = attr(s, key);
        return given === runId ? '<run id>' : typeof given === 'string' && uuid.test(given) ? '<uuid>' : given;
      };
      const shown = receiver.spans.map((s) => ({
        name: s.name,
        parent: byId.get(s.parentSpanId ?? ''),
        status: s.status?.code ?? 0,
        attributes: Object.fromEntries(s.attributes.map((a) => [a.key, value(s, a.key)])),
        ids: [s.traceId.length, s.spanId.length],
      }));
      const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
      receiver.spans = [];
      return shown.sort(byName);
    };
    const runs: Array<{ format: string; spans: ReturnType<typeof seen> }> = [];
    for (const protocol of ['http/json', 'http/protobuf']) {
      const tracing = await RunTracing.configured(endpoint, { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol });
      const summary = await tracedRun(behaviour, {}, tracing);
      expect(new Set(receiver.spans.map((s) => s.traceId))).toEqual(new Set([traceIdOf(summary.runId)]));
      runs.push({ format: [...new Set(receiver.formats.splice(0))].join(), spans: seen(summary.runId) });
    }
    expect(runs.map((r) => r.format)).toEqual(['json', 'protobuf']);
    expect(runs[1]!.spans.map((s) => s.name)).toContain('execute_tool Bash');
    expect(runs[1]!.spans.every((s) => s.ids[0] === 32 && s.ids[1] === 16)).toBe(true);
    expect(runs[1]!.spans).toEqual(runs[0]!.spans);
  });

  it('refuses a malformed OTEL_RESOURCE_ATTRIBUTES, naming the entry by its key and the fix, never its value', async () => {
    const collector = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint };
    try {
      for (const [raw, problem] of [
        ['team=data,platform', '"platform" is not one key=value'],
        ['env=prod,url=a=b', '"url" is not one key=value'],
        ['=orphan', 'has an empty key'],
        ['team=100%sure', '"team" has a "%" that starts no percent-encoding'],
        [`note=${'x'.repeat(256)}`, '"note" is over 255 characters'],
      ] as const) {
        vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', raw);
        const refused = RunTracing.configured(undefined, collector);
        await expect(refused).rejects.toMatchObject({ code: ErrorCodes.configInvalid });
        await expect(refused).rejects.toThrow(problem);
        await expect(refused).rejects.toThrow('team=data%2Cplatform), or unset it');
      }
      // The bad entry's value may be a secret: named by its key only.
      vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', 'token=s3cr3t%zz');
      const message = await RunTracing.configured(undefined, collector).then(
        () => '',
        (error: Error) => error.message,
      );
      expect(message).toContain('"token" has a "%" that starts no percent-encoding');
      expect(message).not.toContain('s3cr3t');
      // Percent-encoded commas, equals and percents, spaces and empty entries are the specification's own.
      vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', ' team = data%2Cplatform , ,ratio=50%25,eq=a%3Db,empty=');
      const tracing = await RunTracing.configured(undefined, collector);
      expect(tracing).toBeInstanceOf(RunTracing);
      await tracing!.shutdown();
      // Traces off: nothing reads it.
      vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', 'team=data,platform');
      await expect(
        RunTracing.configured(undefined, { ...collector, OTEL_TRACES_EXPORTER: 'none' }),
      ).resolves.toBeUndefined();
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('describes its resource from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (service.name `baton` otherwise)', async () => {
    try {
      vi.stubEnv('OTEL_SERVICE_NAME', undefined);
      vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', undefined);
      await tracedRun(() => ({ text: 'found' }));
      expect(new Set(receiver.spans.map((s) => s.resource['service.name']))).toEqual(new Set(['baton']));
      receiver.spans = [];
      vi.stubEnv('OTEL_SERVICE_NAME', 'baton-ci');
      vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', 'deployment.environment=prod,team=data%20platform');
      await tracedRun(() => ({ text: 'found' }));
      expect(receiver.spans.length).toBeGreaterThan(0);
      for (const span of receiver.spans)
        expect(span.resource).toMatchObject({
          'service.name': 'baton-ci',
          'deployment.environment': 'prod',
          team: 'data platform',
        });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('sends one trace per run over OTLP/HTTP: run → phase → agent → attempt → model turn → tool call, with GenAI and baton attributes; a resumed run continues it', async () => {
    const first = await tracedRun((spec) =>
      spec.agentId === 'finder'
        ? {
            text: 'found',
            costUsd: 0.25,
            usage: { inputTokens: 120, outputTokens: 30 },
            toolCalls: [call(1, 'mcp__memory__read_graph', 'ok'), call(2, 'Bash', 'error')],
            // A model endpoint that echoes a secret into the response's model name: redacted like tool calls.
            turns: [turn(1, 'tool_use', 100, 20), { ...turn(2, 'tool_use', 20, 10), responseModel: `echo ${secret}` }],
          }
        : { error: { code: ErrorCodes.modelInvalidRequest, message: `bad request ${secret}`, transient: false } },
    );
    expect(first.status).not.toBe('succeeded');
    const traceId = traceIdOf(first.runId);
    expect(new Set(receiver.spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
    const byId = new Map(receiver.spans.map((s) => [s.spanId, s]));
    const named = (name: string): OtlpSpan => receiver.spans.find((s) => s.name === name)!;
    const parentName = (span: OtlpSpan): string | undefined => byId.get(span.parentSpanId ?? '')?.name;

    const run = named('baton.run');
    expect(run.parentSpanId || undefined).toBeUndefined();
    expect([attr(run, 'baton.run.id'), attr(run, 'baton.tenant'), attr(run, 'baton.workflow')]).toEqual([
      first.runId,
      'acme',
      'traced',
    ]);
    expect(parentName(named('baton.phase research'))).toBe('baton.run');
    const finder = named('invoke_agent finder');
    expect(parentName(finder)).toBe('baton.phase research');
    expect([
      attr(finder, 'gen_ai.operation.name'),
      attr(finder, 'gen_ai.usage.input_tokens'),
      attr(finder, 'gen_ai.usage.output_tokens'),
      attr(finder, 'baton.cost_usd'),
    ]).toEqual(['invoke_agent', 120, 30, 0.25]);
    const attempts = receiver.spans.filter((s) => s.name === 'baton.attempt 1');
    expect(attempts.map(parentName).sort()).toEqual(['invoke_agent finder', 'invoke_agent writer']);
    const finderAttempt = attempts.find((s) => s.parentSpanId === finder.spanId)!;
    const turns = receiver.spans.filter((s) => attr(s, 'gen_ai.operation.name') === 'chat');
    expect(
      turns.map((s) => [
        s.name,
        s.parentSpanId === finderAttempt.spanId,
        attr(s, 'baton.turn'),
        attr(s, 'gen_ai.request.model'),
        attr(s, 'gen_ai.response.model'),
        attr(s, 'gen_ai.usage.input_tokens'),
        attr(s, 'gen_ai.usage.output_tokens'),
        attr(s, 'gen_ai.response.finish_reasons'),
      ]),
    ).toEqual([
      ['chat sonnet', true, 1, 'sonnet', 'claude-sonnet-4-5', 100, 20, ['tool_use']],
      ['chat sonnet', true, 2, 'sonnet', 'echo [REDACTED]', 20, 10, ['tool_use']],
    ]);
    // Each tool call is a child of the turn that asked for it, even when it is reported after that turn ended.
    const tools = receiver.spans.filter((s) => s.name.startsWith('execute_tool'));
    expect(
      tools.map((s) => [
        s.name,
        attr(byId.get(s.parentSpanId!)!, 'baton.turn'),
        attr(s, 'gen_ai.tool.name'),
        attr(s, 'baton.mcp.server') ?? null,
      ]),
    ).toEqual([
      ['execute_tool mcp__memory__read_graph', 1, 'mcp__memory__read_graph', 'memory'],
      ['execute_tool Bash', 2, 'Bash', null],
    ]);
    expect(tools.map((s) => byId.get(s.parentSpanId!)!.parentSpanId)).toEqual([
      finderAttempt.spanId,
      finderAttempt.spanId,
    ]);
    const writer = named('invoke_agent writer');
    expect(attr(writer, 'baton.error.code')).toBe(ErrorCodes.modelInvalidRequest);
    expect(writer.status?.code).toBe(2); // ERROR
    expect(JSON.stringify(receiver.spans)).not.toContain(secret);

    // The same run resumed (a later process): its spans join the same trace.
    receiver.spans = [];
    await tracedRun(() => ({ text: 'written' }), { runId: first.runId, resume: true });
    expect(receiver.spans.length).toBeGreaterThan(0);
    expect(new Set(receiver.spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
    expect(
      attr(
        receiver.spans.find((s) => s.name === 'baton.run')!,
        'baton.resumed',
      ),
    ).toBe(true);
  });

  it("exports a span for an attempt a killed orchestrator left running once it is found lost: ERROR with the code, from its stored start, under the resumed run's span (found at its start)", async () => {
    const first = await tracedRun(() => ({ text: 'written' }));
    // As a SIGKILLed orchestrator leaves it: the writer's second attempt running, its span never exported.
    const startedAt = 1_700_000_000_000;
    const writer = (await temp.store.getAgent(first.runId, 'writer'))!;
    await temp.store.saveAgent({ ...writer, status: 'running' });
    await temp.store.saveAttempt({
      ...{ runId: first.runId, agentId: 'writer', attempt: 2, status: 'running', resumed: false, startedAt },
      ...{ usage: emptyUsage(), costUsd: 0, durationMs: 0 },
    });
    receiver.spans = [];
    await tracedRun(() => ({ text: 'written again' }), { runId: first.runId, resume: true });
    const agent = receiver.spans.find((s) => s.name === 'invoke_agent writer')!;
    const run = receiver.spans.find((s) => s.name === 'baton.run')!;
    const lost = receiver.spans.filter((s) => s.name === 'baton.attempt 2');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ traceId: traceIdOf(first.runId), parentSpanId: run.spanId, status: { code: 2 } });
    expect(attr(lost[0]!, 'baton.error.code')).toBe(ErrorCodes.orchestratorLost);
    expect(attr(lost[0]!, 'baton.attempt.lost')).toBe(true);
    const stored = (await temp.store.listAttempts(first.runId, 'writer')).find((a) => a.attempt === 2)!;
    expect(stored.error?.code).toBe(ErrorCodes.orchestratorLost);
    expect([spanMs(lost[0]!.startTimeUnixNano), spanMs(lost[0]!.endTimeUnixNano)]).toEqual([
      startedAt,
      stored.finishedAt,
    ]);
    // The attempt that ran instead sits beside it; no other attempt is reported lost.
    const rerun = receiver.spans.find((s) => s.name === 'baton.attempt 3')!;
    expect([rerun.parentSpanId, rerun.status?.code ?? 0]).toEqual([agent.spanId, 0]);
    expect(receiver.spans.filter((s) => attr(s, 'baton.attempt.lost') === true)).toHaveLength(1);
  });

  it("joins a worker's attempt, turn and tool spans to the orchestrator's trace through the job's traceparent", async () => {
    const runId = 'run-worker-trace';
    // The orchestrator's side: the run and the agent span, and the traceparent its job carries.
    const orchestrator = await RunTracing.start({ endpoint, env: {} });
    const events = new RunEvents();
    orchestrator.observeRun(events);
    events.emit('run.started', { runId, workflowName: 'w', agents: 1 });
    events.emit('phase.started', { runId, phaseId: 'p' });
    const inherited = { entries: 0, tokens: 0, phases: 0, queryMs: 0 };
    events.emit('agent.started', { runId, phaseId: 'p', agentId: 'remote', sessionId: 's', inherited });
    const traceparent = orchestrator.traceparentOf(runId, 'remote')!;
    expect(traceparent).toMatch(new RegExp(`^00-${traceIdOf(runId)}-[0-9a-f]{16}-01$`));

    // The worker's side (another process in production): runJobHere with the hooks `baton worker` gives it.
    const worker = await RunTracing.start({ endpoint, env: {} });
    const job: AgentJob = {
      runId,
      phaseId: 'p',
      agentId: 'remote',
      tenant: 'default',
      priority: 0,
      spec: { agentId: 'remote', sessionId: 'session-remote', prompt: 'work', cwd: temp.dir },
      env: {},
      retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1 },
      timeoutMs: 30_000,
      traceparent,
    };
    await temp.store.saveRun({
      id: runId,
      workflowName: 'w',
      tenant: 'default',
      workflow: {},
      status: 'running',
      createdAt: 1,
    });
    await temp.store.saveAgent({
      runId,
      phaseId: 'p',
      id: 'remote',
      sessionId: 'session-remote',
      status: 'running',
      prompt: 'work',
      systemPrompt: '',
      usage: emptyUsage(),
      costUsd: 0,
      turns: 0,
      attempts: 0,
      durationMs: 0,
    });
    // A worker that died (SIGKILL) left the job's first attempt running; this one takes the job over.
    const lostStart = 1_700_000_000_500;
    await temp.store.saveAttempt({
      ...{ runId, agentId: 'remote', attempt: 1, status: 'running', resumed: false, startedAt: lostStart },
      ...{ usage: emptyUsage(), costUsd: 0, durationMs: 0 },
    });
    const observed = worker.jobHooks(job)!;
    const runtime = new FakeRuntime(() => ({
      text: 'ok',
      toolCalls: [call(1, 'Read', 'ok')],
      turns: [turn(1, 'tool_use', 5, 2)],
    }));
    await runJobHere(job, {
      store: temp.store,
      runtime,
      env: {},
      signal: new AbortController().signal,
      hooks: observed.hooks,
    });
    observed.done();
    await worker.shutdown();
    const workerSpans = [...receiver.spans];
    events.emit('agent.finished', {
      runId,
      phaseId: 'p',
      agentId: 'remote',
      status: 'succeeded',
      durationMs: 1,
      attempts: 1,
      costUsd: 0,
      usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 },
    });
    await orchestrator.shutdown();

    const agentSpan = receiver.spans.find((s) => s.name === 'invoke_agent remote')!;
    expect(workerSpans.map((s) => s.name)).toEqual([
      'baton.attempt 1',
      'chat sonnet',
      'execute_tool Read',
      'baton.attempt 2',
    ]);
    expect(new Set(workerSpans.map((s) => s.traceId))).toEqual(new Set([traceIdOf(runId)]));
    // The dead worker's attempt: ERROR with the code, from its stored start, beside the one that ran instead.
    const lost = workerSpans[0]!;
    expect([lost.parentSpanId, lost.status?.code, attr(lost, 'baton.error.code')]).toEqual([
      agentSpan.spanId,
      2,
      ErrorCodes.orchestratorLost,
    ]);
    expect(spanMs(lost.startTimeUnixNano)).toBe(lostStart);
    const attemptSpan = workerSpans.find((s) => s.name === 'baton.attempt 2')!;
    expect(attemptSpan.parentSpanId).toBe(agentSpan.spanId);
    const turnSpan = workerSpans.find((s) => s.name === 'chat sonnet')!;
    expect(turnSpan.parentSpanId).toBe(attemptSpan.spanId);
    expect(workerSpans.find((s) => s.name === 'execute_tool Read')!.parentSpanId).toBe(turnSpan.spanId);
  });
  it("exports, under the resumed run's agent span, the span a killed orchestrator opened for a job a worker took up", async () => {
    const runId = 'run-kept-job';
    const inherited = { entries: 0, tokens: 0, phases: 0, queryMs: 0 };
    const opened = (tracing: RunTracing) => {
      const events = new RunEvents();
      tracing.observeRun(events);
      events.emit('run.started', { runId, workflowName: 'w', agents: 1 });
      events.emit('phase.started', { runId, phaseId: 'p' });
      events.emit('agent.started', { runId, phaseId: 'p', agentId: 'held', sessionId: 's', inherited });
      return events;
    };
    // The orchestrator that sent the job is killed: nothing it opened is ever exported.
    const killed = await RunTracing.start({ endpoint, env: {} });
    opened(killed);
    const sent = killed.traceparentOf(runId, 'held')!;
    const resumed = await RunTracing.start({ endpoint, env: {} });
    const events = opened(resumed);
    const queuedAt = 1_700_000_000_000;
    resumed.adoptJobSpan({ runId, agentId: 'held' }, sent, queuedAt);
    // Another trace's context (not this run's) is no parent of its agents.
    resumed.adoptJobSpan({ runId, agentId: 'held' }, `00-${traceIdOf('other')}-00f067aa0ba902b7-01`, queuedAt);
    events.emit('agent.finished', {
      ...{ runId, phaseId: 'p', agentId: 'held', status: 'succeeded', durationMs: 1, attempts: 1, costUsd: 0 },
      usage: emptyUsage(),
    });
    await resumed.shutdown();

    const agentSpan = receiver.spans.find((s) => s.name === 'invoke_agent held')!;
    const jobSpans = receiver.spans.filter((s) => s.name === 'baton.job held');
    expect(jobSpans.map((s) => [s.spanId, s.parentSpanId, s.traceId, attr(s, 'baton.job.adopted')])).toEqual([
      [sent.split('-')[2], agentSpan.spanId, traceIdOf(runId), true],
    ]);
    expect(spanMs(jobSpans[0]!.startTimeUnixNano)).toBe(queuedAt);
  });
});
