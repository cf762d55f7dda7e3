// An agent's side of tool calls, in a process of its own as `claude` is (`callOverhead` in
// bench/mcp.ts starts it): connects to one MCP server, over Streamable HTTP (the gateway's config)
// or stdio (a private copy it starts), makes `warmUp` unmeasured pings, then prints the latencies
// of `calls` more as a JSON array.
import type { McpLaunchConfig } from '../src/mcp/index.js';
import { httpClient, stdioClient } from './mcp-clients.js';

const { server, calls, warmUp } = JSON.parse(process.argv[2]!) as {
  server: McpLaunchConfig;
  calls: number;
  warmUp: number;
};
const client = 'url' in server ? await httpClient(server) : (await stdioClient(server)).client;
const latencies: number[] = [];
for (let i = 0; i < warmUp + calls; i++) {
  const started = performance.now();
  await client.callTool({ name: 'ping', arguments: {} });
  if (i >= warmUp) latencies.push(performance.now() - started);
}
await client.close();
process.stdout.write(JSON.stringify(latencies));
