import { join, resolve } from 'node:path';
import { buildCatalog, launchConfig, launchSecretValues, type McpCatalog, type McpServerEntry } from './catalog.js';
import { randomBytes } from 'node:crypto';
import { McpManager, scopeOf } from './manager.js';
import { MockMcpHost } from './mock.js';

export interface McpSetupOptions {
  /** `mcp_servers` from baton.config. */
  configServers: Record<string, McpServerEntry>;
  /** The working directory and the workflow's directory: their `.mcp.json` files are read. */
  projectDirs: string[];
  workflowServers?: Record<string, McpServerEntry>;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** `mcp_call_timeout_ms`: how long an agent's MCP request may wait for its answer (the gateway's bound, and claude's). */
  callTimeoutMs?: number;
  useMock: boolean;
  dataDir: string;
  cwd: string;
  /** Share stdio servers of `scope: run` through Baton's MCP gateway (a run, a worker); off for `baton mcp check`. */
  gateway?: { token: string };
}

/**
 * What `${VAR}` in a server's entry reads: the environment, and `BATON_DATA_DIR` as the data_dir
 * Baton runs with (absolute, whichever of --data-dir, the variable or the config set it): a place
 * Baton makes private (0700) for a server's files, where a fixed path under /tmp could be anyone's.
 */
export const mcpVariables = (env: NodeJS.ProcessEnv, dataDir: string): NodeJS.ProcessEnv => ({
  ...env,
  BATON_DATA_DIR: resolve(dataDir),
});

/** A fresh per-run secret for the MCP gateway: made before the run so its redactor can hide it. */
export const newGatewayToken = (): string => randomBytes(32).toString('base64url');

/** Every server a run may use: baton.config < `.mcp.json` files < the workflow. */
export function catalogFor(
  options: Pick<McpSetupOptions, 'configServers' | 'projectDirs' | 'workflowServers'> & { dataDir?: string },
): McpCatalog {
  return buildCatalog({
    config: options.configServers,
    projectDirs: options.projectDirs,
    workflow: options.workflowServers,
    dataDir: options.dataDir,
  });
}

/** An MCP manager for a run or a CLI check, with its health monitor (and mock host) running. */
export async function startMcp(
  options: McpSetupOptions,
): Promise<{ manager: McpManager; pids: () => number[]; close: () => Promise<void> }> {
  const mock = options.useMock ? await MockMcpHost.start() : undefined;
  const catalog = catalogFor(options);
  // Only a run with a server to share starts the gateway (and loads the SDK's server side, ~0.2 CPU-s).
  const shares = [...catalog.values()].some((server) => scopeOf(server) === 'run');
  // The gateway reports to the manager it serves; the manager is made just below.
  // eslint-disable-next-line prefer-const -- the gateway's callbacks close over it before it is made
  let manager: McpManager | undefined;
  const gateway =
    options.gateway && !options.useMock && shares
      ? await (
          await import('./gateway.js')
        ).McpGateway.start({
          token: options.gateway.token,
          startTimeoutMs: options.timeoutMs,
          ...(options.callTimeoutMs ? { callTimeoutMs: options.callTimeoutMs } : {}),
          inherit: options.env,
          guard: (server, request) => manager!.guard(server, request),
          onCall: (call) => manager?.recordCall(call),
          onLifecycle: (event) => manager?.recordLifecycle(event),
        })
      : undefined;
  manager = new McpManager({
    catalog,
    env: mcpVariables(options.env, options.dataDir),
    timeoutMs: options.timeoutMs,
    ...(options.callTimeoutMs ? { callTimeoutMs: options.callTimeoutMs } : {}),
    cwd: options.cwd,
    snapshotDir: join(options.dataDir, 'mcp-snapshots'),
    mock,
    gateway,
  });
  manager.startMonitor();
  const started = manager;
  return {
    manager,
    /** Process ids of the shared servers running now. */
    pids: () => gateway?.pids() ?? [],
    close: async () => {
      started.close();
      await gateway?.close();
      await mock?.close();
    },
  };
}

/** The values of every MCP server's env and headers, expanded: secrets to keep out of logs and stores. */
export function mcpSecretValues(catalog: McpCatalog, env: NodeJS.ProcessEnv, dataDir: string): string[] {
  const variables = mcpVariables(env, dataDir);
  // A ${VAR} that is not set reads as empty here (the server itself is reported down elsewhere), so
  // the values its entry does hold are still hidden: one missing variable must not expose the rest.
  const lenient = new Proxy(variables, {
    get: (target, name) => (typeof name === 'string' ? (target[name] ?? '') : undefined),
  });
  return [...catalog.values()].flatMap((server) => launchSecretValues(launchConfig(server, lenient)));
}
