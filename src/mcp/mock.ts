import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { McpLaunchConfig, MockTool } from './catalog.js';

interface MockedServer {
  tools: MockTool[];
  results: Record<string, string>;
}

export interface MockToolCall {
  server: string;
  tool: string;
  arguments: unknown;
}

/** The MCP SDK's server side, loaded when mock mode starts: other runs never pay for it. */
const serverSdk = async () => {
  const [{ Server }, { StreamableHTTPServerTransport }, { CallToolRequestSchema, ListToolsRequestSchema }] =
    await Promise.all([
      import('@modelcontextprotocol/sdk/server/index.js'),
      import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
      import('@modelcontextprotocol/sdk/types.js'),
    ]);
  return { Server, StreamableHTTPServerTransport, CallToolRequestSchema, ListToolsRequestSchema };
};
type ServerSdk = Awaited<ReturnType<typeof serverSdk>>;

function mcpServerFor(sdk: ServerSdk, name: string, mocked: MockedServer, calls: MockToolCall[]): Server {
  const { Server, CallToolRequestSchema, ListToolsRequestSchema } = sdk;
  const server = new Server({ name: `baton-mock-${name}`, version: '0.1.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: mocked.tools.map((t) => ({
      name: t.name,
      description: t.description ?? `Mock of ${name}.${t.name}`,
      inputSchema: t.inputSchema ?? { type: 'object' },
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, (request) => {
    const tool = request.params.name;
    if (!mocked.tools.some((t) => t.name === tool)) {
      return { isError: true, content: [{ type: 'text', text: `mock ${name} has no tool ${tool}` }] };
    }
    calls.push({ server: name, tool, arguments: request.params.arguments ?? {} });
    return { content: [{ type: 'text', text: mocked.results[tool] ?? `mock result of ${name}.${tool}` }] };
  });
  return server;
}

/**
 * `use_mock_mcp`: stand-ins for real MCP servers, served from inside Baton over Streamable HTTP.
 * Each offers the real server's tool names and answers calls with scripted text, so workflows that
 * need GitHub, Postgres and the like can be developed offline.
 */
export class MockMcpHost {
  readonly calls: MockToolCall[] = [];
  private readonly servers = new Map<string, MockedServer>();

  private constructor(
    private readonly sdk: ServerSdk,
    private readonly http: HttpServer,
    readonly baseUrl: string,
  ) {}

  static async start(host = '127.0.0.1'): Promise<MockMcpHost> {
    const sdk = await serverSdk();
    // Assigned once the port is known; a request may arrive sooner and then finds no host yet.
    // eslint-disable-next-line prefer-const -- a const would be read before it is set (TDZ) by such a request
    let mock: MockMcpHost | undefined;
    const http = createServer((req, res) => void mock?.handle(req, res));
    await new Promise<void>((resolve) => http.listen(0, host, resolve));
    const address = http.address();
    if (address === null || typeof address === 'string') throw new Error('mock MCP host has no TCP address');
    mock = new MockMcpHost(sdk, http, `http://${host}:${address.port}`);
    return mock;
  }

  /** Registers (or replaces) a mocked server; returns the config an agent connects with. */
  serve(name: string, tools: MockTool[], results: Record<string, string>): McpLaunchConfig {
    this.servers.set(name, { tools, results });
    return { type: 'http', url: `${this.baseUrl}/mcp/${encodeURIComponent(name)}` };
  }

  async close(): Promise<void> {
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = /^\/mcp\/([^/?]+)/.exec(req.url ?? '');
    const name = match ? decodeURIComponent(match[1] ?? '') : '';
    const mocked = this.servers.get(name);
    if (!mocked) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: `no mock MCP server "${name}"` }));
      return;
    }
    if (req.method !== 'POST') {
      // Stateless: no server-initiated streams or sessions to resume or delete.
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const server = mcpServerFor(this.sdk, name, mocked, this.calls);
    const transport = new this.sdk.StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  }
}
