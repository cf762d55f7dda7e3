import { availableParallelism } from 'node:os';
import { z } from 'zod';
import {
  BatonError,
  day,
  durationMs,
  ErrorCodes,
  hostNameSchema,
  hour,
  intRange,
  minute,
  second,
  tenantNameSchema,
  usdAmount,
} from '../core/index.js';
import { mcpServersSchema } from '../mcp/index.js';
import { permissionsSchema } from '../permissions/index.js';

function isRedisUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
}

const redisUrl = z
  .string()
  .refine(isRedisUrl, { message: 'must be a redis:// or rediss:// URL, e.g. redis://localhost:6379' });

/** An http(s) URL with a host: `localhost:4318` parses as a URL of scheme `localhost:`, and reaches nothing. */
const httpUrl = z
  .string()
  .refine(
    (value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol) && new URL(value).hostname !== '',
    { message: 'must be an http:// or https:// URL, e.g. http://localhost:4318' },
  );

/** Baton's configuration. Keys are snake_case as in the roadmap; every default lives here. */
export const configSchema = z
  .object({
    /** How long MCP preflight may take per server. */
    mcp_timeout_ms: durationMs(1, 10 * minute).default(5000),
    /** How long an agent's request to a shared MCP server (through the gateway) may go unanswered. */
    mcp_call_timeout_ms: durationMs(1, day).default(5 * minute),
    /** Soft limit, in bytes, of context injected into one agent. */
    context_size_limit: intRange(1, 100_000_000).default(50_000),
    enable_debug_logging: z.boolean().default(false),
    use_mock_mcp: z.boolean().default(false),
    /** Most agents running at once in a run. */
    parallel_limit: intRange(1, 1000).default(5),
    enable_metrics: z.boolean().default(false),
    /**
     * Port of `baton worker`'s `/metrics`, and of `baton run`'s own while it goes; 0 picks a free one.
     * Unset: a worker picks a free one and a run serves none unless `enable_metrics` (then a free one).
     */
    metrics_port: intRange(0, 65535).optional(),
    redis_url: redisUrl.optional(),
    /** Where the store lives; resolved against the working directory. */
    data_dir: z.string().min(1).default('.baton'),
    /** Retries after the first attempt, for transient failures: 2 means 3 attempts. */
    max_retries: intRange(0, 20).default(2),
    retry_base_delay_ms: durationMs(0, hour).default(1000),
    retry_max_delay_ms: durationMs(0, hour).default(30_000),
    /** Per-agent timeout when the workflow sets none. */
    agent_timeout_ms: durationMs(1, day).default(600_000),
    /** How long a finished agent session is kept before it may be archived and pruned (default 7 days). */
    session_ttl_ms: intRange(1, 3650 * day).default(7 * day),
    /** USD each tenant may spend per UTC day, across all its runs; tenants not listed have no limit. */
    tenant_daily_budget_usd: z.record(tenantNameSchema, usdAmount).default({}),
    /** How long audit trail entries are kept (days). */
    audit_retention_days: intRange(1, 36_500).default(90),
    /** Base URL of an OTLP/HTTP receiver for OpenTelemetry traces (`/v1/traces` is added); unset: traces off unless OTEL_EXPORTER_OTLP_* says. */
    otel_endpoint: httpUrl.optional(),
    /** How long agents' tool-call records are kept (days). */
    tool_call_retention_days: intRange(1, 36_500).default(30),
    /** MCP servers available to every workflow, in `.mcp.json` shape (lowest precedence). */
    mcp_servers: mcpServersSchema.default({}),
    /** A `claude` executable to use instead of the one bundled with the Agent SDK. */
    claude_path: z.string().min(1).optional(),
    /** Port of the Context Bridge (`baton bridge`) on `bridge_host`. */
    bridge_port: intRange(0, 65535).default(7311),
    /** Address the Context Bridge binds; loopback unless you mean to expose it. */
    bridge_host: hostNameSchema.default('127.0.0.1'),
    /** Host names `baton serve` and the Context Bridge answer besides loopback ones (DNS-rebinding guard). */
    http_allowed_hosts: z.array(hostNameSchema).default([]),
    /** A Neo4j server for the knowledge graph (bolt:// or neo4j://); the embedded SQLite graph when unset. */
    neo4j_url: z
      .string()
      .regex(/^(bolt|neo4j)(\+s|\+ssc)?:\/\/[^/]+/, 'must be a bolt:// or neo4j:// URL, e.g. bolt://localhost:7687')
      .optional(),
    neo4j_user: z.string().min(1).default('neo4j'),
    /** Prefer the BATON_NEO4J_PASSWORD environment variable over writing it in a file. */
    neo4j_password: z.string().optional(),
    /**
     * Agent processes started ahead of their task while they wait for a slot (each holds ~250 MB); 0
     * disables; `auto` (see sessionPoolSize) sizes it from the machine's cores.
     */
    session_pool_size: z
      .union([intRange(0, 64), z.literal('auto')], { error: 'must be an integer 0–64, or auto' })
      .default('auto'),
    /** Agents one `baton worker` runs at once. */
    worker_concurrency: intRange(1, 1000).default(2),
    /**
     * Seals the secrets of queued jobs (agent env, MCP configs) in Redis; the same value on `baton run` and
     * every worker. Unset: a random key in data_dir/job.key, which only workers sharing data_dir can read.
     */
    job_secret: z
      .string()
      .min(32, 'must be at least 32 characters: use a random value, e.g. openssl rand -hex 32')
      .optional(),
    /** A worker silent this long (died) loses its jobs to other workers. */
    worker_stall_timeout_ms: durationMs(second, hour).default(30_000),
    /** Agents of one tenant running at once across all its runs; tenants not listed have no limit. */
    tenant_max_concurrent_agents: z.record(tenantNameSchema, intRange(1, 100_000)).default({}),
    /** Tokens (input + output) each tenant may use per UTC day; tenants not listed have no limit. */
    tenant_daily_token_budget: z.record(tenantNameSchema, intRange(1, Number.MAX_SAFE_INTEGER)).default({}),
    /** Permission rules for every agent of every run, below the workflow's own (Claude Code rule syntax). */
    permissions: permissionsSchema.optional(),
    /** Receives a JSON POST for each approval request; a failing webhook never holds up the run. */
    approval_webhook_url: httpUrl.optional(),
    /** A model stream silent this long while a turn is in flight is a stalled connection: retried, session resumed. */
    stream_idle_timeout_ms: durationMs(second, hour).default(60_000),
    /** Online backups of the SQLite store (`data_dir/backups/`) kept; older ones are deleted. */
    backup_keep: intRange(1, 1000).default(5),
    /** How often a running `baton run` or `baton worker` backs the SQLite store up; 0 only before migrations. */
    backup_interval_ms: durationMs(0, 24 * day).default(hour),
  })
  .strict();

