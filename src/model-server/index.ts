export { ModelServer, startModelServer } from './server.js';
export { loadScript, scriptSchema } from './script.js';
export type { Reply, Script } from './script.js';
