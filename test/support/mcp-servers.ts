import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Script } from '../../src/model-server/index.js';
import type { ScriptedModel } from './scripted-model.js';

const packages = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/', import.meta.url));

/** Entry points of the MCP servers from npm that the tests run for real. */
export const npmServers = {
  memory: `${packages}server-memory/dist/index.js`,
  filesystem: `${packages}server-filesystem/dist/index.js`,
  everything: `${packages}server-everything/dist/index.js`,
};

/**
 * A launcher script for any stdio server (its arguments): it starts the server as its child and waits,
 * ignoring SIGTERM, and leaves a daemonized helper behind (see the script), as `npx`-like launchers
 * and servers that start helpers do.
 */
export const serverLauncher = fileURLToPath(new URL('../fixtures/wrapped-mcp-server.sh', import.meta.url));

/**
 * A Node stdio server's `command` and `args` for a workflow's YAML flow map: `node <script> <args>`,
 * or, when `launched`, the same started through `serverLauncher`.
 */
export function nodeServerYaml(script: string, args: string[] = [], launched = false): string {
  const argv = [process.execPath, script, ...args];
  const [command, ...rest] = launched ? [serverLauncher, ...argv] : argv;
  return `command: ${command}, args: [${rest.join(', ')}]`;
}

/**
 * Two rules of a model script: an agent whose prompt has `prompt` calls `tool` on its first turn,
 * then answers `text` — streamed a chunk every `chunkDelayMs` when given, so a test can act while the
 * agent and its servers still run.
 */
export function toolThenText(
  prompt: string,
  tool: { name: string; input: Record<string, unknown> },
  text: string,
  chunkDelayMs?: number,
): Script['rules'] {
  return [
    { match: { prompt, turn: 1 }, reply: { toolUse: tool }, sequencePer: 'script' },
    { match: { prompt }, reply: { text, ...(chunkDelayMs ? { chunkDelayMs } : {}) }, sequencePer: 'script' },
  ];
}

/**
 * The environment of a `baton` command with MCP servers: the store under the model's home (`data`),
 * MCP tools listed up front, a minute for a server to start on a busy machine.
 */
export const mcpCliEnv = (model: ScriptedModel, extra: Record<string, string> = {}): NodeJS.ProcessEnv =>
  model.home.cliEnv(model.url, {
    BATON_DATA_DIR: join(model.home.dir, 'data'),
    ENABLE_TOOL_SEARCH: 'false',
    MCP_TIMEOUT: '60000',
    ...extra,
  });

/** The memory server's launch date, stored by one agent and read by another. */
export const launchDateRules: Script['rules'] = [
  ...toolThenText(
    'Store the launch',
    {
      name: 'mcp__memory__create_entities',
      input: { entities: [{ name: 'Launch', entityType: 'event', observations: ['set for March 3'] }] },
    },
    'Stored.',
  ),
  ...toolThenText('Read the launch', { name: 'mcp__memory__read_graph', input: {} }, 'Read it.'),
  ...toolThenText('Read the notes', { name: 'mcp__files__list_directory', input: { path: '.' } }, 'Listed.'),
];
