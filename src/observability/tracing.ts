import { createHash, randomBytes } from 'node:crypto';
import type * as OtelApi from '@opentelemetry/api';
import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import type { IdGenerator, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BatonError, ErrorCodes, TypedEmitter } from '../core/index.js';
import type { AgentJob, AgentJobHooks, RunEventMap, RunEvents } from '../orchestrator/index.js';

/**
 * GenAI semantic-convention attribute names (still "incubating" upstream, so copied here as the
 * OpenTelemetry guidance advises rather than imported from the incubating entry point).
 */
const GenAi = {
  system: 'gen_ai.system',
  operation: 'gen_ai.operation.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  finishReasons: 'gen_ai.response.finish_reasons',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  agentId: 'gen_ai.agent.id',
  agentName: 'gen_ai.agent.name',
  conversationId: 'gen_ai.conversation.id',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
} as const;

/** A run's trace id, derived from its id: a resumed run (another process) continues the same trace. */
export const traceIdOf = (runId: string): string => createHash('sha256').update(runId).digest('hex').slice(0, 32);

/** Span keys: a run's id, then its phases, agents, attempts, and model turns and tool calls below it. */
const phaseKey = (e: { runId: string; phaseId: string }): string => `${e.runId}/p/${e.phaseId}`;
const agentKey = (e: { runId: string; agentId: string }): string => `${e.runId}/a/${e.agentId}`;
const attemptKey = (e: { runId: string; agentId: string; attempt: number }): string => `${agentKey(e)}/${e.attempt}`;
const turnKey = (e: { runId: string; agentId: string; attempt: number }, turn: number): string =>
  `${attemptKey(e)}/t/${turn}`;

/** Random span ids, unless one is given (`nextSpanId`); trace ids of runs come from their run id (`traceIdOf`). */
class RunIdGenerator implements IdGenerator {
  nextTraceId?: string;
  nextSpanId?: string;
  generateTraceId(): string {
    return this.nextTraceId ?? randomBytes(16).toString('hex');
  }
  generateSpanId(): string {
    return this.nextSpanId ?? randomBytes(8).toString('hex');
  }
}

/**
 * An attempt's span id, derived from the run, agent and attempt number (unique: a resumed run numbers on):
 * the span a resumed run (or a worker taking over a job) exports for an attempt whose process died has
 * the id that process gave it, so the turn and tool spans it had already exported are not orphans.
 */
const attemptSpanIdOf = (e: { runId: string; agentId: string; attempt: number }): string =>
  createHash('sha256').update(attemptKey(e)).digest('hex').slice(0, 16);

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TracingOptions {
  /** `otel_endpoint`: base URL of an OTLP/HTTP receiver (`/v1/traces` is added). */
  endpoint?: string;
  /** Where Baton reads its switches (on, off, protocol); the SDK reads its own (headers, resource) from the process's. */
  env: NodeJS.ProcessEnv;
  /** For tests: where spans go instead of an OTLP exporter. */
  exporter?: SpanExporter;
  /** How spans are sent (default: read from `env`, see `traceProtocol`). */
  protocol?: TraceProtocol;
}

/** The standard switches that turn traces off (`OTEL_SDK_DISABLED=true`, `OTEL_TRACES_EXPORTER=none`). */
const tracingSwitchedOff = (env: NodeJS.ProcessEnv): boolean =>
  env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none';

/** Whether traces are on: `otel_endpoint`, or the standard OTLP endpoint variables, unless switched off. */
export const tracingEnabled = (options: TracingOptions): boolean =>
  options.exporter !== undefined ||
  (!tracingSwitchedOff(options.env) &&
    (options.endpoint !== undefined ||
      Boolean(options.env.OTEL_EXPORTER_OTLP_ENDPOINT || options.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)));

/** The OTLP protocols Baton's traces speak, each through the OpenTelemetry exporter made for it. */
const exporterPackages = {
  'http/json': () => import('@opentelemetry/exporter-trace-otlp-http'),
  'http/protobuf': () => import('@opentelemetry/exporter-trace-otlp-proto'),
} as const;
type TraceProtocol = keyof typeof exporterPackages;
const isTraceProtocol = (value: string): value is TraceProtocol => Object.hasOwn(exporterPackages, value);

/**
 * The protocol of `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else
 * `http/json`. gRPC is refused: sent HTTP instead, a gRPC receiver would drop every span without a word.
 */
