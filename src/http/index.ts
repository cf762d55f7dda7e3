export { HttpError, readBody, sendJson, startHttpServer } from './server.js';
export type { HttpMethod, HttpServerOptions, HttpService, Route, RouteContext } from './server.js';
export type { AccessRules } from './access.js';
export { ensureTokenFile, readTokenFile, tokenMatches } from './token.js';
