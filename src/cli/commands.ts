import { join } from 'node:path';
import { loadConfig, type BatonConfig } from '../config/index.js';
import {
  BatonError,
  checkTenantName,
  ErrorCodes,
  EXIT_WAITING_FOR_APPROVAL,
  neutralizeControlsDeep,
  SecretRedactor,
} from '../core/index.js';
import { catalogFor, formatRunHealth, mcpSecretValues, mergeRunHealth } from '../mcp/index.js';
import { answerApproval } from '../approvals/index.js';
import {
  agentTimeline,
  auditActions,
  currentActor,
  formatTimeline,
  formatToolCalls,
  parseDuration,
  runToolCalls,
  StoreMetrics,
  usageReport,
  type ToolCallFilter,
  type UsageDimension,
} from '../observability/index.js';
import { loadScript, startModelServer } from '../model-server/index.js';
import { currentRunStatus, requestRunCancel, runEnded, summarizeRun, type RunSummary } from '../orchestrator/index.js';
import {
  auditTrail,
  effectiveConfig,
  mcpSetup,
  resume,
  run,
  withExistingStore,
  withStore,
  type RunOptions,
  type StoreOptions,
} from '../api/index.js';
import { TenantScope, type Store } from '../store/index.js';
import { fullRunId, ownRunId, storeWhere } from './run-id.js';
import { formatSummary, printProgress } from './progress.js';
import { usageText } from './usage-text.js';

