export { HttpError, readBody, sendJson, startHttpServer } from './server.js';
export type { HttpService, Route } from './server.js';
export { ensureTokenFile, readTokenFile } from './token.js';
