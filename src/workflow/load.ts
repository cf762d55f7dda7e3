import { dirname, resolve } from 'node:path';
import { BatonError, ErrorCodes, parseYamlWithSchema, readUserFile, validateData } from '../core/index.js';
import type { McpUnavailablePolicy } from '../mcp/index.js';
import type { PermissionsInput } from '../permissions/index.js';
import { referenceProblems, workflowReferenceView } from './references.js';
import { makeWorkflowSchema, type AgentEntry, type InheritMode, type PhaseSpec, type Workflow } from './schema.js';

export interface LoadedWorkflow {
  workflow: Workflow;
  /** Absolute path of the file. */
  path: string;
  /** Its directory: relative paths in the workflow resolve against it. */
  dir: string;
}

/** The phases a phase inherits context from: its dependencies and theirs, in workflow order. */
export function ancestorPhases(
  workflow: { phases: ReadonlyArray<{ id: string; dependsOn?: string[] }> },
  phaseId: string,
): string[] {
  const byId = new Map(workflow.phases.map((p) => [p.id, p]));
  const found = new Set<string>();
  const pending = [phaseId];
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    for (const dep of byId.get(id)?.dependsOn ?? []) {
      if (found.has(dep)) continue;
      found.add(dep);
      pending.push(dep);
    }
  }
  return workflow.phases.map((p) => p.id).filter((id) => found.has(id));
}

export interface ParseWorkflowOptions {
  /** MCP server names declared outside the workflow (.mcp.json, baton.config) that agents may name. */
  externalMcpServers?: ReadonlySet<string>;
}

const workflowChecks = (source: string, options: ParseWorkflowOptions) => ({
  source,
  code: ErrorCodes.workflowInvalid,
  what: 'Workflow',
  alsoCheck: (data: unknown) =>
    referenceProblems(workflowReferenceView.parse(data), options.externalMcpServers ?? new Set<string>()),
});

export function parseWorkflow(text: string, source: string, options: ParseWorkflowOptions = {}): Workflow {
  return parseYamlWithSchema(text, makeWorkflowSchema(options.externalMcpServers), workflowChecks(source, options));
}

/** A workflow given as data (defined in code, or stored with a run): problems are named by field, with no line. */
export function checkWorkflowData(data: unknown, source: string, options: ParseWorkflowOptions = {}): Workflow {
  return validateData(makeWorkflowSchema(options.externalMcpServers), data, workflowChecks(source, options));
}

export function loadWorkflow(path: string, options: ParseWorkflowOptions = {}): LoadedWorkflow {
  const absolute = resolve(path);
  const text = readUserFile(absolute, { code: ErrorCodes.workflowInvalid, what: 'Workflow file' });
  return { workflow: parseWorkflow(text, path, options), path: absolute, dir: dirname(absolute) };
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
  /** Permission blocks from the broadest (workflow defaults) to the agent's own. */
  permissionLevels: Array<PermissionsInput | undefined>;
  /** Absolute working directory. */
  cwd: string;
  env: Record<string, string>;
  /** The MCP servers the agent named; undefined means Baton picks them from the task. */
  mcpServers?: string[];
  onMcpUnavailable: McpUnavailablePolicy;
  /** How the agent inherits earlier agents' context: the agent's, else its phase's, else the workflow's. */
  inherit: InheritMode;
  outputSchema?: Record<string, unknown>;
}

export function resolveAgent(
  workflow: Workflow,
  phase: PhaseSpec,
  agent: AgentEntry,
  workflowDir: string,
): ResolvedAgent {
  const defaults = workflow.defaults ?? {};
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
    permissionLevels: [defaults.permissions, phase.permissions, agent.permissions],
    cwd: resolve(workflowDir, agent.cwd ?? '.'),
    env: agent.env ?? {},
    mcpServers: agent.mcpServers,
    onMcpUnavailable: agent.onMcpUnavailable ?? defaults.onMcpUnavailable ?? 'degrade',
    inherit: agent.inherit ?? phase.inherit ?? workflow.context.inherit,
    outputSchema: agent.outputSchema,
  };
}

/**
 * A workflow refused by a check that needs more than its text (the file system, git), in the same
 * words as a schema problem: `Workflow is invalid:` and one `field: problem` line each (exit 2).
 */
export function workflowInvalid(problems: string[]): BatonError {
  return new BatonError(
    ErrorCodes.workflowInvalid,
    `Workflow is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
  );
}
