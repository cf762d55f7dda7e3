import { dirname, resolve } from 'node:path';
import { ErrorCodes, parseYamlWithSchema, readUserFile } from '../core/index.js';
import { workflowSchema, type AgentEntry, type McpServerConfig, type PhaseSpec, type Workflow } from './schema.js';

export interface LoadedWorkflow {
  workflow: Workflow;
  /** Absolute path of the file. */
  path: string;
  /** Its directory: relative paths in the workflow resolve against it. */
  dir: string;
}

export function parseWorkflow(text: string, source: string): Workflow {
  return parseYamlWithSchema(text, workflowSchema, { source, code: ErrorCodes.workflowInvalid, what: 'Workflow' });
}

export function loadWorkflow(path: string): LoadedWorkflow {
  const absolute = resolve(path);
  const text = readUserFile(absolute, { code: ErrorCodes.workflowInvalid, what: 'Workflow file' });
  return { workflow: parseWorkflow(text, path), path: absolute, dir: dirname(absolute) };
}

/** An agent's effective settings: workflow defaults, overridden by the agent's own. */
export interface ResolvedAgent {
  id: string;
  phaseId: string;
  prompt: string;
  systemPrompt?: string;
  model?: string;
  timeoutMs?: number;
  maxBudgetUsd?: number;
  maxTurns?: number;
  allowedTools?: string[];
  disallowedTools?: string[];
  /** Absolute working directory. */
  cwd: string;
  env: Record<string, string>;
  /** Only the servers this agent named. */
  mcpServers: Record<string, McpServerConfig>;
  outputSchema?: Record<string, unknown>;
}

export function resolveAgent(workflow: Workflow, phase: PhaseSpec, agent: AgentEntry, workflowDir: string): ResolvedAgent {
  const defaults = workflow.defaults ?? {};
  const mcpServers: Record<string, McpServerConfig> = {};
  for (const name of agent.mcpServers ?? []) {
    const server = workflow.mcpServers?.[name];
    if (server) mcpServers[name] = server;
  }
  return {
    id: agent.id,
    phaseId: phase.id,
    prompt: agent.prompt,
    systemPrompt: agent.systemPrompt,
    model: agent.model ?? defaults.model,
    timeoutMs: agent.timeoutMs ?? defaults.timeoutMs,
    maxBudgetUsd: agent.maxBudgetUsd ?? defaults.maxBudgetUsd,
    maxTurns: agent.maxTurns ?? defaults.maxTurns,
    allowedTools: agent.allowedTools ?? defaults.allowedTools,
    disallowedTools: agent.disallowedTools ?? defaults.disallowedTools,
    cwd: resolve(workflowDir, agent.cwd ?? '.'),
    env: agent.env ?? {},
    mcpServers,
    outputSchema: agent.outputSchema,
  };
}
