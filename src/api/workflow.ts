import type { z } from 'zod';
import { checkWorkflowData, type makeWorkflowSchema, type Workflow } from '../workflow/index.js';

/** A workflow as you write it: the same fields as workflow.yaml, defaults optional. */
export type WorkflowInput = z.input<ReturnType<typeof makeWorkflowSchema>>;

export interface DefineWorkflowOptions {
  /** MCP servers declared outside the workflow (baton.config, `.mcp.json`) that its agents name. */
  externalMcpServers?: Iterable<string>;
}

/**
 * A workflow defined in code, validated by the same schema as workflow.yaml: a mistake throws a
 * BatonError (BATON_WORKFLOW_INVALID) naming each field, and the result has every default filled in.
 */
export function defineWorkflow(input: WorkflowInput, options: DefineWorkflowOptions = {}): Workflow {
  return checkWorkflowData(input, workflowSource(input), {
    externalMcpServers: new Set(options.externalMcpServers ?? []),
  });
}

/** How problems of a workflow given as data name it: by its name, when it has one. */
export const workflowSource = (input: unknown): string => {
  const name = (input as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' ? `workflow ${name}` : 'workflow';
};
