export {
  batonServerEntry,
  buildCatalog,
  gatewayTokenHeader,
  mcpScopeSchema,
  launchConfig,
  mcpServerSchema,
  mockToolSchema,
  readMcpJson,
  templateConfig,
} from './catalog.js';
export type {
  CatalogServer,
  CatalogSources,
  McpCatalog,
  McpLaunchConfig,
  McpScope,
  McpServerEntry,
  MockTool,
} from './catalog.js';
export { analyzeRequirements, kindOf } from './requirements.js';
export type { RequirementAnalysis, ServerRequirement } from './requirements.js';
export { McpProbeTimeout, probeServer } from './probe.js';
export type { McpProbe, ProbeOptions } from './probe.js';
export { McpEvents, McpManager, mcpUnavailablePolicySchema } from './manager.js';
export type {
  AgentMcpPlan,
  AgentMcpRequest,
  BreakerState,
  McpEventMap,
  McpManagerOptions,
  McpUnavailablePolicy,
  ServerHealth,
} from './manager.js';
export { formatRunHealth, readRunHealth, runHealthPath } from './run-health.js';
export type { ServerRunHealth } from './run-health.js';
export type { GatewayCall, McpGateway, McpGatewayOptions } from './gateway.js';
export { mcpMarkerVariable, StdioUpstream } from './upstream.js';
export { MockMcpHost } from './mock.js';
export type { MockToolCall } from './mock.js';
export { catalogFor, launchSecretValues, mcpSecretValues, newGatewayToken, startMcp } from './setup.js';
export type { McpSetupOptions } from './setup.js';
export { agentScopeEnv, finishAgentMcpConfig } from './agent-config.js';
export type { AgentMcpConfigRequest } from './agent-config.js';