function traceProtocol(env: NodeJS.ProcessEnv): TraceProtocol {
  const name = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim()
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = env[name]?.trim().toLowerCase() || 'http/json';
  if (isTraceProtocol(protocol)) return protocol;
  throw new BatonError(
    ErrorCodes.configInvalid,
    `${name}=${env[name]}: Baton exports traces over OTLP/HTTP only, as JSON or protobuf. Set ` +
      `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf or http/json (with an OTLP/HTTP endpoint, port 4318 by ` +
      `convention), or OTEL_TRACES_EXPORTER=none to keep Baton's traces off.`,
  );
}

/** The longest key or value the SDK's env detector takes. */
const RESOURCE_ATTRIBUTE_MAX_LENGTH = 255;

const percentDecoded = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text.trim());
  } catch {
    return undefined;
  }
};

/** What is wrong with one `key=value` entry of OTEL_RESOURCE_ATTRIBUTES, if anything. */
function resourceAttributeProblem(entry: string): string | undefined {
  const [key, value, ...more] = entry.split('=');
  if (value === undefined || more.length > 0) return 'is not one key=value';
  const [decodedKey, decodedValue] = [percentDecoded(key!), percentDecoded(value)];
  if (decodedKey === undefined || decodedValue === undefined) return 'has a "%" that starts no percent-encoding';
  if (decodedKey === '') return 'has an empty key';
  const longest = Math.max(decodedKey.length, decodedValue.length);
  return longest > RESOURCE_ATTRIBUTE_MAX_LENGTH ? `is over ${RESOURCE_ATTRIBUTE_MAX_LENGTH} characters` : undefined;
}

/**
 * OTEL_RESOURCE_ATTRIBUTES as the specification has it: `key=value` entries joined by commas, with
 * `,`, `=` and `%` percent-encoded. The SDK's env detector drops the whole variable on one bad entry
 * and says so only at debug level (its parser is private), so a typo would strip every attribute from
 * the traces unseen: checked here with the same rules, naming the entry by its key (a value may be private).
 */
function checkResourceAttributes(raw: string | undefined): void {
  for (const entry of (raw ?? '').split(',').filter((e) => e.trim() !== '')) {
    const problem = resourceAttributeProblem(entry);
    if (problem === undefined) continue;
    throw new BatonError(
      ErrorCodes.configInvalid,
      `OTEL_RESOURCE_ATTRIBUTES: the entry "${entry.split('=')[0]!.trim()}" ${problem}. Write key=value ` +
        'entries joined by commas, with "," "=" and "%" in keys and values percent-encoded ' +
        '(team=data%2Cplatform), or unset it.',
    );
  }
}

/**
 * OpenTelemetry traces of runs, built from their events (the engine knows nothing of it): one trace
 * per run, spans run → phase → agent → attempt → model turn → tool call, with GenAI and `baton.*` attributes.
 * Only ids, names, numbers and error codes go into spans — never prompts, outputs or messages.
 */
export class RunTracing {
  private readonly tracer: Tracer;
  private readonly spans = new Map<string, Span>();
  /**
   * Model turns that have ended, kept until their attempt ends: a tool call is reported after the
   * store has it, which may be after the turn that asked for it ended, and is still its child.
   */
  private readonly endedTurns = new Map<string, Span>();

  private constructor(
    private readonly provider: NodeTracerProvider,
    private readonly ids: RunIdGenerator,
    /** OpenTelemetry's API, loaded with the SDK: runs that do not trace do not load it either. */
    private readonly otel: typeof OtelApi,
  ) {
    this.tracer = provider.getTracer('baton');
  }

  /**
   * Tracing as configured (`otel_endpoint`, the OTLP endpoint variables), or undefined when it is off;
   * BATON_CONFIG_INVALID for an OTLP protocol other than http/json and http/protobuf, or a malformed
   * OTEL_RESOURCE_ATTRIBUTES (read, as the SDK reads it, from the process's environment).
   */
  static async configured(otelEndpoint: string | undefined, env: NodeJS.ProcessEnv): Promise<RunTracing | undefined> {
    const options = { env, ...(otelEndpoint ? { endpoint: otelEndpoint } : {}) };
    if (!tracingEnabled(options)) return undefined;
    const protocol = traceProtocol(env);
    checkResourceAttributes(process.env.OTEL_RESOURCE_ATTRIBUTES);
    return RunTracing.start({ ...options, protocol });
  }

