/**
 * What a run needs around the orchestrator: the effective config, the store, the MCP setup of a
 * workflow, tenant quotas, metrics. Shared by the library API and the CLI.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  checkSettingsTogether,
  configSchema,
  loadConfig,
  type BatonConfig,
  type BatonConfigInput,
  type LoadedConfig,
} from '../config/index.js';
import { ErrorCodes, validateData } from '../core/index.js';
import {
  catalogFor,
  mcpSecretValues,
  type McpCatalog,
  type McpEvents,
  type McpServerEntry,
  type McpSetupOptions,
} from '../mcp/index.js';
import {
  AuditTrail,
  BatonMetrics,
  metricsAccess,
  metricsTokenFile,
  remainingTenantQuota,
  startMetricsServer,
} from '../observability/index.js';
import { checkClaudePath } from '../agents/index.js';
import { checkIntegrationBranches } from '../merge/index.js';
import { checkAgentDirectories, checkWorktreeRepos, resumableRun, type RunEvents } from '../orchestrator/index.js';
import { openStore, storeDamagedError, type Store } from '../store/index.js';
import {
  loadWorkflow,
  checkWorkflowData,
  restoreWorkflowEnv,
  workflowEnvValues,
  type LoadedWorkflow,
  type Workflow,
} from '../workflow/index.js';

export interface StoreOptions {
  config?: string;
  dataDir?: string;
}

/** The `config` option of the library: a config file, or the settings themselves. */
export type ConfigOption = string | BatonConfigInput;

/**
 * The effective config and where it came from: settings given in code (validated like a file), else
 * the file (explicit, or baton.config.* in `cwd`) and BATON_* variables; `dataDir` overrides data_dir.
 */
export function resolveRunConfig(
  option: ConfigOption | undefined,
  dataDir: string | undefined,
  cwd: string,
): LoadedConfig {
  const loaded: LoadedConfig =
    typeof option === 'object'
      ? {
          config: checkSettingsTogether(
            validateData(configSchema, option, {
              source: 'config option',
              code: ErrorCodes.configInvalid,
              what: 'Config',
            }),
          ),
          sources: ['defaults', 'config option'],
        }
      : loadConfig({ file: option, cwd, env: process.env });
  return dataDir
    ? { config: { ...loaded.config, data_dir: resolve(cwd, dataDir) }, sources: [...loaded.sources, '--data-dir'] }
    : loaded;
}

/** The config with --data-dir applied, and where it came from. */
export const loadEffectiveConfig = (options: StoreOptions): LoadedConfig =>
  resolveRunConfig(options.config, options.dataDir, process.cwd());

export const effectiveConfig = (options: StoreOptions): BatonConfig => loadEffectiveConfig(options).config;

/** The audit trail of a store, with the configured retention. */
export const auditTrail = (store: Store, config: BatonConfig): AuditTrail =>
  new AuditTrail(store, { retentionMs: config.audit_retention_days * 86_400_000 });

/**
 * The store the config names: Redis when redis_url is set, else SQLite in data_dir. `create: false`
 * for what only reads or changes stored records: a data_dir without a store then reads as empty
 * and is left as it was.
 */
export const openConfiguredStore = (config: BatonConfig, access: { create?: boolean } = {}): Promise<Store> =>
  openStore({ dataDir: config.data_dir, ...(config.redis_url ? { redisUrl: config.redis_url } : {}), ...access });

export async function withStore<T>(
  options: StoreOptions,
  fn: (store: Store, config: BatonConfig) => Promise<T>,
  access: { create?: boolean } = {},
): Promise<T> {
  const config = effectiveConfig(options);
  const store = await openConfiguredStore(config, access);
  try {
    return await fn(store, config);
  } catch (error) {
    throw storeDamagedError(error, config.data_dir) ?? error;
  } finally {
    await store.close();
  }
}

/**
 * `withStore` for commands that only read or change what is stored (status, runs, cancel, approvals,
 * sessions, exports): a data dir without a store reads as empty and is left as it was, so a mistyped
 * `--data-dir` leaves no new store behind.
 */
