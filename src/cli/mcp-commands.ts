import { BatonError, ErrorCodes, SecretRedactor } from '../core/index.js';
import { analyzeRequirements, catalogFor, mcpSecretValues, startMcp, type ServerHealth } from '../mcp/index.js';
import { resolveAgent } from '../workflow/index.js';
import { type Output } from './commands.js';
import { effectiveConfig, loadWorkflowWithMcp, mcpSetup, type StoreOptions } from '../api/index.js';

interface McpCommandOptions extends StoreOptions {
  workflow?: string;
  json?: boolean;
}

/** The servers in reach: baton.config and `.mcp.json`, plus the workflow's when one is given. */
function catalogOf(options: McpCommandOptions) {
  const config = effectiveConfig(options);
  if (options.workflow) return { config, ...loadWorkflowWithMcp(options.workflow, config) };
  const mcpOptions = mcpSetup(config, [process.cwd()], process.cwd());
  return { config, mcpOptions, catalog: catalogFor(mcpOptions) };
}

/** `baton mcp analyze "<task>"`: which servers the task would get, and why. */
export async function mcpAnalyzeCommand(task: string, options: McpCommandOptions, output: Output): Promise<number> {
  const { catalog } = catalogOf(options);
  const analysis = analyzeRequirements(task, catalog);
  if (options.json) {
    output.stdout.write(`${JSON.stringify(analysis)}\n`);
    return 0;
  }
  if (analysis.servers.length === 0) output.stdout.write(`No MCP server needed (${catalog.size} in reach).\n`);
  for (const server of analysis.servers) {
    output.stdout.write(`${server.name}${server.kind ? ` (${server.kind})` : ''}: score ${server.score}\n`);
    for (const reason of server.reasons) output.stdout.write(`  - ${reason}\n`);
  }
  for (const suggestion of analysis.suggestions) {
    output.stdout.write(`not configured: a ${suggestion.kind} server would help\n`);
    for (const reason of suggestion.reasons) output.stdout.write(`  - ${reason}\n`);
  }
  for (const server of analysis.projectOnly) {
    const source = catalog.get(server.name)?.source ?? '.mcp.json';
    output.stdout.write(
      `${server.name}: matched, not chosen (from ${source}; name it in the agent's mcpServers to run it)\n`,
    );
    for (const reason of server.reasons) output.stdout.write(`  - ${reason}\n`);
  }
  return 0;
}

/** `baton mcp config <workflow> --agent <id>`: the MCP config that agent would get. */
export async function mcpConfigCommand(
  workflowPath: string,
  options: StoreOptions & { agent: string },
  output: Output,
): Promise<number> {
  const { workflow, dir, catalog, mcpOptions } = loadWorkflowWithMcp(workflowPath, effectiveConfig(options));
  const phase = workflow.phases.find((p) => p.agents.some((a) => a.id === options.agent));
  const entry = phase?.agents.find((a) => a.id === options.agent);
  if (!phase || !entry) {
    const ids = workflow.phases.flatMap((p) => p.agents.map((a) => a.id));
    throw new BatonError(
      ErrorCodes.usage,
      `No agent "${options.agent}" in ${workflowPath}. Agents: ${ids.join(', ')}.`,
    );
  }
  const resolved = resolveAgent(workflow, phase, entry, dir);
  const names = resolved.mcpServers ?? analyzeRequirements(resolved.prompt, catalog).servers.map((s) => s.name);
  const mcp = await startMcp(mcpOptions);
  try {
    const secrets = mcpSecretValues(catalog, process.env, mcpOptions.dataDir);
    output.hide?.(secrets);
    // The config as the agent gets it, with every secret value hidden: `${VAR}` names say where each comes from.
    const described = Object.fromEntries(names.map((name) => [name, mcp.manager.describe(name)]));
    const servers = SecretRedactor.fromEnvironment(process.env, secrets).redactDeep(described);
    output.stdout.write(`${JSON.stringify({ mcpServers: servers }, null, 2)}\n`);
  } finally {
    await mcp.close();
  }
  return 0;
}

function healthLine(h: ServerHealth): string {
  const detail = h.status === 'up' ? `${h.tools.length} tools` : (h.error?.message ?? 'down');
  return `${h.status === 'up' ? '✓' : '✗'} ${h.name.padEnd(16)} ${h.status.padEnd(4)} ${`${Math.round(h.latencyMs)} ms`.padStart(8)}  ${detail}`;
}

/** `baton mcp check`: preflight every server in reach (or the named ones), in parallel. Exit 1 when any is down. */
export async function mcpCheckCommand(names: string[], options: McpCommandOptions, output: Output): Promise<number> {
  const { catalog, mcpOptions } = catalogOf(options);
  const unknown = names.filter((n) => !catalog.has(n));
  if (unknown.length > 0)
    throw new BatonError(
      ErrorCodes.usage,
      `Unknown MCP server(s): ${unknown.join(', ')}. In reach: ${[...catalog.keys()].join(', ') || 'none'}.`,
    );
  // Built-in servers are checked when named (`baton mcp check baton`), not with every declared one.
  const targets =
    names.length > 0 ? names : [...catalog.values()].filter((s) => s.source !== 'built-in').map((s) => s.name);
  const mcp = await startMcp(mcpOptions);
  try {
    const health = await mcp.manager.check(targets);
    if (options.json) {
      const rows = health.map((h) => ({
        name: h.name,
        status: h.status,
        latencyMs: Math.round(h.latencyMs),
        tools: h.tools.length,
        attempts: h.attempts,
        breaker: h.breaker,
        ...(h.error ? { error: h.error } : {}),
      }));
      output.stdout.write(`${JSON.stringify(rows)}\n`);
    } else if (health.length === 0) {
      output.stdout.write(
        'No MCP servers configured (workflow mcpServers, .mcp.json, or mcp_servers in baton.config).\n',
      );
    } else {
      for (const h of health) output.stdout.write(`${healthLine(h)}\n`);
    }
    return health.every((h) => h.status === 'up') ? 0 : 1;
  } finally {
    await mcp.close();
  }
}
