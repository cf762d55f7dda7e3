export { ModelServer, startModelServer } from './server.js';
export type { ModelServerOptions, RecordedRequest, RequestOutcome } from './server.js';
export { loadScript, parseScript, replySchema, scriptSchema, ScriptPlayer } from './script.js';
export type { ModelRequestView, Reply, Script, ScriptFunction, ScriptRule } from './script.js';
