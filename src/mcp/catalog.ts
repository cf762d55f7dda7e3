import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import {
  BatonError,
  ErrorCodes,
  maxEnvValueBytes,
  parseYamlWithSchema,
  processEnvSchema,
  readUserFile,
  secretArgumentValues,
} from '../core/index.js';
import { agentScopeEnv } from './agent-config.js';
import { mcpMarkerVariable } from './upstream.js';

/** What HTTP carries as a header (RFC 9110 token names; no line break in a value), so none fails at run time. */
const headerNameSchema = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, {
  message: 'a header name is letters, digits and - (no spaces or colons), such as Authorization or X-Api-Key',
});
const headerValueSchema = z.string().refine((value) => !/[\r\n\0]/.test(value), {
  error: 'a header value cannot hold a line break or NUL',
});

/** A scripted stand-in for a server's tool, for `use_mock_mcp`. */
export const mockToolSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    inputSchema: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** The header every request to Baton's MCP gateway must carry, with the run's secret. */
export const gatewayTokenHeader = 'x-baton-gateway-token';

/**
 * Who shares a stdio server's process: `run` = one process for the whole run, reached through
 * Baton's MCP gateway; `agent` = a private process per agent, started by its `claude`.
 */
export const mcpScopeSchema = z.enum(['run', 'agent']);
export type McpScope = z.output<typeof mcpScopeSchema>;

const batonFields = {
  /** What the server is for, in words the task analysis matches (e.g. `issues`, `sql`). */
  capabilities: z.array(z.string().min(1)).optional(),
  /** Extra words or phrases in a task that call for this server. */
  keywords: z.array(z.string().min(1)).optional(),
  /** Mock mode: the tools to offer (else the last recorded tools/list) and what each call returns. */
  mock: z
    .object({
      tools: z.array(mockToolSchema).optional(),
      results: z.record(z.string(), z.string()).optional(),
    })
    .strict()
    .optional(),
};

/** A command or argument of a process: no NUL (no process can be given one), within one argument's size. */
const commandLineText = z
  .string()
  .refine((value) => !value.includes('\0'), { message: 'a command-line argument cannot hold a NUL character' })
  .refine((value) => Buffer.byteLength(value) <= maxEnvValueBytes, {
    message: `too long for a command line (at most ${maxEnvValueBytes} bytes)`,
  });

/** An MCP server as Claude Code's `.mcp.json` describes it, plus Baton's optional hints. */
export const mcpServerSchema = z.union([
  z
    .object({
      type: z.literal('stdio').optional(),
      command: commandLineText.min(1),
      args: z.array(commandLineText).optional(),
      // What the server's process environment can hold, or it would fail to start (E2BIG) after validation.
      env: processEnvSchema.optional(),
      /** See `mcpScopeSchema`; the default is decided by `McpManager.scope`. */
      scope: mcpScopeSchema.optional(),
      ...batonFields,
    })
    .strict(),
  z
    .object({
      type: z.enum(['http', 'sse']),
      // Checked unless it holds a ${VAR}, which only the run's environment completes.
      url: z
        .string()
        .min(1)
        .refine((url) => url.includes('${') || (URL.canParse(url) && /^https?:$/.test(new URL(url).protocol)), {
          error: 'is not an http(s) URL; give one such as https://mcp.example.com/mcp',
        }),
      headers: z.record(headerNameSchema, headerValueSchema).optional(),
      scope: mcpScopeSchema.optional(),
      ...batonFields,
    })
    .strict()
    // Refused rather than ignored: a remote server has no process of Baton's to share or keep private.
    .refine((entry) => entry.scope === undefined, {
      path: ['scope'],
      error: 'scope applies to stdio servers only (a remote server runs no process here); remove it',
    }),
]);

export type McpServerEntry = z.output<typeof mcpServerSchema>;
export type MockTool = z.output<typeof mockToolSchema>;

/** The part of an entry Claude Code understands, with `${VAR}` references expanded. */
export type McpLaunchConfig =
  | { type?: 'stdio'; command: string; args?: string[]; env?: Record<string, string> }
  | { type: 'http' | 'sse'; url: string; headers?: Record<string, string> };

export interface CatalogServer {
  name: string;
  /** Where it was declared: 'workflow', a `.mcp.json` path, 'config', or 'built-in'. */
  source: string;
  entry: McpServerEntry;
}

/** Every MCP server a run may use, by name. Later sources override earlier ones. */
export type McpCatalog = ReadonlyMap<string, CatalogServer>;

/**
 * An MCP server's name: it becomes part of its tools' names (`mcp__<name>__<tool>`) and of files under
 * data_dir (its recorded tool list), so it is held to what both can carry — never a path.
 */
export const mcpServerNameSchema = z
  .string()
  .max(64, { message: 'an MCP server name has at most 64 characters' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
    message: 'an MCP server name uses letters, digits, "-", "_" and ".", starting with a letter or digit',
  });

/** MCP servers by name, as `.mcp.json`, a workflow and baton.config declare them. */
export const mcpServersSchema = z.record(mcpServerNameSchema, mcpServerSchema);

const mcpJsonSchema = z.object({ mcpServers: mcpServersSchema.default({}) }).passthrough();

