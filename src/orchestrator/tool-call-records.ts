import type { AgentSpec, AttemptInfo } from '../agents/index.js';
import type { ToolCall } from '../core/index.js';
import { launchSecretValues } from '../mcp/index.js';
import { SecretRedactor } from '../observability/index.js';
import type { Store } from '../store/index.js';
import type { AgentJob, AgentJobHooks } from './execute.js';

/** The secrets an agent holds: its environment's and its MCP servers' env and headers. */
function agentRedactor(spec: AgentSpec): SecretRedactor {
  const mcpSecrets = Object.values(spec.mcpServers ?? {}).flatMap(launchSecretValues);
  return SecretRedactor.fromEnvironment(spec.env, mcpSecrets);
}

/**
 * Stores each tool call of a job's attempts as it starts and ends, redacted where it is seen (a
 * `baton worker` writes to the store directly), and passes it on to the orchestrator's hooks.
 */
export function toolCallRecorder(
  job: AgentJob,
  spec: AgentSpec,
  offset: number,
  deps: { store: Store; hooks?: AgentJobHooks },
): (info: AttemptInfo, call: ToolCall) => Promise<void> {
  const redactor = agentRedactor(spec);
  return async (info, call) => {
    const attempt = offset + info.attempt;
    const redacted = redactor.redactDeep(call);
    await deps.store.saveToolCall({ ...redacted, runId: job.runId, agentId: job.agentId, attempt });
    deps.hooks?.toolCall?.({ ...info, attempt }, redacted);
  };
}
