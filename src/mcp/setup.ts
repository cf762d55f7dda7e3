import { join } from 'node:path';
import { buildCatalog, launchConfig, type McpCatalog, type McpLaunchConfig, type McpServerEntry } from './catalog.js';
import { McpManager } from './manager.js';
import { MockMcpHost } from './mock.js';

export interface McpSetupOptions {
  /** `mcp_servers` from baton.config. */
  configServers: Record<string, McpServerEntry>;
  /** The working directory and the workflow's directory: their `.mcp.json` files are read. */
  projectDirs: string[];
  workflowServers?: Record<string, McpServerEntry>;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  useMock: boolean;
  dataDir: string;
  cwd: string;
}

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
export async function startMcp(options: McpSetupOptions): Promise<{ manager: McpManager; close: () => Promise<void> }> {
  const mock = options.useMock ? await MockMcpHost.start() : undefined;
  const manager = new McpManager({
    catalog: catalogFor(options),
    env: options.env,
    timeoutMs: options.timeoutMs,
    cwd: options.cwd,
    snapshotDir: join(options.dataDir, 'mcp-snapshots'),
    mock,
  });
  manager.startMonitor();
  return {
    manager,
    close: async () => {
      manager.close();
      await mock?.close();
    },
  };
}

/** The values of one launched server's env or headers: what it must keep to itself. */
export const launchSecretValues = (config: McpLaunchConfig): string[] =>
  Object.values('command' in config ? (config.env ?? {}) : (config.headers ?? {}));

/** The values of every MCP server's env and headers, expanded: secrets to keep out of logs and stores. */
export function mcpSecretValues(catalog: McpCatalog, env: NodeJS.ProcessEnv): string[] {
  const values: string[] = [];
  for (const server of catalog.values()) {
    try {
      values.push(...launchSecretValues(launchConfig(server, env)));
    } catch {
      // A missing ${VAR}: that server is reported down elsewhere, and has no value to hide.
    }
  }
  return values;
}