export const withExistingStore = <T>(
  options: StoreOptions,
  fn: (store: Store, config: BatonConfig) => Promise<T>,
): Promise<T> => withStore(options, fn, { create: false });

/** The MCP setup for a config: servers from baton.config, the `.mcp.json` of `projectDirs`, and a workflow's. */
export function mcpSetup(
  config: BatonConfig,
  projectDirs: string[],
  cwd: string,
  workflowServers?: Record<string, McpServerEntry>,
): McpSetupOptions {
  return {
    configServers: config.mcp_servers,
    projectDirs,
    ...(workflowServers ? { workflowServers } : {}),
    env: process.env,
    timeoutMs: config.mcp_timeout_ms,
    callTimeoutMs: config.mcp_call_timeout_ms,
    useMock: config.use_mock_mcp,
    dataDir: config.data_dir,
    cwd,
  };
}

/**
 * Loads a workflow with the MCP servers declared around it (baton.config, `.mcp.json` in the working
 * directory and the workflow's), so agents may name any of them.
 */
export function loadWorkflowWithMcp(workflowPath: string, config: BatonConfig, cwd = process.cwd()) {
  const projectDirs = [cwd, dirname(resolve(workflowPath))];
  const external = externalServers(config, projectDirs);
  return withMcpSetup(loadWorkflow(workflowPath, { externalMcpServers: external }), config, projectDirs);
}

/**
 * The values a run of this workflow hides wherever it writes: its MCP servers' env, headers and
 * secret-named flags, and the literal values of the workflow's own `env`. (The environment's
 * secret-named variables are added by `SecretRedactor.fromEnvironment`.)
 */
export function workflowSecrets(
  loaded: { workflow: Workflow; catalog: McpCatalog; mcpOptions: { dataDir: string } },
  env: NodeJS.ProcessEnv,
): string[] {
  return [...mcpSecretValues(loaded.catalog, env, loaded.mcpOptions.dataDir), ...workflowEnvValues(loaded.workflow)];
}

/**
 * What `baton run` refuses before any agent starts (exit 2, naming the field), so that `baton plan`
 * refuses it too: integration branches in the way of a new run, worktree phases' repositories, agents'
 * directories and `claude_path`. Returns its notes (uncommitted work a worktree will not see).
 */
export async function checkRunnable(
  loaded: Pick<LoadedWorkflow, 'workflow' | 'dir'>,
  config: BatonConfig,
  { newRun }: { newRun: boolean },
): Promise<string[]> {
  await checkIntegrationBranches(loaded.workflow.phases, loaded.dir, { newRun });
  const notes = await checkWorktreeRepos(loaded.workflow.phases, loaded.dir);
  // With Redis, agents run on workers, whose machines hold their directories and claude: not checked here.
  if (!config.redis_url) {
    checkAgentDirectories(loaded.workflow.phases, loaded.dir);
    checkClaudePath(config.claude_path);
  }
  return notes;
}

/** MCP server names declared around a workflow (baton.config, `.mcp.json` of `projectDirs`), which agents may name. */
const externalServers = (config: BatonConfig, projectDirs: string[]): Set<string> =>
  new Set(catalogFor({ configServers: config.mcp_servers, projectDirs }).keys());

function withMcpSetup(loaded: LoadedWorkflow, config: BatonConfig, projectDirs: string[]) {
  const mcpOptions = mcpSetup(config, projectDirs, loaded.dir, loaded.workflow.mcpServers);
  return { ...loaded, mcpOptions, catalog: catalogFor(mcpOptions) };
}

/**
 * A workflow that is not (or no longer) a file: defined in code, or stored with a run. It is
 * validated again with the MCP servers declared around it, as a workflow file is.
 */
export function workflowWithMcp(
  data: unknown,
  source: string,
  where: { dir: string; path?: string; cwd: string },
  config: BatonConfig,
) {
  const projectDirs = [where.cwd, where.dir];
  const workflow = checkWorkflowData(data, source, {
    externalMcpServers: externalServers(config, projectDirs),
  });
  return withMcpSetup({ workflow, path: where.path ?? '', dir: where.dir }, config, projectDirs);
}

