// The agent's side of an MCP server in the benchmarks: the MCP SDK's client, as `claude` has it.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { McpLaunchConfig, McpServerEntry } from '../src/mcp/index.js';

/** An agent's side of the gateway: the MCP SDK client over Streamable HTTP, with the config claude gets. */
export async function httpClient(config: McpLaunchConfig): Promise<Client> {
  if (!('url' in config)) throw new Error('expected the gateway to serve this server');
  const client = new Client({ name: 'bench-agent', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: config.headers } }),
  );
  return client;
}

/** A private stdio server, as `claude` starts one per agent without the gateway. */
export async function stdioClient(
  entry: McpServerEntry | McpLaunchConfig,
): Promise<{ client: Client; pid: () => number | null }> {
  if (!('command' in entry)) throw new Error('expected a stdio server');
  const transport = new StdioClientTransport({ command: entry.command, args: entry.args, stderr: 'ignore' });
  const client = new Client({ name: 'bench-agent', version: '1' });
  await client.connect(transport);
  return { client, pid: () => transport.pid };
}
