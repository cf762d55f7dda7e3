import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isEnvReference, REDACTED } from '../core/index.js';
import type { McpLaunchConfig } from './catalog.js';
import type { AgentMcpPlan, McpManager } from './manager.js';

/**
 * Where Baton's own MCP server learns whom it works for. Baton sets these in that server's environment
 * for each agent; the agent's tool arguments cannot change them.
 */
export const agentScopeEnv = {
  runId: 'BATON_SCOPE_RUN_ID',
  agentId: 'BATON_SCOPE_AGENT_ID',
  tenant: 'BATON_SCOPE_TENANT',
} as const;

export interface AgentMcpConfigRequest {
  dataDir: string;
  runId: string;
  agentId: string;
  tenant: string;
  mcp: McpManager;
  plan: AgentMcpPlan;
}

/** `${VAR}` references say where a value comes from; anything else written in an env or header may be a secret. */
const withoutLiterals = (values: Record<string, string> | undefined) =>
  values && Object.fromEntries(Object.entries(values).map(([k, v]) => [k, isEnvReference(v) ? v : REDACTED]));

/** A server's config as it may be written to disk: references kept, literal env and header values hidden. */
function inspectable(config: McpLaunchConfig): McpLaunchConfig {
  if ('command' in config) return { ...config, ...(config.env ? { env: withoutLiterals(config.env) } : {}) };
  return { ...config, ...(config.headers ? { headers: withoutLiterals(config.headers) } : {}) };
}

/**
 * The MCP servers an agent starts with, made final: Baton's own server is scoped to the agent's run and
 * tenant (through its environment), and `data_dir/runs/<run>/mcp/<agent>.json` records the config for
 * inspection — `${VAR}` references only, no literal secret, readable by this user only. The expanded
 * config goes to the agent over its stdin, never to disk.
 */
export async function finishAgentMcpConfig(request: AgentMcpConfigRequest): Promise<AgentMcpPlan> {
  const { mcp, plan } = request;
  const scope = {
    [agentScopeEnv.runId]: request.runId,
    [agentScopeEnv.agentId]: request.agentId,
    [agentScopeEnv.tenant]: request.tenant,
  };
  const servers = Object.fromEntries(
    Object.entries(plan.servers).map(([name, config]) => [
      name,
      mcp.isBuiltIn(name) && 'command' in config ? { ...config, env: { ...config.env, ...scope } } : config,
    ]),
  );
  const dir = join(request.dataDir, 'runs', request.runId, 'mcp');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const described = Object.fromEntries(Object.keys(servers).map((name) => [name, inspectable(mcp.describe(name))]));
  await writeFile(join(dir, `${request.agentId}.json`), `${JSON.stringify({ mcpServers: described }, null, 2)}\n`, {
    mode: 0o600,
  });
  return { ...plan, servers };
}
