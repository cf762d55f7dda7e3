import { capPreview, type AgentSpec, type RetryHooks } from '../agents/index.js';
import { redactNamedValues, type ToolCall } from '../core/index.js';
import { launchSecretValues } from '../mcp/index.js';
import { SecretRedactor } from '../observability/index.js';
import type { Store } from '../store/index.js';
import type { AgentJob, AgentJobHooks } from './execute.js';

/**
 * The secrets an agent holds: its environment's (by name), the values the workflow gave its env (by
 * value, as the run's own redactor takes them; a worker has no other), and its MCP servers' env and headers
 * (also those of servers a worker's gateway serves in their place).
 */
export function agentRedactor(job: AgentJob, spec: AgentSpec): SecretRedactor {
  const mcpSecrets = [
    ...Object.values(spec.mcpServers ?? {}).flatMap(launchSecretValues),
    ...(job.servedMcpSecrets ?? []),
  ];
  return SecretRedactor.fromEnvironment(spec.env, [...mcpSecrets, ...Object.values(job.env)]);
}

/**
 * A preview as stored: secret-named values hidden too (`PGPASSWORD=…`, `--api-key …`, `"apiKey": "…"`, as
 * in the audit trail's summary of the same call; a command or a file it printed is where they appear),
 * then capped — only once redacted, since a secret cut in half by the cap would not be recognised.
 */
const preview = (text: string): string => capPreview(redactNamedValues(text));

const storedPreviews = (call: ToolCall): ToolCall => ({
  ...call,
  inputPreview: preview(call.inputPreview),
  ...(call.outputPreview !== undefined ? { outputPreview: preview(call.outputPreview) } : {}),
});

/**
 * What a job's attempts' message streams show, redacted where it is seen (a `baton worker` writes to
 * the store directly): each tool call is stored as it starts and ends and passed on to the
 * orchestrator's hooks; each model turn only passed on (tracing).
 */
export function streamRecorder(
  job: AgentJob,
  spec: AgentSpec,
  offset: number,
  deps: { store: Store; hooks?: AgentJobHooks },
): Required<Pick<RetryHooks, 'toolCall' | 'modelTurn'>> {
  const redactor = agentRedactor(job, spec);
  return {
    toolCall: async (info, call: ToolCall) => {
      const attempt = offset + info.attempt;
      const redacted = storedPreviews(redactor.redactDeep(call));
      await deps.store.saveToolCall({ ...redacted, runId: job.runId, agentId: job.agentId, attempt });
      deps.hooks?.toolCall?.({ ...info, attempt }, redacted);
    },
    // Ids, model names and numbers: nothing secret, unless a model endpoint echoes one back.
    modelTurn: (info, turn) =>
      deps.hooks?.modelTurn?.({ ...info, attempt: offset + info.attempt }, redactor.redactDeep(turn)),
  };
}
