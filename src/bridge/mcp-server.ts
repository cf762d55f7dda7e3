import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { isBatonError } from '../core/index.js';
import type { KnowledgeGraph, RunTenant } from '../knowledge/index.js';
import { fetchBridge, type BridgeEndpoint } from './client.js';
import type { BridgeEvent } from './protocol.js';
import type { FileDiagnostics, IdeState } from './state.js';

export interface BatonMcpServerOptions {
  /** Where the bridge is; asked on every call, so a bridge started after the agent is still found. */
  bridge: () => BridgeEndpoint;
  /** Opens the knowledge graph; called on the first knowledge tool call only. */
  openKnowledge: () => Promise<KnowledgeGraph>;
  /** The run and agent this server works for, as defaults for the knowledge tools. */
  runId?: string;
  agentId?: string;
  /**
   * Set when Baton gave this server to an agent of a run: the knowledge tools then work for that run
   * and tenant only, whatever the agent asks (no run or agent arguments), and see only its tenant's facts.
   */
  scope?: AgentScope & { runTenant: RunTenant };
  /** Takes secrets out of what an agent records, before it is stored, and out of every answer. */
  redact?: (text: string) => string;
}

/** Who an agent works for: set by Baton in the environment of the `baton` MCP server it gives the agent. */
export interface AgentScope {
  runId: string;
  agentId?: string;
  tenant: string;
}

/** The knowledge graph's code loads on first use: it brings a TypeScript parser, and IDE tools need none of it. */
const knowledgeModule = () => import('../knowledge/index.js');

/** Longest diff `recent_changes` shows per change: agents read the file for more. */
const MAX_DIFF_CHARS = 4000;

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });
const json = (value: unknown): CallToolResult => text(JSON.stringify(value, null, 2));

/** A tool's failure as the model should see it: the message, not a stack. */
async function answer(fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (error) {
    const message = isBatonError(error)
      ? `${error.message} (${error.code})`
      : error instanceof Error
        ? error.message
        : String(error);
    return { isError: true, content: [{ type: 'text', text: message }] };
  }
}

const query = (params: Record<string, string | number | undefined>): string => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  return search.size > 0 ? `?${search.toString()}` : '';
};

/** Opens the knowledge graph on first use (scoped to the agent's tenant when there is a scope). */
function lazyKnowledge(options: BatonMcpServerOptions): {
  knowledge: () => Promise<KnowledgeGraph>;
  close: () => Promise<void>;
} {
  const { scope } = options;
  let graph: Promise<KnowledgeGraph> | undefined;
  const knowledge = (): Promise<KnowledgeGraph> => {
    graph ??= options
      .openKnowledge()
      .then(async (opened) =>
        scope ? (await knowledgeModule()).tenantGraph(opened, scope.tenant, scope.runTenant) : opened,
      );
    // A failed open is retried on the next call rather than remembered.
    graph.catch(() => (graph = undefined));
    return graph;
  };
  const close = async (): Promise<void> => {
    if (graph) await (await graph.catch(() => undefined))?.close();
  };
  return { knowledge, close };
}

/** What the IDE shows right now, from the Context Bridge. */
function registerIdeTools(server: McpServer, bridge: () => BridgeEndpoint): void {
  server.registerTool(
    'ide_state',
    {
      description:
        "What the developer's IDE shows right now, from Baton's Context Bridge: open files, the active file, the selection (with its text), a diagnostics summary (errors and warnings per file), git branch and changed files, and the tail of terminal output.",
      inputSchema: {},
    },
    () => answer(async () => json(await fetchBridge<IdeState>(bridge(), '/state'))),
  );
}

/** One `file.changed` event as `recent_changes` shows it, its diff cut to MAX_DIFF_CHARS. */
function describeChange({ seq, at, source, event }: BridgeEvent) {
  const diff = event.type === 'file.changed' ? event.diff : undefined;
  return {
    seq,
    at: new Date(at).toISOString(),
    source,
    ...(event.type === 'file.changed' ? { path: event.path, change: event.change } : {}),
    ...(diff !== undefined
      ? {
          diff:
            diff.length > MAX_DIFF_CHARS
              ? `${diff.slice(0, MAX_DIFF_CHARS)}\n… (${diff.length - MAX_DIFF_CHARS} more characters)`
              : diff,
        }
      : {}),
  };
}

