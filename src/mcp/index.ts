export { buildCatalog, mcpServerSchema } from './catalog.js';
export type { McpCatalog, McpLaunchConfig, McpServerEntry } from './catalog.js';
export { analyzeRequirements } from './requirements.js';
export { McpEvents, McpManager, mcpUnavailablePolicySchema } from './manager.js';
export type { AgentMcpPlan, McpUnavailablePolicy, ServerHealth } from './manager.js';
export { formatRunHealth, readRunHealth, runHealthPath } from './run-health.js';
export { catalogFor, launchSecretValues, mcpSecretValues, newGatewayToken, startMcp } from './setup.js';
export type { McpSetupOptions } from './setup.js';
export { agentScopeEnv, finishAgentMcpConfig } from './agent-config.js';