/**
 * What no single setting shows, checked once every source is merged: backoff grows from the base up
 * to the cap, so a base above it is a typo, not a setting.
 */
export function checkSettingsTogether(config: BatonConfig): BatonConfig {
  if (config.retry_base_delay_ms > config.retry_max_delay_ms)
    throw new BatonError(
      ErrorCodes.configInvalid,
      `retry_base_delay_ms (${config.retry_base_delay_ms}) is above retry_max_delay_ms (${config.retry_max_delay_ms}): the delay between retries starts at the base and grows to that cap. Set the base at most the cap (in the config file, or BATON_RETRY_BASE_DELAY_MS / BATON_RETRY_MAX_DELAY_MS).`,
    );
  return config;
}

export type BatonConfig = z.output<typeof configSchema>;
export type BatonConfigInput = z.input<typeof configSchema>;
export type ConfigKey = keyof BatonConfig;

export const configKeys = Object.keys(configSchema.shape) as ConfigKey[];

export function defaultConfig(): BatonConfig {
  return configSchema.parse({});
}

/**
 * How many spare agent processes the session pool keeps. `auto`: at most 2, and only as many as the
 * machine has cores beyond `parallel_limit`. A spare boots on an idle core while the running agents
 * work; where every core already runs an agent it only takes CPU from them, and its deferred
 * start-up work costs ≈ 0.1 CPU-s more (measured in docs/mcp.md), so short agents finish later.
 */
export function sessionPoolSize(config: BatonConfig, cores = availableParallelism()): number {
  const configured = config.session_pool_size;
  return configured === 'auto' ? Math.min(2, Math.max(0, cores - config.parallel_limit)) : configured;
}
