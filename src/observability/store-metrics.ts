import type { Counter, Gauge, Registry } from 'prom-client';
import { unknownToolCall } from '../agents/index.js';
import { agentModel } from './agent-model.js';
import { promClient } from './prom.js';
import type {
  AgentRecord,
  AttemptRecord,
  BatonCallRecord,
  McpHealthRecord,
  PhaseRecord,
  RunRecord,
  RunStatus,
  Store,
  ToolCallRecord,
} from '../store/index.js';

const inProgress = new Set(['pending', 'queued', 'running']);
const finishedAgent = (a: AgentRecord): boolean => !inProgress.has(a.status);

/**
 * `baton_queue_depth`'s one meaning, in the store as in a run's own metrics: agents ready to run and
 * not started, waiting for a `parallel_limit` slot (pending in a phase that runs) or for a worker to take
 * their job (queued). Agents of phases still waiting on their dependencies are not in the queue yet.
 */
const waitingInQueue = (agent: AgentRecord, runningPhases: Set<string>): boolean =>
  agent.status === 'queued' || (agent.status === 'pending' && runningPhases.has(agent.phaseId));

/**
 * A phase as the workflow declares it: a planner's generated phases (`plan.g1.<task>`, ids a model
 * chose) count under their planning phase, so a model cannot add series. Workflow ids hold no dot.
 */
export const declaredPhase = (phaseId: string): string => phaseId.split('.')[0]!;

/** One run's share of the totals; a finished run's changes only if it is resumed, so it is kept until then. */
interface RunTotals {
  finished: boolean;
  /** When the run ended: `baton run --resume` runs it again, and it ends anew. */
  finishedAt: number | undefined;
  status: string;
  agents: Map<string, number>;
  tokens: Map<string, number>;
  cost: Map<string, number>;
  toolCalls: Map<string, number>;
  attempts: Map<string, number>;
  retries: number;
  /** Finished agents' run times (seconds), by status. */
  durations: Array<[status: string, seconds: number]>;
  /** Tokens of context each started agent inherited. */
  inheritedTokens: number[];
  mcpCalls: Map<string, number>;
  /** Worst breaker state per MCP server (0 closed, 1 half-open, 2 open), over every source of the run. */
  breakers: Map<string, number>;
  active: number;
  queued: number;
}

/** Buckets shared by a run's own histograms and the store's, so both read alike. */
export const histogramBuckets = {
  agentDuration: [1, 5, 15, 30, 60, 120, 300, 600],
  inheritedTokens: [0, 100, 500, 1000, 2000, 5000, 10000, 50000],
};
export const breakerValues = { closed: 0, 'half-open': 1, open: 2 } as const;

const add = (map: Map<string, number>, key: string, n: number): void => void map.set(key, (map.get(key) ?? 0) + n);
/** Label sets travel as JSON map keys, so several labels make one key. */
const key = (labels: Record<string, string>): string => JSON.stringify(labels);

/**
 * The samples one of Baton's own model calls (a summary, a re-ranking) adds to the agents' token and
 * cost counters, told apart by a `purpose` label agents' series do not carry; no phase (a run summary spans several).
 */
export function batonCallSamples({ purpose, usage, model, costUsd }: BatonCallRecord): {
  tokens: Array<[Record<string, string>, number]>;
  cost: [Record<string, string>, number];
} {
  return {
    tokens: [
      [{ kind: 'input', purpose }, usage.inputTokens],
      [{ kind: 'output', purpose }, usage.outputTokens],
      [{ kind: 'cache_read', purpose }, usage.cacheReadTokens],
      [{ kind: 'cache_write', purpose }, usage.cacheCreationTokens],
    ],
    cost: [{ model: model ?? 'default', purpose }, costUsd],
  };
}

function addBatonCalls(totals: RunTotals, calls: BatonCallRecord[]): void {
  for (const call of calls) {
    const samples = batonCallSamples(call);
    for (const [labels, n] of samples.tokens) add(totals.tokens, key(labels), n);
    add(totals.cost, key(samples.cost[0]), samples.cost[1]);
  }
}

/**
 * A call's labels. Tools are the agents' and their MCP servers': a bounded set. A name the model made
 * up is not (a model can invent one per call), so every such call counts as `tool="unknown"`, no server.
 */
const toolLabels = (call: ToolCallRecord): Record<string, string> =>
  unknownToolCall(call)
    ? { tool: 'unknown', server: '', status: call.status }
    : { tool: call.name, server: call.server ?? '', status: call.status };

/** Attempts are events: once one ends its record no longer changes, so these counters only grow. */
function addAttempts(totals: RunTotals, attempts: AttemptRecord[]): void {
  for (const attempt of attempts.filter((a) => a.status !== 'running')) {
    add(totals.attempts, key({ status: attempt.status, code: attempt.error?.code ?? '' }), 1);
    if (attempt.attempt > 1) totals.retries += 1;
  }
}

