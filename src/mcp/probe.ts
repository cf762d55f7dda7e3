import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { BatonError, ErrorCodes, SecretRedactor } from '../core/index.js';
import { launchSecretValues, type McpLaunchConfig, type MockTool } from './catalog.js';

export interface ProbeOptions {
  /** The probe fails when initialize + tools/list have not answered by then. */
  timeoutMs: number;
  /** Working directory for stdio servers. */
  cwd?: string;
  /** The environment a stdio server inherits (the agents'), under its own `env`. */
  inherit?: NodeJS.ProcessEnv;
  /** Ends the probe early (its manager is closing): it fails like a server that is not up. */
  signal?: AbortSignal;
}

/** The server did not answer in time: retrying within the same preflight would not help. */
export class McpProbeTimeout extends BatonError {
  constructor(message: string) {
    super(ErrorCodes.mcpUnavailable, message);
  }
}

/** A probe asks a server for its tools; it throws a BatonError when the server is not up. */
export type McpProbe = (name: string, config: McpLaunchConfig, options: ProbeOptions) => Promise<MockTool[]>;

/** The MCP SDK's client side, loaded on first use: runs without MCP servers never pay for it. */
const clientSdk = async () => {
  const [{ Client }, { SSEClientTransport }, { ProcessGroupStdioTransport }, { StreamableHTTPClientTransport }] =
    await Promise.all([
      import('@modelcontextprotocol/sdk/client/index.js'),
      import('@modelcontextprotocol/sdk/client/sse.js'),
      import('./stdio-transport.js'),
      import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
    ]);
  return { Client, SSEClientTransport, ProcessGroupStdioTransport, StreamableHTTPClientTransport };
};

function transportFor(
  sdk: Awaited<ReturnType<typeof clientSdk>>,
  config: McpLaunchConfig,
  { cwd, inherit }: Pick<ProbeOptions, 'cwd' | 'inherit'>,
): Transport {
  const { SSEClientTransport, ProcessGroupStdioTransport, StreamableHTTPClientTransport } = sdk;
  if ('command' in config)
    return new ProcessGroupStdioTransport({
      command: config.command,
      args: config.args,
      env: config.env,
      inherit,
      cwd,
      stderr: 'tail',
    });
  const requestInit = config.headers ? { headers: config.headers } : undefined;
  const url = new URL(config.url);
  return config.type === 'sse'
    ? new SSEClientTransport(url, { requestInit })
    : new StreamableHTTPClientTransport(url, { requestInit });
}

/**
 * Connects to a server with the MCP SDK client and asks for its tools (initialize + tools/list),
 * then disconnects (which stops a stdio server's whole process group). Fails after `timeoutMs` at the latest.
 */
export const probeServer: McpProbe = async (name, config, options) => {
  const sdk = await clientSdk();
  const client = new sdk.Client({ name: 'baton-preflight', version: '0.1.0' });
  const transport = transportFor(sdk, config, options);
  try {
    return await withinDeadline(
      name,
      options.timeoutMs,
      async (signal) => {
        await client.connect(transport, { signal });
        return listedTools(client, signal);
      },
      options.signal,
    );
  } catch (error) {
    // Its deadline is the preflight's: a server that did not answer in time is stopped without a grace.
    if (error instanceof McpProbeTimeout && transport instanceof sdk.ProcessGroupStdioTransport) transport.hurry();
    throw withStderr(error, transport, config);
  } finally {
    await closeClient(client, transport);
  }
};

/**
 * A server that would not start usually said why on stderr ("config missing"): its last lines join the
 * error, without the values of its env and headers (a server may print its own configuration).
 */
function withStderr(error: unknown, transport: Transport, config: McpLaunchConfig): unknown {
  const tail = 'stderrTail' in transport ? String(transport.stderrTail) : '';
  if (!tail || !(error instanceof BatonError) || error instanceof McpProbeTimeout) return error;
  const redactor = new SecretRedactor(launchSecretValues(config));
  const lines = redactor.redact(tail).split('\n').slice(-5).join('\n  ');
  return new BatonError(error.code, `${error.message}; its stderr ends:\n  ${lines}`, { cause: error });
}

/**
 * Disconnects a client and closes its transport, which stops a stdio server's whole process group (the
 * server itself, when `npx`, `uvx` or `sh -c` launched it, and what it started); a failed connect
 * may have closed the client already, and the transport is closed all the same.
 */
export async function closeClient(client: Client, transport: Pick<Transport, 'close'>): Promise<void> {
  await Promise.all([client.close(), transport.close()].map((closing) => closing.catch(() => undefined)));
}

/** tools/list on a connected client, as preflight records it. */
export async function listedTools(client: Client, signal: AbortSignal): Promise<MockTool[]> {
  const { tools } = await client.listTools(undefined, { signal });
  return tools.map((t) => ({
    name: t.name,
    description: t.description,
    inputSchema: t.inputSchema,
  }));
}

/**
 * Runs a probe that must answer within `timeoutMs`: a late answer is a McpProbeTimeout, any other
 * failure a BatonError saying the server is not up.
 */
export async function withinDeadline<T>(
  name: string,
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
  stop?: AbortSignal,
): Promise<T> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const timedOut = new Promise<never>((_, reject) => {
    deadline.signal.addEventListener('abort', () =>
      reject(new McpProbeTimeout(`MCP server "${name}" did not answer initialize + tools/list within ${timeoutMs} ms`)),
    );
  });
  let stopNow = (): void => undefined;
  const stopped = new Promise<never>((_, reject) => {
    stopNow = () => {
      reject(new BatonError(ErrorCodes.mcpUnavailable, `MCP server "${name}" was not up yet when its run stopped`));
      deadline.abort();
    };
  });
  if (stop?.aborted) stopNow();
  stop?.addEventListener('abort', stopNow, { once: true });
  try {
    const working = work(deadline.signal);
    working.catch(() => undefined); // after a timeout wins the race, its late failure is expected
    return await Promise.race([working, stopped, timedOut]);
  } catch (error) {
    if (error instanceof BatonError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new BatonError(ErrorCodes.mcpUnavailable, `MCP server "${name}" is not up: ${reason}`, { cause: error });
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener('abort', stopNow);
  }
}