  /** Loads the OpenTelemetry SDK (only runs that trace pay for it) and starts exporting. */
  static async start(options: TracingOptions): Promise<RunTracing> {
    const [otel, { OTLPTraceExporter }, resources, { BatchSpanProcessor }, { NodeTracerProvider }] = await Promise.all([
      import('@opentelemetry/api'),
      exporterPackages[options.protocol ?? traceProtocol(options.env)](),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/sdk-trace-node'),
    ]);
    const exporter =
      options.exporter ??
      new OTLPTraceExporter(options.endpoint ? { url: `${options.endpoint.replace(/\/$/, '')}/v1/traces` } : {});
    const ids = new RunIdGenerator();
    const provider = new NodeTracerProvider({
      // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, as the SDK's env detector reads them, over `baton`.
      resource: resources
        .resourceFromAttributes({ 'service.name': 'baton' })
        .merge(resources.detectResources({ detectors: [resources.envDetector] })),
      idGenerator: ids,
      spanProcessors: [new BatchSpanProcessor(exporter)],
    });
    return new RunTracing(provider, ids, otel);
  }

  private start(key: string, name: string, parentKey: string | undefined, attributes: Attributes, at?: number): void {
    const parent = parentKey === undefined ? undefined : (this.spans.get(parentKey) ?? this.endedTurns.get(parentKey));
    const { context, trace } = this.otel;
    const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
    this.spans.set(
      key,
      this.tracer.startSpan(name, { attributes, ...(at ? { startTime: at } : {}), root: !parent }, ctx),
    );
  }

  private end(key: string, attributes: Attributes = {}, errorCode?: string, at?: number): void {
    const span = this.spans.get(key);
    if (!span) return;
    this.spans.delete(key);
    span.setAttributes(attributes);
    if (errorCode) {
      span.setAttribute('baton.error.code', errorCode);
      span.setStatus({ code: this.otel.SpanStatusCode.ERROR, message: errorCode });
    }
    span.end(at);
  }

  /** Starts a run's root span in the run's own trace. */
  private startRun(runId: string, attributes: Attributes): void {
    this.ids.nextTraceId = traceIdOf(runId);
    try {
      this.start(runId, 'baton.run', undefined, { 'baton.run.id': runId, ...attributes });
    } finally {
      this.ids.nextTraceId = undefined;
    }
  }

  /** Traces a run from its events; returns the unsubscribe function. `tenant` labels the run span. */
  observeRun(events: RunEvents, tenant?: string): () => void {
    const offs = [
      events.on('run.started', (e) =>
        this.startRun(e.runId, {
          'baton.workflow': e.workflowName,
          'baton.resumed': e.resumed === true,
          ...(tenant ? { 'baton.tenant': tenant } : {}),
        }),
      ),
      events.on('phase.started', (e) =>
        this.start(phaseKey(e), `baton.phase ${e.phaseId}`, e.runId, { 'baton.phase.id': e.phaseId }),
      ),
      events.on('phase.finished', (e) => this.end(phaseKey(e), { 'baton.phase.status': e.status })),
      ...this.observeAgents(events),
      events.on('run.finished', (e) => this.endRun(e)),
    ];
    return () => offs.forEach((off) => off());
  }

  /** Spans of agents, their attempts and their tool calls; returns the unsubscribe functions. */
  private observeAgents(events: RunEvents): (() => void)[] {
    return [
      events.on('agent.started', (e) =>
        this.start(agentKey(e), `invoke_agent ${e.agentId}`, phaseKey(e), {
          [GenAi.operation]: 'invoke_agent',
          [GenAi.system]: 'anthropic',
          [GenAi.agentId]: e.agentId,
          [GenAi.agentName]: e.agentId,
          [GenAi.conversationId]: e.sessionId,
          'baton.context.inherited_tokens': e.inherited.tokens,
        }),
      ),
      events.on('agent.attempt', (e) =>
        this.startWithId(attemptSpanIdOf(e), () =>
          this.start(attemptKey(e), `baton.attempt ${e.attempt}`, agentKey(e), {
            'baton.attempt': e.attempt,
            'baton.attempt.resumed': e.resumed,
          }),
        ),
      ),
      events.on('agent.attempt.lost', (e) => this.traceLostAttempt(e)),
      events.on('agent.turn', (e) => this.traceModelTurn(e)),
      events.on('agent.tool', (e) => this.traceToolCall(e)),
      events.on('agent.attempt.finished', (e) => {
        this.forgetEndedTurns(attemptKey(e));
        this.end(
          attemptKey(e),
          {
            'baton.attempt.status': e.status,
            ...(e.startupMs !== undefined ? { 'baton.startup_ms': e.startupMs } : {}),
          },
          e.errorCode,
        );
      }),
      events.on('agent.finished', (e) => this.endAgent(e)),
    ];
  }

