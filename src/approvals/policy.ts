import type { BatonConfig } from '../config/index.js';
import { mergePermissions, type PermissionPolicy } from '../permissions/index.js';
import type { ResolvedAgent } from '../workflow/index.js';

/** The rules one agent runs under, where the job carries them (to a worker too). */
export interface AgentPermissions extends PermissionPolicy {
  /** `approval_webhook_url`: told about each request this agent makes. */
  webhookUrl?: string;
  /** A resumed run's end before: a call denied or expired by then is asked about again. */
  askAgainBefore?: number;
}

/**
 * An agent's permission rules: the config's, then the workflow defaults', the phase's and its own;
 * its allowedTools (and the MCP servers it was given) are allow rules, disallowedTools deny rules.
 */
export function agentPermissions(
  config: BatonConfig,
  resolved: ResolvedAgent,
  mcpServerNames: readonly string[],
): AgentPermissions {
  return {
    ...mergePermissions([config.permissions, ...resolved.permissionLevels], {
      allowedTools: [...(resolved.allowedTools ?? []), ...mcpServerNames.map((name) => `mcp__${name}`)],
      ...(resolved.disallowedTools ? { disallowedTools: resolved.disallowedTools } : {}),
    }),
    ...(config.approval_webhook_url !== undefined ? { webhookUrl: config.approval_webhook_url } : {}),
  };
}