/**
 * The workflow a stored run was started with, for `baton run --resume` (the file may have changed
 * since); `redoMerge` (`baton merge`) also accepts a run that succeeded.
 */
export async function loadRunToResume(
  store: Store,
  runId: string,
  config: BatonConfig,
  cwd = process.cwd(),
  redoMerge = false,
) {
  const run = await resumableRun(store, runId, redoMerge);
  const dir = run.workflowPath ? dirname(run.workflowPath) : cwd;
  const where = { dir, cwd, ...(run.workflowPath ? { path: run.workflowPath } : {}) };
  const stored = workflowWithMcp(run.workflow, `run ${runId}`, where, config);
  // Literal agent env values are stored redacted: take them back from the workflow file, if it still has them.
  const fromFile = (): Workflow | undefined => {
    try {
      return run.workflowPath
        ? loadWorkflow(run.workflowPath, { externalMcpServers: externalServers(config, [cwd, dir]) }).workflow
        : undefined;
    } catch {
      return undefined; // gone or changed beyond parsing: reported if a hidden value was needed from it
    }
  };
  const restored = restoreWorkflowEnv(stored.workflow, fromFile, runId);
  // `baton merge` takes merge: from the file as it is now: one that no longer parses is refused (exit 2,
  // naming the field), not passed over for the stored merge:; a file that is gone leaves the stored one.
  const current = (): Workflow | undefined =>
    run.workflowPath && existsSync(run.workflowPath)
      ? loadWorkflow(run.workflowPath, { externalMcpServers: externalServers(config, [cwd, dir]) }).workflow
      : undefined;
  const workflow = redoMerge ? withMergeFromFile(restored, current()) : restored;
  // The MCP catalog is made from the restored workflow: its servers must start with the real values.
  return { run, ...withMcpSetup({ ...stored, workflow }, config, [cwd, dir]) };
}

/**
 * `baton merge` merges with each phase's `merge:` as the workflow file has it now (a fixed `verify`,
 * say); everything else, the agents above all, stays as the run was started.
 */
function withMergeFromFile(workflow: Workflow, file: Workflow | undefined): Workflow {
  if (!file) return workflow;
  const phases = workflow.phases.map((phase) => {
    const merge = file.phases.find((p) => p.id === phase.id)?.merge;
    return merge ? { ...phase, merge } : phase;
  });
  return { ...workflow, phases };
}

/** What is left of the tenant's daily budgets (tenant_daily_budget_usd, tenant_daily_token_budget) for this run. */
export const tenantQuota = (
  store: Store,
  config: BatonConfig,
  tenant: string,
  onQuota: 'wait' | 'fail',
  signal: AbortSignal,
  notice: (message: string) => void,
  resuming?: string,
) =>
  remainingTenantQuota(store, {
    tenant,
    ...(resuming ? { resuming } : {}),
    dailyUsd: config.tenant_daily_budget_usd[tenant],
    dailyTokens: config.tenant_daily_token_budget[tenant],
    onQuota,
    signal,
    waiting: (message) => notice(`${message}\n`),
  });

/**
 * Serves Prometheus metrics of this process's run while it goes, when asked (`enable_metrics` or a
 * `metrics_port`): on a free port unless one is named, so concurrent runs never fight over a port.
 */
export async function serveMetrics(
  config: BatonConfig,
  events: RunEvents,
  mcpEvents: McpEvents | undefined,
  notice: (message: string) => void,
) {
  if (!config.enable_metrics && config.metrics_port === undefined) return undefined;
  const port = config.metrics_port ?? 0;
  const metrics = new BatonMetrics();
  metrics.observeRun(events);
  if (mcpEvents) metrics.observeMcp(mcpEvents);
  const server = await startMetricsServer(metrics, { port, ...metricsAccess(config.data_dir) });
  notice(`Metrics at ${server.url} (Authorization: Bearer <${metricsTokenFile(config.data_dir)}>)\n`);
  return server;
}
