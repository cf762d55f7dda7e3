/**
 * Settings Baton gives every agent process unless the user's environment already sets them.
 * Baton owns retries (with session resume), so the binary's own retry loop is off; agents make no
 * calls besides the model's (no telemetry or auto-update), which also keeps offline runs quiet.
 */
const agentDefaults: Record<string, string> = {
  CLAUDE_CODE_MAX_RETRIES: '0',
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
};

/**
 * Baton's own secrets that no agent needs: the key that seals every tenant's jobs in Redis. An agent on a
 * shared worker (any tenant's, with Bash) could otherwise unseal the other tenants' job env and MCP secrets.
 */
const batonOnlySecrets: ReadonlySet<string> = new Set(['BATON_JOB_SECRET']);

/**
 * The environment of an agent process: Baton's own (so ANTHROPIC_API_KEY and HOME reach agents
 * unchanged), but for what only Baton may hold, Baton's agent defaults, then the workflow's per-agent
 * extras.
 */
export function agentEnvironment(base: NodeJS.ProcessEnv, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { ...agentDefaults };
  for (const [key, value] of Object.entries(base))
    if (value !== undefined && !batonOnlySecrets.has(key)) env[key] = value;
  return { ...env, ...extra };
}