/** The run's MCP health as its gateways saved it: calls and failures per server, and the worst breaker. */
function addMcpHealth(totals: RunTotals, health: McpHealthRecord[]): void {
  for (const server of health) {
    add(totals.mcpCalls, key({ server: server.name, status: 'ok' }), server.calls - server.failures);
    add(totals.mcpCalls, key({ server: server.name, status: 'error' }), server.failures);
    const state = breakerValues[server.breaker];
    totals.breakers.set(server.name, Math.max(totals.breakers.get(server.name) ?? 0, state));
  }
}

function runTotals(run: RunRecord, agents: AgentRecord[], calls: ToolCallRecord[], phases: PhaseRecord[]): RunTotals {
  const totals: RunTotals = {
    finished: !inProgress.has(run.status),
    finishedAt: run.finishedAt,
    status: run.status,
    agents: new Map(),
    tokens: new Map(),
    cost: new Map(),
    toolCalls: new Map(),
    attempts: new Map(),
    retries: 0,
    durations: [],
    inheritedTokens: [],
    mcpCalls: new Map(),
    breakers: new Map(),
    active: 0,
    queued: 0,
  };
  const runningPhases = new Set(phases.filter((p) => p.status === 'running').map((p) => p.id));
  for (const agent of agents) {
    // An interrupted run's agents are stored as running, but nothing runs them.
    if (agent.status === 'running' && run.status === 'running') totals.active += 1;
    if (waitingInQueue(agent, runningPhases) && run.status === 'running') totals.queued += 1;
    if (agent.context) totals.inheritedTokens.push(agent.context.tokens);
    if (!finishedAgent(agent)) continue;
    add(totals.agents, key({ status: agent.status }), 1);
    totals.durations.push([agent.status, agent.durationMs / 1000]);
    const phase = declaredPhase(agent.phaseId);
    add(totals.tokens, key({ phase, kind: 'input' }), agent.usage.inputTokens);
    add(totals.tokens, key({ phase, kind: 'output' }), agent.usage.outputTokens);
    add(totals.tokens, key({ phase, kind: 'cache_read' }), agent.usage.cacheReadTokens);
    add(totals.tokens, key({ phase, kind: 'cache_write' }), agent.usage.cacheCreationTokens);
    add(totals.cost, key({ model: agentModel(run, agent) }), agent.costUsd);
  }
  for (const call of calls.filter((c) => c.status !== 'running')) add(totals.toolCalls, key(toolLabels(call)), 1);
  return totals;
}

/**
 * Metrics of everything the store holds, for processes that live long (`baton serve`, `baton worker`):
 * runs, agents, tokens, cost and tool calls of every run, whichever short-lived `baton run` made it,
 * counted once however often a process restarts (they are recomputed from the store at each scrape).
 * Every process sharing a store reports the same totals, so dashboards take `max` across instances.
 */
export class StoreMetrics {
  private readonly prom = promClient();
  readonly registry = new this.prom.Registry();
  private readonly finishedRuns = new Map<string, RunTotals>();

  // States, not events: a resumed run (and its agents run again) moves from one status to another.
  private readonly runs = this.gauge('baton_runs', 'Runs in the store, by status now', ['status']);
  private readonly agents = this.gauge('baton_agents', 'Agents in the store that finished, by status now', ['status']);
  private readonly tokens = this.counter(
    'baton_tokens_total',
    "Model tokens of finished agents, by phase and kind; of Baton's own calls, by purpose and kind",
    ['phase', 'kind', 'purpose'],
  );
  private readonly cost = this.counter(
    'baton_cost_usd_total',
    "Cost in USD of finished agents, by model; of Baton's own calls, by model and purpose",
    ['model', 'purpose'],
  );
  private readonly toolCalls = this.counter('baton_tool_calls_total', 'Agents’ tool calls that ended, by tool', [
    'tool',
    'server',
    'status',
  ]);
  private readonly attempts = this.counter(
    'baton_agent_attempts_total',
    'Agent attempts that ended, by outcome and error code (from the store)',
    ['status', 'code'],
  );
  private readonly retries = this.counter('baton_agent_retries_total', 'Agent attempts after the first that ended', []);
  private readonly agentDuration = new this.prom.Histogram({
    name: 'baton_agent_duration_seconds',
    help: 'Run time of finished agents, all attempts included (from the store)',
    labelNames: ['status'],
    buckets: histogramBuckets.agentDuration,
    registers: [this.registry],
  });
  private readonly inheritedTokens = new this.prom.Histogram({
    name: 'baton_context_inherited_tokens',
    help: 'Tokens of inherited context given to each started agent (from the store)',
    buckets: histogramBuckets.inheritedTokens,
    registers: [this.registry],
  });
  private readonly mcpCalls = this.counter(
    'baton_mcp_calls_total',
    "Agents' requests to MCP servers through Baton's gateways, by server and result (from the runs' saved MCP health)",
    ['server', 'status'],
  );
  private readonly mcpBreaker = this.gauge(
    'baton_mcp_breaker_state',
    'Worst circuit breaker per MCP server over running runs: 0 closed, 1 half-open, 2 open',
    ['server'],
  );
  private readonly active = new this.prom.Gauge({
    name: 'baton_active_agents',
    help: 'Agents running now (from the store)',
    registers: [this.registry],
  });
  private readonly queued = new this.prom.Gauge({
    name: 'baton_queue_depth',
    help: 'Agents ready to run, waiting for a slot under parallel_limit or for a worker (from the store)',
    registers: [this.registry],
  });

