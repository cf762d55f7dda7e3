import { statSync } from 'node:fs';
import { basename, relative, resolve } from 'node:path';
import { BatonError, ErrorCodes, SecretRedactor } from '../core/index.js';
import { type Output } from './commands.js';
import { effectiveConfig, mcpSetup, openConfiguredStore, type StoreOptions } from '../api/index.js';

/** A signal aborted by the first SIGINT or SIGTERM: how the long-running commands stop. */
function untilStopped(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  controller.signal.addEventListener('abort', () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  });
  return controller.signal;
}

const aborted = (signal: AbortSignal): Promise<void> =>
  new Promise((done) => (signal.aborted ? done() : signal.addEventListener('abort', () => done(), { once: true })));

function checkPort(port: number | undefined, field: string): void {
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
    throw new BatonError(
      ErrorCodes.bridgeInvalid,
      `${field} ${port} is not a port: use 0 to 65535 (0 picks a free one).`,
    );
}

const loopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/** `baton bridge`: the Context Bridge, until SIGINT/SIGTERM. */
export async function bridgeCommand(
  options: StoreOptions & { port?: number; host?: string },
  output: Output,
): Promise<number> {
  checkPort(options.port, '--port');
  if (options.host !== undefined && options.host.trim() === '')
    throw new BatonError(
      ErrorCodes.bridgeInvalid,
      '--host must not be empty: give an address to bind, e.g. 127.0.0.1.',
    );
  const config = effectiveConfig(options);
  const { startBridge, tokenFile } = await import('../bridge/index.js');
  const signal = untilStopped();
  const host = options.host ?? config.bridge_host;
  const bridge = await startBridge({
    dataDir: config.data_dir,
    host,
    port: options.port ?? config.bridge_port,
    allowedHosts: config.http_allowed_hosts,
    signal,
  });
  output.stdout.write(
    `Context Bridge listening on ${bridge.url} (WebSocket: ${bridge.url.replace(/^http/, 'ws')})\ntoken: ${tokenFile(config.data_dir)}\n`,
  );
  if (bridge.tokenRenewed)
    output.stderr.write(
      `note: ${tokenFile(config.data_dir)} held an empty or short token; it now holds a fresh one (give it to your editors).\n`,
    );
  if (!loopback(host))
    output.stderr.write(
      `warning: bound to ${host}, reachable from other machines; anyone with the token can read what the IDE shows.\n`,
    );
  await aborted(signal);
  await bridge.close();
  return 0;
}

/** `baton bridge watch <dir>`: pushes file changes, git status and diagnostics of a directory to the bridge. */
export async function bridgeWatchCommand(
  dir: string,
  options: StoreOptions & { url?: string; diagnostics?: string; git?: boolean },
  output: Output,
): Promise<number> {
  const root = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir)
    throw new BatonError(ErrorCodes.bridgeInvalid, `<dir> ${dir} is not a directory: give the folder to watch.`);
  if (options.url !== undefined && !/^https?:\/\/[^/]+/.test(options.url))
    throw new BatonError(
      ErrorCodes.bridgeInvalid,
      `--url ${options.url} is not a bridge address: give http://host:port, e.g. http://127.0.0.1:7311.`,
    );
  const config = effectiveConfig(options);
  const { BridgeClient, locateBridge, readToken, startWatcher } = await import('../bridge/index.js');
  const endpoint = options.url
    ? { url: options.url, token: readToken(config.data_dir) }
    : locateBridge({ dataDir: config.data_dir, host: config.bridge_host, port: config.bridge_port });
  const signal = untilStopped();
  const client = await BridgeClient.connect(endpoint, { name: `watch:${basename(root)}`, signal });
  const bridgeClosed = new Promise<string>((done) =>
    client.events.on('close', ({ code, reason }) =>
      done(`the bridge closed the connection (${code}${reason ? ` ${reason}` : ''})`),
    ),
  );
  const watcher = await startWatcher({
    dir: root,
    push: (event) => client.push(event),
    git: options.git !== false,
    ...(options.diagnostics ? { diagnosticsCommand: options.diagnostics } : {}),
    onEvent: (event) =>
      output.stdout.write(
        `${event.type}${'path' in event ? ` ${relative(root, event.path) || '.'}` : ''}${event.type === 'file.changed' && event.change !== 'changed' ? ` (${event.change})` : ''}\n`,
      ),
    onError: (error) => output.stderr.write(`warning: ${error.message}\n`),
    signal,
  });
  output.stdout.write(`Watching ${root} → ${endpoint.url}\n`);
  const lost = await Promise.race([aborted(signal).then(() => undefined), bridgeClosed]);
  await watcher.close();
  await client.close();
  if (lost) throw new BatonError(ErrorCodes.bridgeUnavailable, `Stopped watching: ${lost}.`);
  return 0;
}

/** `baton mcp-server`: Baton's MCP server (IDE state, knowledge graph) on stdio. */
export async function mcpServerCommand(options: StoreOptions): Promise<number> {
  const config = effectiveConfig(options);
  const { locateBridge, serveBatonMcpStdio } = await import('../bridge/index.js');
  const { agentScopeEnv, catalogFor, mcpSecretValues } = await import('../mcp/index.js');
  const runId = process.env[agentScopeEnv.runId];
  const tenant = process.env[agentScopeEnv.tenant];
  // Baton scopes the server it gives an agent to that agent's run and tenant; the run's tenant is read from the store.
  const store = runId && tenant ? await openConfiguredStore(config, { create: false }) : undefined;
  const agentId = process.env[agentScopeEnv.agentId];
  const scope =
    store && runId && tenant
      ? {
          runId,
          tenant,
          ...(agentId ? { agentId } : {}),
          runTenant: async (id: string) => (await store.getRun(id))?.tenant,
        }
      : undefined;
  // What an agent records is kept without the secrets this process can know: its environment's (the
  // agent's own env among them) and the values of the MCP servers the config and project declare.
  // Built on the first knowledge tool call, not at every agent's start (it reads the config's and project's servers).
  let redactor: SecretRedactor | undefined;
  const secretsKnown = (): SecretRedactor => {
    const servers = catalogFor(mcpSetup(config, [process.cwd()], process.cwd()));
    return SecretRedactor.fromEnvironment(process.env, mcpSecretValues(servers, process.env, config.data_dir));
  };
  await serveBatonMcpStdio({
    ...(scope ? { scope } : {}),
    redact: (text) => (redactor ??= secretsKnown()).redact(text),
    bridge: () => locateBridge({ dataDir: config.data_dir, host: config.bridge_host, port: config.bridge_port }),
    openKnowledge: async () =>
      (await import('../knowledge/index.js')).openKnowledgeGraph({
        dataDir: config.data_dir,
        ...(config.neo4j_url ? { neo4jUrl: config.neo4j_url, neo4jUser: config.neo4j_user } : {}),
        ...(config.neo4j_password ? { neo4jPassword: config.neo4j_password } : {}),
      }),
    signal: untilStopped(),
  });
  await store?.close();
  return 0;
}
