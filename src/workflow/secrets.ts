import { BatonError, ErrorCodes, isEnvReference, REDACTED } from '../core/index.js';
import type { Workflow } from './schema.js';

/**
 * The literal values of the workflow's agent env: secrets as far as Baton can tell, kept out of the
 * store (the stored workflow holds `[REDACTED]` instead) and out of every output.
 */
export function workflowEnvValues(workflow: Workflow): string[] {
  return workflow.phases.flatMap((phase) =>
    phase.agents.flatMap((agent) => Object.values(agent.env ?? {}).filter((value) => !isEnvReference(value))),
  );
}

type Values = Record<string, string> | undefined;
const anyHidden = (values: Values): boolean => Object.values(values ?? {}).some((v) => v.includes(REDACTED));

/** `values` with each hidden one taken from `original`; the first key that cannot be restored is thrown as `what`. */
function restored(values: Values, original: Values, what: string, runId: string): Values {
  if (!values || !anyHidden(values)) return values;
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => {
      const found = value.includes(REDACTED) ? original?.[key] : value;
      if (found === undefined)
        throw new BatonError(
          ErrorCodes.runNotResumable,
          `Run ${runId}: ${what} ${key} was a secret, so it was not stored, and the workflow file no longer has it. Run the workflow again instead.`,
        );
      return [key, found];
    }),
  );
}

/**
 * A stored workflow made runnable again: agent env and MCP env and header values hidden when it was
 * stored are taken from the workflow file it came from (read only when needed).
 */
export function restoreWorkflowEnv(stored: Workflow, fromFile: () => Workflow | undefined, runId: string): Workflow {
  const servers = Object.values(stored.mcpServers ?? {});
  const agents = stored.phases.flatMap((phase) => phase.agents);
  const needed =
    agents.some((agent) => anyHidden(agent.env)) ||
    servers.some(
      (server) =>
        anyHidden('env' in server ? server.env : undefined) ||
        anyHidden('headers' in server ? server.headers : undefined),
    );
  if (!needed) return stored;
  const file = fromFile();
  const mcpServers =
    stored.mcpServers &&
    Object.fromEntries(
      Object.entries(stored.mcpServers).map(([name, server]) => {
        const original = file?.mcpServers?.[name];
        const pick = (field: 'env' | 'headers'): Values =>
          (original as Partial<Record<'env' | 'headers', Values>> | undefined)?.[field];
        const env = 'env' in server ? restored(server.env, pick('env'), `MCP server ${name}'s env`, runId) : undefined;
        const headers =
          'headers' in server
            ? restored(server.headers, pick('headers'), `MCP server ${name}'s header`, runId)
            : undefined;
        return [name, { ...server, ...(env ? { env } : {}), ...(headers ? { headers } : {}) }];
      }),
    );
  const phases = stored.phases.map((phase) => ({
    ...phase,
    agents: phase.agents.map((agent) => {
      const original = file?.phases.find((p) => p.id === phase.id)?.agents.find((a) => a.id === agent.id)?.env;
      const env = restored(agent.env, original, `agent ${agent.id}'s env`, runId);
      return env ? { ...agent, env } : agent;
    }),
  }));
  return { ...stored, phases, ...(mcpServers ? { mcpServers } : {}) };
}