  /**
   * An attempt whose process died (SIGKILL) never exported its span: it gets one when it is found lost,
   * from its stored start to then, in the run's trace: a child of the run's span when a resumed run
   * closes it at its start, of the agent's span when a worker that runs the job again does; with the id
   * the dead process gave it, which the turns and calls it had exported name as their parent.
   */
  private traceLostAttempt(e: RunEventMap['agent.attempt.lost']): void {
    const key = `${attemptKey(e)}/lost`;
    const attributes = { 'baton.attempt': e.attempt, 'baton.attempt.lost': true };
    const parent = this.spans.has(agentKey(e)) ? agentKey(e) : e.runId;
    this.startWithId(attemptSpanIdOf(e), () =>
      this.start(key, `baton.attempt ${e.attempt}`, parent, attributes, e.startedAt),
    );
    this.end(key, { 'baton.attempt.status': 'failed' }, e.errorCode, e.finishedAt);
  }

  /** A model turn's span, a child of its attempt; only ids, model names, token counts and the stop reason. */
  private traceModelTurn(e: RunEventMap['agent.turn']): void {
    const { turn } = e;
    const key = turnKey(e, turn.index);
    const model = turn.requestModel ?? turn.responseModel;
    if (!this.spans.has(key) && !this.endedTurns.has(key))
      this.start(
        key,
        model ? `chat ${model}` : 'chat',
        attemptKey(e),
        {
          [GenAi.operation]: 'chat',
          [GenAi.system]: 'anthropic',
          ...(turn.requestModel ? { [GenAi.requestModel]: turn.requestModel } : {}),
          [GenAi.responseId]: turn.messageId,
          'baton.turn': turn.index,
        },
        turn.startedAt,
      );
    const span = this.spans.get(key);
    if (turn.status === 'running' || !span) return;
    this.end(
      key,
      {
        ...(turn.responseModel ? { [GenAi.responseModel]: turn.responseModel } : {}),
        ...(turn.stopReason ? { [GenAi.finishReasons]: [turn.stopReason] } : {}),
        [GenAi.inputTokens]: turn.usage.inputTokens,
        [GenAi.outputTokens]: turn.usage.outputTokens,
        'baton.usage.cache_read_tokens': turn.usage.cacheReadTokens,
        'baton.usage.cache_creation_tokens': turn.usage.cacheCreationTokens,
      },
      turn.status === 'incomplete' ? 'turn_incomplete' : undefined,
      turn.finishedAt,
    );
    this.endedTurns.set(key, span);
  }

  private forgetEndedTurns(prefix: string): void {
    for (const key of [...this.endedTurns.keys()]) if (key.startsWith(`${prefix}/`)) this.endedTurns.delete(key);
  }

  /** A tool call's span: a child of the model turn that asked for it, when that turn has a span, else of its attempt. */
  private traceToolCall(e: RunEventMap['agent.tool']): void {
    const key = `${attemptKey(e)}/${e.call.seq}`;
    const turn = turnKey(e, e.call.turn);
    // A call may arrive already ended (a runtime that reports calls afterwards): start and end it at once.
    if (!this.spans.has(key))
      this.start(
        key,
        `execute_tool ${e.call.name}`,
        this.spans.has(turn) || this.endedTurns.has(turn) ? turn : attemptKey(e),
        {
          [GenAi.operation]: 'execute_tool',
          [GenAi.toolName]: e.call.name,
          [GenAi.toolCallId]: e.call.toolUseId,
          'baton.tool.turn': e.call.turn,
          ...(e.call.server ? { 'baton.mcp.server': e.call.server } : {}),
        },
        e.call.startedAt,
      );
    if (e.call.status !== 'running')
      this.end(key, {}, e.call.status === 'error' ? 'tool_error' : undefined, e.call.finishedAt);
  }

  private endAgent(e: RunEventMap['agent.finished']): void {
    this.end(`${agentKey(e)}/job`);
    this.end(
      agentKey(e),
      {
        ...(e.model ? { [GenAi.requestModel]: e.model } : {}),
        [GenAi.inputTokens]: e.usage.inputTokens,
        [GenAi.outputTokens]: e.usage.outputTokens,
        'baton.usage.cache_read_tokens': e.usage.cacheReadTokens,
        'baton.usage.cache_creation_tokens': e.usage.cacheCreationTokens,
        'baton.cost_usd': e.costUsd,
        'baton.agent.status': e.status,
        'baton.attempts': e.attempts,
      },
      e.error?.code,
    );
  }

