export { HttpError, readBody, sendJson, startHttpServer } from './server.js';
export type { HttpService, Route, RouteContext } from './server.js';
export type { TokenHolder } from './access.js';
export { ensureTokenFile, readTokenFile, renewTokenFile } from './token.js';