  constructor(
    private readonly store: Store,
    /** A run's status as it stands now (`currentRunStatus`): a killed orchestrator leaves `running` stored. */
    private readonly statusOf: (run: RunRecord) => RunStatus,
  ) {
    this.prom.collectDefaultMetrics({ register: this.registry, prefix: 'baton_' });
  }

  private counter(name: string, help: string, labelNames: string[]): Counter {
    return new this.prom.Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge(name: string, help: string, labelNames: string[]): Gauge {
    return new this.prom.Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text, with the store's totals read now. */
  async text(): Promise<string> {
    await this.refresh();
    return this.registry.metrics();
  }

  private async totalsOf(stored: RunRecord): Promise<RunTotals> {
    const run = { ...stored, status: this.statusOf(stored) };
    const cached = this.finishedRuns.get(run.id);
    // A resumed run is running (or has ended again): what was kept of its first ending no longer holds.
    if (cached && cached.status === run.status && cached.finishedAt === run.finishedAt) return cached;
    const [agents, calls, own, attempts, health, phases] = await Promise.all([
      this.store.listAgents(run.id),
      this.store.listToolCalls(run.id),
      this.store.listBatonCalls(run.id),
      this.store.listAttempts(run.id),
      this.store.listMcpHealth(run.id),
      this.store.listPhases(run.id),
    ]);
    const totals = runTotals(run, agents, calls, phases);
    addBatonCalls(totals, own);
    addAttempts(totals, attempts);
    addMcpHealth(totals, health);
    if (totals.finished) this.finishedRuns.set(run.id, totals);
    return totals;
  }

  private async refresh(): Promise<void> {
    const all = await Promise.all((await this.store.listRuns()).map((run) => this.totalsOf(run)));
    const sum = (pick: (t: RunTotals) => Map<string, number>): Map<string, number> => {
      const out = new Map<string, number>();
      for (const t of all) for (const [k, n] of pick(t)) add(out, k, n);
      return out;
    };
    const runs = new Map<string, number>();
    for (const t of all) add(runs, key({ status: t.status }), 1);
    for (const [metric, values] of [
      [this.runs, runs],
      [this.agents, sum((t) => t.agents)],
      [this.tokens, sum((t) => t.tokens)],
      [this.cost, sum((t) => t.cost)],
      [this.toolCalls, sum((t) => t.toolCalls)],
      [this.attempts, sum((t) => t.attempts)],
      [this.mcpCalls, sum((t) => t.mcpCalls)],
    ] as const) {
      metric.reset();
      for (const [labels, n] of values) metric.inc(JSON.parse(labels) as Record<string, string>, n);
    }
    this.retries.reset();
    this.retries.inc(all.reduce((n, t) => n + t.retries, 0));
    this.active.set(all.reduce((n, t) => n + t.active, 0));
    this.queued.set(all.reduce((n, t) => n + t.queued, 0));
    this.refreshHistograms(all);
    this.refreshBreakers(all.filter((t) => t.status === 'running'));
  }

  /** Histograms hold every observation, so they are rebuilt from every run's at each scrape. */
  private refreshHistograms(all: RunTotals[]): void {
    this.agentDuration.reset();
    this.inheritedTokens.reset();
    for (const t of all) {
      for (const [status, seconds] of t.durations) this.agentDuration.observe({ status }, seconds);
      for (const tokens of t.inheritedTokens) this.inheritedTokens.observe(tokens);
    }
  }

  /** A breaker is a state of a gateway that still runs: a finished run's says nothing of now. */
  private refreshBreakers(running: RunTotals[]): void {
    this.mcpBreaker.reset();
    const worst = new Map<string, number>();
    for (const t of running)
      for (const [server, state] of t.breakers) worst.set(server, Math.max(worst.get(server) ?? 0, state));
    for (const [server, state] of worst) this.mcpBreaker.set({ server }, state);
  }

  /** Names of every exported series (histograms as their _bucket/_sum/_count series). */
  seriesNames(): Promise<Set<string>> {
    return seriesNames(this.registry);
  }
}

/** Names of every series a registry exports (histograms as their _bucket/_sum/_count series). */
export async function seriesNames(registry: Registry): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    // prom-client's typings declare a numeric MetricType enum; at runtime the JSON holds 'histogram'.
    if (String(metric.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    else names.add(metric.name);
  }
  return names;
}