  private endRun(e: RunEventMap['run.finished']): void {
    // Whatever is still open (a cancelled run) ends with the run.
    this.forgetEndedTurns(e.runId);
    for (const key of [...this.spans.keys()].filter((k) => k !== e.runId && k.startsWith(`${e.runId}/`)).reverse())
      this.end(key);
    this.end(
      e.runId,
      { 'baton.run.status': e.status, 'baton.cost_usd': e.summary.totals.costUsd },
      e.status === 'succeeded' ? undefined : `run_${e.status}`,
    );
  }

  /**
   * A resumed run takes up a job the killed orchestrator sent (a worker runs it still, or ran it, or will):
   * the worker's spans hang from that orchestrator's agent span, which it never exported. A span of that
   * id is exported now, under this run's agent span, from when the job was queued until the agent ends.
   */
  adoptJobSpan(job: Pick<AgentJob, 'runId' | 'agentId'>, traceparent: string, queuedAt: number): void {
    const parsed = traceparentPattern.exec(traceparent);
    const key = `${agentKey(job)}/job`;
    if (!parsed || parsed[1] !== traceIdOf(job.runId) || !this.spans.has(agentKey(job)) || this.spans.has(key)) return;
    this.startWithId(parsed[2]!, () =>
      this.start(key, `baton.job ${job.agentId}`, agentKey(job), { 'baton.job.adopted': true }, queuedAt),
    );
  }

  /** Starts a span (`start`) with the given span id. */
  private startWithId(spanId: string, start: () => void): void {
    this.ids.nextSpanId = spanId;
    try {
      start();
    } finally {
      this.ids.nextSpanId = undefined;
    }
  }

  /** The W3C `traceparent` of an agent's span while it runs, to carry in its job to a worker. */
  traceparentOf(runId: string, agentId: string): string | undefined {
    const span = this.spans.get(agentKey({ runId, agentId }));
    if (!span) return undefined;
    const { traceId, spanId, traceFlags } = span.spanContext();
    return `00-${traceId}-${spanId}-0${traceFlags.toString(16)}`;
  }

  /**
   * For a `baton worker`: hooks that trace a job's attempts, model turns and tool calls as children of the agent
   * span its `traceparent` names, in the orchestrator's trace. `done` when the job ends.
   */
  jobHooks(job: AgentJob): { hooks: AgentJobHooks; done: () => void } | undefined {
    const parsed = job.traceparent ? traceparentPattern.exec(job.traceparent) : null;
    if (!parsed) return undefined;
    const key = agentKey(job);
    this.spans.set(
      key,
      this.otel.trace.wrapSpanContext({
        traceId: parsed[1]!,
        spanId: parsed[2]!,
        traceFlags: Number.parseInt(parsed[3]!, 16),
        isRemote: true,
      }),
    );
    // The worker's hooks become the same events the orchestrator's tracer follows.
    const events = new TypedEmitter<RunEventMap>();
    const off = this.observeRun(events);
    const ids = { runId: job.runId, phaseId: job.phaseId, agentId: job.agentId };
    const hooks: AgentJobHooks = {
      attemptStarted: (info) => events.emit('agent.attempt', { ...ids, attempt: info.attempt, resumed: info.resumed }),
      attemptFinished: (info, outcome) =>
        events.emit('agent.attempt.finished', {
          ...ids,
          attempt: info.attempt,
          status: outcome.status,
          ...(outcome.startupMs !== undefined ? { startupMs: outcome.startupMs } : {}),
          ...(outcome.error ? { errorCode: outcome.error.code } : {}),
        }),
      toolCall: (info, call) => events.emit('agent.tool', { ...ids, attempt: info.attempt, call }),
      modelTurn: (info, turn) => events.emit('agent.turn', { ...ids, attempt: info.attempt, turn }),
      attemptLost: (lost) => events.emit('agent.attempt.lost', lost),
    };
    return { hooks, done: () => (off(), this.spans.delete(key), this.forgetEndedTurns(key)) };
  }

  /**
   * Sends what is buffered and stops. Never rejects: a collector that is down, failing or silent costs
   * the traces, not the run; what went wrong is returned for a warning.
   */
  async shutdown(): Promise<string | undefined> {
    try {
      await this.provider.shutdown();
      return undefined;
    } catch (error) {
      return `traces were not exported (${(error as Error).message || String(error)}); the run itself is unaffected`;
    }
  }
}
