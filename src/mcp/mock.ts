import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { HttpError, startHttpServer, type HttpService } from '../http/index.js';
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
    private readonly http: HttpService,
    readonly baseUrl: string,
  ) {}

  static async start(host = '127.0.0.1'): Promise<MockMcpHost> {
    const sdk = await serverSdk();
    // Assigned once the port is known; a request may arrive sooner and then finds no host yet.
    // eslint-disable-next-line prefer-const -- a const would be read before it is set (TDZ) by such a request
    let mock: MockMcpHost | undefined;
    const http = await startHttpServer({
      host,
      port: 0,
      routes: [
        // Stateless: no server-initiated streams or sessions to resume or delete, so POST only.
        {
          method: 'POST',
          path: /^\/mcp\/([^/]+)$/,
          handle: ({ req, res, params }) => mock?.handle(params[0] ?? '', req, res),
        },
      ],
      listenError: (cause) => new Error(`the mock MCP host could not listen on ${host}: ${cause.message}`),
    });
    mock = new MockMcpHost(sdk, http, http.url);
    return mock;
  }

  /** Registers (or replaces) a mocked server; returns the config an agent connects with. */
  serve(name: string, tools: MockTool[], results: Record<string, string>): McpLaunchConfig {
    this.servers.set(name, { tools, results });
    return { type: 'http', url: `${this.baseUrl}/mcp/${encodeURIComponent(name)}` };
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private async handle(name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const mocked = this.servers.get(name);
    if (!mocked) throw new HttpError(404, 'not_found', `no mock MCP server "${name}"`);
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
