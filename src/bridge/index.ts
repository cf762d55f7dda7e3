export { BridgeClient, locateBridge } from './client.js';
export type { BridgeEndpoint } from './client.js';
export type { BridgeEvent } from './protocol.js';
export { startBridge } from './server.js';
export type { BridgeServer } from './server.js';
export { readToken, tokenFile } from './token.js';
export { serveBatonMcpStdio } from './mcp-server.js';
export { startWatcher } from './watcher.js';