/** The code's recent history and health: files changed (with diffs) and current diagnostics, from the bridge. */
function registerContextTools(server: McpServer, bridge: () => BridgeEndpoint): void {
  server.registerTool(
    'recent_changes',
    {
      description:
        'Files changed recently in the IDE or on disk, newest last, each with its unified diff when known, from the Context Bridge.',
      inputSchema: {
        path: z.string().min(1).optional().describe('only paths matching this glob, e.g. **/src/** or *.ts'),
        since: z.number().int().min(0).optional().describe('only changes after this bridge sequence number'),
        limit: z.number().int().min(1).max(200).default(20).describe('at most this many, the newest'),
      },
    },
    ({ path, since, limit }) =>
      answer(async () => {
        const { events, latestSeq } = await fetchBridge<{ events: BridgeEvent[]; latestSeq: number }>(
          bridge(),
          `/events${query({ types: 'file.changed', paths: path, since, limit })}`,
        );
        return json({ latestSeq, changes: events.map(describeChange) });
      }),
  );

  server.registerTool(
    'diagnostics',
    {
      description:
        'Current compiler and linter diagnostics reported by the IDE (or the watcher), per file, from the Context Bridge.',
      inputSchema: {
        path: z.string().min(1).optional().describe('only files matching this glob'),
        severity: z
          .enum(['error', 'warning', 'info', 'hint'])
          .optional()
          .describe('this severity and worse; all by default'),
      },
    },
    ({ path, severity }) =>
      answer(async () => {
        const { files } = await fetchBridge<{ files: FileDiagnostics[] }>(
          bridge(),
          `/diagnostics${query({ paths: path, severity })}`,
        );
        return files.length === 0 ? text('No diagnostics.') : json(files);
      }),
  );
}

/** What the team knows: asking the knowledge graph and recording decisions and findings in it. */
function registerKnowledgeTools(
  server: McpServer,
  options: BatonMcpServerOptions,
  knowledge: () => Promise<KnowledgeGraph>,
): void {
  const { scope } = options;
  const redact = options.redact ?? ((value: string) => value);
  server.registerTool(
    'query_knowledge',
    {
      description:
        'Ask the project\'s knowledge graph (code structure and what agents decided or found), e.g. "what imports src/x.ts", "what was decided about the cache", "how is A related to B".',
      inputSchema: {
        question: z.string().min(1).max(2000),
        ...(scope ? {} : { runId: z.string().min(1).optional().describe('the run "this run" refers to') }),
      },
    },
    (args) =>
      answer(async () => {
        const { answerQuestion } = await knowledgeModule();
        const runId = scope?.runId ?? (args as { runId?: string }).runId ?? options.runId;
        const found = await answerQuestion(await knowledge(), args.question, { ...(runId ? { runId } : {}) });
        // A graph built before secrets were taken out, or facts quoting what is secret here, still say none.
        return text(redact(`${found.text}\n\n(read as: ${found.interpretation})`));
      }),
  );

  server.registerTool(
    'add_knowledge',
    {
      description:
        'Record a decision or a finding in the knowledge graph, linked to the files or symbols it is about, so later agents and people can find it.',
      inputSchema: {
        kind: z.enum(['decision', 'finding']),
        text: z.string().min(1).max(10_000).describe('what was decided or found, and why'),
        about: z.array(z.string().min(1)).max(50).optional().describe('file paths or symbol names it concerns'),
        ...(scope ? {} : { runId: z.string().min(1).optional(), agentId: z.string().min(1).optional() }),
      },
    },
    ({ kind, text: body, about, ...given }) =>
      answer(async () => {
        const { runId, agentId } = given;
        const run = scope ? scope.runId : (runId ?? options.runId);
        const agent = scope ? scope.agentId : (agentId ?? options.agentId);
        const { addKnowledge } = await knowledgeModule();
        const entity = await addKnowledge(await knowledge(), {
          kind,
          text: redact(body),
          ...(about ? { about: about.map(redact) } : {}),
          ...(run ? { runId: run } : {}),
          ...(agent ? { agentId: agent } : {}),
        });
        return text(`Recorded ${entity.kind} ${entity.id}: ${entity.name}`);
      }),
  );
}

/**
 * Baton's own MCP server: what the IDE shows (through the Context Bridge) and what the team knows
 * (the knowledge graph), as tools any agent can be given.
 */
export function createBatonMcpServer(options: BatonMcpServerOptions): {
  server: McpServer;
  close: () => Promise<void>;
} {
  const server = new McpServer({ name: 'baton', version: '0.1.0' });
  const graph = lazyKnowledge(options);
  registerIdeTools(server, options.bridge);
  registerContextTools(server, options.bridge);
  registerKnowledgeTools(server, options, graph.knowledge);
  return {
    server,
    close: async () => {
      await server.close();
      await graph.close();
    },
  };
}

/** Serves Baton's MCP server over stdio until the client goes away or the signal aborts. */
export async function serveBatonMcpStdio(options: BatonMcpServerOptions & { signal?: AbortSignal }): Promise<void> {
  const { server, close } = createBatonMcpServer(options);
  const transport = new StdioServerTransport();
  const done = new Promise<void>((resolve) => {
    // The client closing our stdin is how an MCP stdio session ends.
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
    transport.onclose = resolve;
    options.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.connect(transport);
  await done;
  await close();
}
