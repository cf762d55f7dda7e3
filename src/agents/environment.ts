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
 * The environment of an agent process: Baton's own (so ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY and
 * HOME reach agents unchanged), Baton's agent defaults, then the workflow's per-agent extras.
 */
export function agentEnvironment(base: NodeJS.ProcessEnv, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { ...agentDefaults };
  for (const [key, value] of Object.entries(base)) if (value !== undefined) env[key] = value;
  return { ...env, ...extra };
}
