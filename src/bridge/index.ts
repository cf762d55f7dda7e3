export { BridgeClient, BridgeRequestError, fetchBridge, locateBridge } from './client.js';
export type { BridgeClientEvents, BridgeEndpoint } from './client.js';
export { pathMatcher } from './glob.js';
export {
  clientMessageSchema,
  diagnosticSchema,
  ideEventSchema,
  ideEventTypes,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_BYTES,
  subscriptionFilterSchema,
  wireErrorCodes,
} from './protocol.js';
export type {
  BridgeEvent,
  ClientMessage,
  Diagnostic,
  IdeEvent,
  IdeEventInput,
  IdeEventType,
  ServerMessage,
  SubscriptionFilter,
  WireErrorCode,
} from './protocol.js';
export { BridgeState, eventFilter } from './state.js';
export type { BridgeStateOptions, DiagnosticsSummary, EventQuery, FileDiagnostics, IdeState } from './state.js';
export { startBridge } from './server.js';
export type { BridgeServer, BridgeServerEvents, BridgeServerOptions } from './server.js';
export { addressFile, ensureToken, readToken, tokenFile } from './token.js';
export { createBatonMcpServer, serveBatonMcpStdio } from './mcp-server.js';
export type { BatonMcpServerOptions } from './mcp-server.js';
export { parseDiagnostics, parseGitStatus, startWatcher } from './watcher.js';
export type { Watcher, WatcherOptions } from './watcher.js';
export { unifiedDiff } from './diff.js';