export interface Output {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Values to keep out of everything written from now on (a workflow's MCP secrets), when the output redacts. */
  hide?(values: Iterable<string>): void;
  /** stdout for drawing with the terminal's own escapes (the live dashboard), when `stdout` shows them as text. */
  terminal?: NodeJS.WritableStream;
  /**
   * stdout for the one credential a command exists to hand its user (`baton serve`'s login URL with
   * Baton's own dashboard token), which `stdout`'s redaction would hide as a URL's token.
   */
  credentials?: NodeJS.WritableStream;
}

/** Exit code of a finished run: 0 only when every agent succeeded. */
export const runExitCode = (summary: RunSummary): number => (summary.status === 'succeeded' ? 0 : 1);

export interface RunCommandOptions extends StoreOptions {
  json?: boolean;
  tenant?: string;
  /** Continue this stored run instead of starting a new one. */
  resume?: string;
  priority?: number;
  /** When the tenant's daily quota is used up: fail at once (default) or wait for the next UTC day. */
  onQuota?: 'wait' | 'fail';
  /** Extra environment for agents on top of Baton's own (the demo points them at its scripted model). */
  agentEnv?: Record<string, string>;
  /** `baton merge`: with resume, the phases whose branches are merged again (a succeeded run may be given). */
  redoMerge?: string[];
  /** Stop (exit 3) once everything left waits for a person; `--resume` after the approvals. */
  detachOnWait?: boolean;
  /** Serve this model script and point the agents at it: the run is offline and free. */
  modelScript?: string;
  /** Said once the run has started (a workflow refused before then is only an error). */
  startNotice?: string;
}

/** Runs `fn` with a scripted model serving `scriptPath`; `fn` gets the environment that points agents at it. */
export async function withScriptedModel<T>(
  scriptPath: string,
  fn: (agentEnv: Record<string, string>, url: string) => Promise<T>,
): Promise<T> {
  const { server, url, apiKey } = await startModelServer({ script: loadScript(scriptPath) });
  try {
    // The server's own key: a real ANTHROPIC_API_KEY never goes to the scripted model.
    return await fn({ ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: apiKey }, url);
  } finally {
    await server.close();
  }
}

/** Cancels the run on SIGINT and SIGTERM, saying so; `dispose` stops listening. */
function cancelOnSignals(output: Output): { signal: AbortSignal; dispose: () => void } {
  const cancel = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (cancel.signal.aborted) return;
    output.stderr.write(`\n${signal}: cancelling the run, stopping its agents…\n`);
    cancel.abort(new BatonError(ErrorCodes.cancelled, `run cancelled by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: cancel.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** `baton run` takes a workflow file or `--resume <runId>`, not both. */
function checkRunArguments(workflowPath: string | undefined, options: RunCommandOptions): void {
  if (!workflowPath && !options.resume)
    throw new BatonError(
      ErrorCodes.usage,
      'Give a workflow file to run, or --resume <runId> to continue a stored run.',
    );
  if (workflowPath && options.resume)
    throw new BatonError(
      ErrorCodes.usage,
      '--resume continues a run with the workflow it started with; leave out the workflow file.',
    );
}

/** The library's run options for `baton run`'s flags. */
const runOptionsOf = (options: RunCommandOptions, signal: AbortSignal, output: Output): RunOptions => ({
  ...(options.config ? { config: options.config } : {}),
  ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  ...(options.tenant !== undefined ? { tenant: checkTenantName(options.tenant, '--tenant') } : {}),
  ...(options.priority !== undefined ? { priority: options.priority } : {}),
  ...(options.onQuota ? { onQuota: options.onQuota } : {}),
  ...(options.agentEnv ? { env: options.agentEnv } : {}),
  ...(options.redoMerge ? { redoMerge: options.redoMerge } : {}),
  ...(options.detachOnWait ? { detachOnWait: true } : {}),
  signal,
  onNotice: (message) => output.stderr.write(message),
  onSecrets: (values) => output.hide?.(values),
});

/** `baton run`: the library's `run` (or `resume`), until it finishes or is cancelled (SIGINT, SIGTERM, `baton cancel`). */
export async function runCommand(
  workflowPath: string | undefined,
  options: RunCommandOptions,
  output: Output,
): Promise<number> {
  checkRunArguments(workflowPath, options);
  if (options.modelScript) {
    const { modelScript, ...rest } = options;
    return withScriptedModel(modelScript, (agentEnv, url) => {
      const startNotice = `Agents talk to the scripted model at ${url} (${modelScript}), not Claude.\n`;
      return runCommand(workflowPath, { ...rest, startNotice, agentEnv: { ...rest.agentEnv, ...agentEnv } }, output);
    });
  }
  const cancel = cancelOnSignals(output);
  try {
    const runOptions = runOptionsOf(options, cancel.signal, output);
    const resumed =
      options.resume && (await withExistingStore(options, (store) => ownRunId(store, options.resume!, options.tenant)));
    const handle = resumed ? resume(resumed, runOptions) : run(workflowPath!, runOptions);
    const { startNotice } = options;
    if (startNotice) handle.events.on('run.started', () => output.stderr.write(startNotice));
    if (!options.json || output.stderr.isTTY) printProgress(handle.events, output.stderr);
    const summary = await handle.result;
    output.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`);
    return summary.detached ? EXIT_WAITING_FOR_APPROVAL : runExitCode(summary);
  } finally {
    cancel.dispose();
  }
}

/** A read's `--tenant`: no filter without it; a name that is no tenant's (an empty one would show them all) is refused. */
const tenantFilter = (tenant: string | undefined): { tenant?: string } =>
  tenant === undefined ? {} : { tenant: checkTenantName(tenant, '--tenant') };

/** The run a read names, or the latest (of the tenant, with one); another tenant's run reads as no run at all. */
async function chosenRunId(
  store: Store,
  config: BatonConfig,
  runId: string | undefined,
  { tenant }: { tenant?: string },
): Promise<string> {
  if (runId !== undefined) return ownRunId(store, runId, tenant);
  const id = (await store.listRuns({ limit: 1, ...(tenant ? { tenant } : {}) }))[0]?.id;
  if (!id)
    throw new BatonError(
      ErrorCodes.usage,
      `${noRuns(config, tenant)}. Start one with: baton run <workflow.yaml>${tenant ? ` --tenant ${tenant}` : ''} (or give the --data-dir of your runs)`,
    );
  return id;
}

/** "No runs yet", of the tenant asked about when there is one: the store may hold other tenants' runs. */
const noRuns = (config: BatonConfig, tenant: string | undefined): string =>
  tenant === undefined ? `No runs yet ${storeWhere(config)}` : `Tenant ${tenant} has no runs ${storeWhere(config)}`;

/** `--action` of `baton audit`: a name it never records would match nothing, so it is refused. */
function checkAuditAction(action: string | undefined): void {
  if (action !== undefined && !(auditActions as readonly string[]).includes(action))
    throw new BatonError(
      ErrorCodes.usage,
      `--action ${action} is not an audit action. Use one of: ${auditActions.join(', ')}.`,
    );
}

/** `--tool` and `--status` of `baton status`; a `--tool` of nothing would match no call, so it is refused. */
function toolCallFilter(options: ToolCallFilter): ToolCallFilter {
  if (options.tool !== undefined && options.tool.trim() === '')
    throw new BatonError(ErrorCodes.usage, '--tool needs a tool name, or a glob such as "mcp__github__*".');
  return {
    ...(options.tool !== undefined ? { tool: options.tool.trim() } : {}),
    ...(options.status !== undefined ? { status: options.status } : {}),
  };
}

export async function statusCommand(
  runId: string | undefined,
  options: StoreOptions & { json?: boolean; tenant?: string; agent?: string } & ToolCallFilter,
  output: Output,
): Promise<number> {
  const filter = tenantFilter(options.tenant);
  const calls = toolCallFilter(options);
  const print = (value: unknown, text: string): void => {
    output.stdout.write(options.json ? `${JSON.stringify(value)}\n` : `${text}\n`);
  };
  return withExistingStore(options, async (store, config) => {
    const id = await chosenRunId(store, config, runId, filter);
    if (options.agent !== undefined) {
      const timeline = await agentTimeline(store, id, options.agent, calls);
      print(timeline, formatTimeline(timeline));
      return 0;
    }
    if (calls.tool !== undefined || calls.status !== undefined) {
      const matching = await runToolCalls(store, id, calls);
      print(matching, formatToolCalls(id, matching, calls));
      return 0;
    }
    const summary = await summarizeRun(store, id);
    const mcpHealth = mergeRunHealth(await store.listMcpHealth(id));
    const shown = mcpHealth.length > 0;
    output.stdout.write(
      options.json
        ? `${JSON.stringify({ ...summary, ...(shown ? { mcpHealth } : {}) })}\n`
        : `${formatSummary(summary)}\n${shown ? `${formatRunHealth(mcpHealth)}\n` : ''}`,
    );
    return 0;
  });
}

export async function runsCommand(
  options: StoreOptions & { json?: boolean; limit?: number; tenant?: string },
  output: Output,
): Promise<number> {
  const filter = tenantFilter(options.tenant);
  return withExistingStore(options, async (store, config) => {
    const runs = await store.listRuns({ limit: options.limit ?? 20, ...filter });
    if (options.json) {
      const rows = runs.map((r) => ({
        runId: r.id,
        workflow: r.workflowName,
        tenant: r.tenant,
        priority: r.priority ?? 0,
        status: currentRunStatus(r),
        createdAt: new Date(r.createdAt).toISOString(),
        finishedAt: r.finishedAt ? new Date(r.finishedAt).toISOString() : null,
      }));
      output.stdout.write(`${JSON.stringify(rows)}\n`);
    } else if (runs.length === 0) {
      output.stdout.write(`${noRuns(config, filter.tenant)}.\n`);
    } else {
      for (const r of runs)
        output.stdout.write(
          `${r.id}  ${currentRunStatus(r).padEnd(11)}  ${new Date(r.createdAt).toISOString()}  ${r.workflowName}\n`,
        );
    }
    return 0;
  });
}

export async function cancelCommand(
  given: string,
  options: StoreOptions & { tenant?: string },
  output: Output,
): Promise<number> {
  return withExistingStore(options, async (store, config) => {
    const runId = await ownRunId(store, given, options.tenant);
    const run = await requestRunCancel(store, runId);
    if (runEnded(run)) {
      output.stdout.write(`Run ${runId} had already ended (${run.status}); there is nothing to cancel.\n`);
      return 0;
    }
    await auditTrail(store, config).record('run.cancel_requested', runId, { status: run.status });
    const note =
      run.status === 'interrupted'
        ? `its orchestrator had stopped, so it is marked cancelled now (continue it with: baton run --resume ${runId})`
        : 'its agents are being stopped';
    output.stdout.write(`Cancel requested for run ${runId}: ${note}.\n`);
    return 0;
  });
}

export async function configCheckCommand(
  options: { config?: string; json?: boolean },
  output: Output,
): Promise<number> {
  const loaded = loadConfig({ file: options.config, cwd: process.cwd(), env: process.env });
  const servers = catalogFor(mcpSetup(loaded.config, [process.cwd()], process.cwd()));
  const secrets = mcpSecretValues(servers, process.env, loaded.config.data_dir);
  output.hide?.(secrets);
  // Secret-named fields (MCP env and headers, neo4j_password) are hidden whole, even short ones.
  const { config, sources } = SecretRedactor.fromEnvironment(process.env, secrets).redactDeep(loaded);
  if (options.json) output.stdout.write(`${JSON.stringify({ config, sources })}\n`);
  else {
    output.stdout.write(`Config OK (from: ${sources.join(', ')})\n`);
    for (const [key, value] of Object.entries(config)) output.stdout.write(`  ${key}: ${JSON.stringify(value)}\n`);
  }
  return 0;
}

/** `baton model-server`: the scripted model, standalone, until SIGINT/SIGTERM. */
export async function modelServerCommand(
  options: { script: string; port?: number; host?: string; log?: string; apiKey?: string },
  output: Output,
): Promise<number> {
  const script = loadScript(options.script);
  const { server, url, apiKey } = await startModelServer({
    script,
    port: options.port,
    host: options.host,
    logFile: options.log,
    ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
  });
  // The key is this scripted server's own (given, or random), not an Anthropic one: agents need it.
  output.stdout.write(
    `Scripted model listening on ${url}\nexport ANTHROPIC_BASE_URL=${url}\nexport ANTHROPIC_API_KEY=${apiKey}\n`,
  );
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await server.close();
  return 0;
}

/** `baton usage`: tokens and cost of recent runs, grouped by model, workflow, run or phase. */
export async function usageCommand(
  options: StoreOptions & { since?: string; by?: UsageDimension; json?: boolean; tenant?: string },
  output: Output,
): Promise<number> {
  const by = options.by ?? 'model';
  const sinceMs = parseDuration(options.since ?? '7d');
  const filter = tenantFilter(options.tenant);
  return withExistingStore(options, async (store) => {
    const report = await usageReport(store, { sinceMs, by, now: Date.now(), ...filter });
    if (options.json) {
      output.stdout.write(`${JSON.stringify(report)}\n`);
      return 0;
    }
    output.stdout.write(usageText(report));
    return 0;
  });
}

/** `baton audit`: the audit trail, oldest first. */
export async function auditCommand(
  options: StoreOptions & { since?: string; action?: string; json?: boolean; tenant?: string; run?: string },
  output: Output,
): Promise<number> {
  const sinceMs = parseDuration(options.since ?? '30d');
  const { tenant } = tenantFilter(options.tenant);
  checkAuditAction(options.action);
  return withExistingStore(options, async (store, config) => {
    await auditTrail(store, config).prune();
    const scope = new TenantScope(store, tenant);
    const runId = options.run === undefined ? undefined : await fullRunId(store, options.run, tenant);
    const events = (await scope.listAuditEvents({ since: Date.now() - sinceMs, action: options.action })).filter(
      (e) => runId === undefined || e.target === runId,
    );
    if (options.json) output.stdout.write(`${JSON.stringify(events)}\n`);
    else if (events.length === 0) output.stdout.write('No audit events in that period.\n');
    else {
      for (const e of events) {
        const details = Object.entries(e.details)
          .filter(([k]) => k !== 'config')
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(' ');
        output.stdout.write(
          `${new Date(e.at).toISOString()}  ${e.actor.padEnd(20)}  ${e.action.padEnd(22)}  ${e.target ?? ''}  ${details}\n`,
        );
      }
    }
    return 0;
  });
}

/** `baton dashboard [runId]`: the run's box, redrawn live until it ends (or once, with --once). */
export async function dashboardCommand(
  runId: string | undefined,
  options: StoreOptions & { once?: boolean; interval?: number; tenant?: string },
  output: Output,
): Promise<number> {
  const filter = tenantFilter(options.tenant);
  const [{ createElement }, { render }, { Dashboard, watchRun }] = await Promise.all([
    import('react'),
    import('ink'),
    import('../dashboard/index.js'),
  ]);
  return withStore(options, async (store, config) => {
    const id = await chosenRunId(store, config, runId, filter);
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once('SIGINT', onSignal);
    let app: ReturnType<typeof render> | undefined;
    // Keys answer requests only on a terminal someone types into.
    const interactive = !options.once && process.stdin.isTTY === true;
    const onAnswer = (id: string, approve: boolean): void =>
      // Answered meanwhile elsewhere: the next snapshot no longer lists it, which is all there is to show.
      void answerApproval(store, { id, approve, by: currentActor() }).catch(() => undefined);
    try {
      const last = await watchRun(
        store,
        id,
        (snapshot) => {
          const shown = neutralizeControlsDeep(snapshot);
          const view = createElement(Dashboard, { snapshot: shown, ...(interactive ? { onAnswer } : {}) });
          if (app) app.rerender(view);
          else
            app = render(view, {
              stdout: (output.terminal ?? output.stdout) as NodeJS.WriteStream,
              patchConsole: false,
            });
          if (options.once) stop.abort();
        },
        { intervalMs: options.interval ?? 500, contextLimitBytes: config.context_size_limit, signal: stop.signal },
      );
      if (!last) throw new BatonError(ErrorCodes.runNotFound, `No run with id ${id}. List runs with: baton runs`);
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      app?.unmount();
    }
  });
}

/** `baton serve`: the web dashboard, until SIGINT/SIGTERM. */
export async function serveCommand(
  options: StoreOptions & { port?: number; host?: string },
  output: Output,
): Promise<number> {
  const { readTenantTokens, startWebDashboard } = await import('../dashboard/index.js');
  const { ensureTokenFile } = await import('../http/index.js');
  return withStore(options, async (store, config) => {
    const tokenFile = join(config.data_dir, 'dashboard.token');
    const token = ensureTokenFile(tokenFile);
    if (token === undefined) throw new BatonError(ErrorCodes.usage, `Cannot read the dashboard token in ${tokenFile}.`);
    const dashboard = await startWebDashboard({
      store,
      metrics: new StoreMetrics(store, currentRunStatus),
      port: options.port ?? 8080,
      host: options.host,
      token,
      tenantTokens: () => readTenantTokens(config.data_dir),
      tokenHint: `it is in ${tokenFile}; or open the URL baton serve printed`,
      allowedHosts: config.http_allowed_hosts,
    });
    // The URL carries the token: opening it once stores it in a cookie, so only this user's browser gets in.
    (output.credentials ?? output.stdout).write(
      `Baton dashboard at ${dashboard.loginUrl}\n(token in ${tokenFile}; a tenant's own: baton dashboard-token --tenant <name>)\nMetrics at ${dashboard.url}metrics\n`,
    );
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    await dashboard.close();
    return 0;
  });
}

/** `baton dashboard-token --tenant <name>`: the token with which `baton serve` shows that tenant's runs only. */
export async function dashboardTokenCommand(
  options: StoreOptions & { tenant: string },
  output: Output,
): Promise<number> {
  const tenant = checkTenantName(options.tenant, '--tenant');
  const { ensureTenantToken } = await import('../dashboard/index.js');
  const { token, file } = ensureTenantToken(effectiveConfig(options).data_dir, tenant);
  output.stdout.write(`${token}\n`);
  output.stderr.write(
    `Dashboard token of tenant ${tenant}, kept in ${file} (delete the file to withdraw it; run this again for a new one).\n` +
      `Open the address baton serve prints with this token as its token parameter, or send Authorization: Bearer <token>: it shows ${tenant}'s runs only.\n`,
  );
  return 0;
}