/** Reads a project's `.mcp.json` (Claude Code's format), if there is one. */
export function readMcpJson(path: string): Record<string, McpServerEntry> {
  if (!existsSync(path)) return {};
  const text = readUserFile(path, { code: ErrorCodes.mcpConfigInvalid, what: 'MCP config' });
  return parseYamlWithSchema(text, mcpJsonSchema, {
    source: path,
    code: ErrorCodes.mcpConfigInvalid,
    what: 'MCP config',
  }).mcpServers;
}

export interface CatalogSources {
  /** `mcp_servers` from baton.config. */
  config?: Record<string, McpServerEntry>;
  /** Directories whose `.mcp.json` to read, lowest precedence first (e.g. cwd, then the workflow's directory). */
  projectDirs?: string[];
  /** The workflow's own `mcpServers`: highest precedence. */
  workflow?: Record<string, McpServerEntry>;
  /** The data_dir Baton's own server (`baton`) reads: its Context Bridge and knowledge graph. */
  dataDir?: string;
}

/**
 * Baton's own MCP server (`baton mcp-server`: IDE state from the Context Bridge, the knowledge
 * graph), started with this Node and this copy of Baton: built (`dist/`) or from source through tsx.
 */
export function batonServerEntry(dataDir?: string): McpServerEntry {
  const fromSource = import.meta.url.endsWith('.ts');
  // Built: the executable, which loads the bundled CLI (its start-up is paid again by every agent given this server).
  const cli = fileURLToPath(new URL(fromSource ? '../cli/main.ts' : '../cli/bin.js', import.meta.url));
  // tsx by absolute URL: the server runs in the agent's directory, where `--import tsx` would not resolve.
  const loader = fromSource ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
  return {
    command: process.execPath,
    args: [...loader, cli, 'mcp-server', ...(dataDir ? ['--data-dir', dataDir] : [])],
    capabilities: ['ide', 'ide state', 'open files', 'diagnostics', 'knowledge graph'],
    keywords: [
      'editor',
      'selection',
      'selected code',
      'recent changes',
      'compiler errors',
      'what was decided',
      'record the decision',
    ],
  };
}

export function buildCatalog(sources: CatalogSources): McpCatalog {
  const catalog = new Map<string, CatalogServer>();
  const add = (servers: Record<string, McpServerEntry> | undefined, source: string): void => {
    for (const [name, entry] of Object.entries(servers ?? {})) catalog.set(name, { name, source, entry });
  };
  // Built-in first, so a server of the same name declared anywhere replaces it.
  add({ baton: batonServerEntry(sources.dataDir) }, 'built-in');
  add(sources.config, 'config');
  const seen = new Set<string>();
  for (const dir of sources.projectDirs ?? []) {
    const path = join(resolve(dir), '.mcp.json');
    if (seen.has(path)) continue;
    seen.add(path);
    add(readMcpJson(path), path);
  }
  add(sources.workflow, 'workflow');
  return catalog;
}

const variablePattern = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Expands `${VAR}` and `${VAR:-default}` as Claude Code does; a missing variable names the server. */
function expand(value: string, server: string, env: NodeJS.ProcessEnv): string {
  return value.replace(variablePattern, (_, name: string, fallback: string | undefined) => {
    const found = env[name];
    if (found !== undefined) return found;
    if (fallback !== undefined) return fallback;
    throw new BatonError(
      ErrorCodes.mcpConfigInvalid,
      `MCP server "${server}" needs the environment variable ${name}, which is not set. Set it, or give a default with \${${name}:-value}.`,
    );
  });
}

const expandAll = (values: Record<string, string> | undefined, server: string, env: NodeJS.ProcessEnv) =>
  values && Object.fromEntries(Object.entries(values).map(([k, v]) => [k, expand(v, server, env)]));

/** An entry as Claude Code's `.mcp.json` would hold it: Baton's hints removed, `${VAR}` left as written. */
export function templateConfig(entry: McpServerEntry): McpLaunchConfig {
  const { capabilities: _capabilities, keywords: _keywords, mock: _mock, scope: _scope, ...config } = entry;
  return config;
}

/** The config Claude Code gets for a server: Baton's hints removed, variables expanded. */
export function launchConfig(server: CatalogServer, env: NodeJS.ProcessEnv): McpLaunchConfig {
  const { name } = server;
  const config = templateConfig(server.entry);
  if ('command' in config) {
    return {
      ...config,
      command: expand(config.command, name, env),
      ...(config.args ? { args: config.args.map((a) => expand(a, name, env)) } : {}),
      ...(config.env ? { env: expandAll(config.env, name, env) } : {}),
    };
  }
  return {
    ...config,
    url: expand(config.url, name, env),
    ...(config.headers ? { headers: expandAll(config.headers, name, env) } : {}),
  };
}

/**
 * What Baton itself sets on the servers it starts: who they are (its marker, the agent's run, agent and
 * tenant for its own server) and where Node caches compiled code. None is a secret: hiding them blanked
 * server names, tool names, agent ids and tenants in tool-call records, spans and metrics.
 */
const batonOwnVariables: ReadonlySet<string> = new Set([
  mcpMarkerVariable,
  'NODE_COMPILE_CACHE',
  ...Object.values(agentScopeEnv),
]);

/** The values of one launched server's env, secret-named flags or headers: what it must keep to itself. */
export const launchSecretValues = (config: McpLaunchConfig): string[] =>
  'command' in config
    ? [
        ...Object.entries(config.env ?? {})
          .filter(([name]) => !batonOwnVariables.has(name))
          .map(([, value]) => value),
        ...secretArgumentValues(config.args ?? []),
      ]
    : Object.values(config.headers ?? {});
