import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { tokenMatches } from './token.js';

/**
 * Who may talk to a server. Host names other than loopback (and the address the server binds) are
 * refused so a web page cannot reach it by rebinding its own domain to 127.0.0.1; a token is required
 * except on open routes; a request that changes state must come from the server's own origin.
 */
export interface AccessRules {
  /**
   * Required on every route not marked open: `Authorization: Bearer`, the cookie below, or `?token=`
   * where no header can be sent (see queryTokenRead).
   */
  token?: string;
  /**
   * Instead of one token: several, each with the name of who holds it, which routes get as `holder`.
   * Asked on every request, so a token added or withdrawn counts at once.
   */
  holders?: () => readonly TokenHolder[];
  /** Host names accepted besides loopback ones and the address the server binds (config `http_allowed_hosts`). */
  allowedHosts?: readonly string[];
  /** For browsers: a valid `?token=` on a GET is swapped for this cookie and a redirect to the same URL without it. */
  cookie?: string;
  /** Where the token is, for the 401 message. */
  tokenHint?: string;
  /** A header that may carry the token too (the scripted model: `x-api-key`, as the Anthropic API takes it). */
  tokenHeader?: string;
}

/** A token and the name its holder goes by (a dashboard's operator, or one tenant). */
export interface TokenHolder {
  token: string;
  holder: string;
}

/** Why a request was refused, as the JSON error the client gets. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

const loopbackNames = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** The host name of a `Host` or `Origin` value (`[::1]:80` → `::1`), or undefined when it is not one. */
function hostnameOf(value: string, withScheme: boolean): string | undefined {
  try {
    const url = new URL(withScheme ? value : `http://${value}`);
    if (!withScheme && (url.pathname !== '/' || url.username || url.search)) return undefined;
    return url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  } catch {
    return undefined;
  }
}

export function hostAllowed(hostname: string, rules: AccessRules, boundHost: string): boolean {
  if (loopbackNames.has(hostname) || hostname.endsWith('.localhost')) return true;
  if (isIP(hostname) === 4 && hostname.startsWith('127.')) return true;
  const listed = [boundHost, ...(rules.allowedHosts ?? [])].map((h) => h.replace(/^\[(.*)\]$/, '$1').toLowerCase());
  return listed.includes(hostname);
}

/**
 * `?token=` counts only where a client cannot send a header: a WebSocket upgrade (a browser's WebSocket
 * takes none) and a GET the server swaps for its cookie (a login link). Anywhere else a token in the
 * URL would only end up in logs and shell history.
 */
function queryTokenRead(req: IncomingMessage, rules: AccessRules): boolean {
  const upgrade = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
  return upgrade || (rules.cookie !== undefined && req.method === 'GET');
}

function givenToken(req: IncomingMessage, url: URL, rules: AccessRules): string | undefined {
  // Auth schemes are case-insensitive (RFC 7235): `bearer <token>` is as good as `Bearer <token>`.
  const bearer = /^bearer +(.+)$/i.exec(req.headers.authorization ?? '');
  if (bearer) return bearer[1]!.trim();
  const own = rules.tokenHeader ? req.headers[rules.tokenHeader.toLowerCase()] : undefined;
  if (typeof own === 'string') return own;
  const cookie = rules.cookie;
  const fromQuery = queryTokenRead(req, rules) ? url.searchParams.get('token') : null;
  if (fromQuery !== null) return fromQuery;
  if (!cookie) return undefined;
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = pair.trim().split('=');
    if (name === cookie) return value.join('=');
  }
  return undefined;
}

/** Whom a request's token belongs to; `{}` for the one `token`, undefined when it matches none. */
type Admitted = { holder?: string };

/**
 * Every holder's token is compared (in constant time each), so the time taken does not tell which one
 * came close; a token two holders share is nobody's, so a copied file cannot widen anyone's view.
 */
function admit(rules: AccessRules, given: string | undefined): Admitted | undefined {
  if (rules.token !== undefined && tokenMatches(rules.token, given)) return {};
  const matching = (rules.holders?.() ?? []).filter((h) => tokenMatches(h.token, given)).map((h) => h.holder);
  return new Set(matching).size === 1 ? { holder: matching[0] } : undefined;
}

const guarded = (rules: AccessRules): boolean => rules.token !== undefined || rules.holders !== undefined;

/** A `?token=` the request carries where it is not read: the 401 then says why. */
const ignoredQueryToken = (req: IncomingMessage, url: URL, rules: AccessRules): boolean =>
  url.searchParams.has('token') && !queryTokenRead(req, rules);

/**
 * Host first (a rebinding page learns nothing, not even whether it has the token), then token. What
 * passes is who the token's holder is (none on an open route or a server without tokens).
 */
export function checkAccess(
  req: IncomingMessage,
  url: URL,
  rules: AccessRules,
  boundHost: string,
  open: boolean,
): Refusal | Admitted {
  const hostname = hostnameOf(req.headers.host ?? '', false);
  if (hostname === undefined || !hostAllowed(hostname, rules, boundHost))
    return {
      status: 403,
      code: 'forbidden_host',
      message: `Host "${req.headers.host ?? ''}" is not allowed: use 127.0.0.1 or localhost, or list the name in http_allowed_hosts`,
    };
  if (open || !guarded(rules)) return {};
  const admitted = admit(rules, givenToken(req, url, rules));
  if (admitted) return admitted;
  return {
    status: 401,
    code: 'unauthorized',
    message: `this server needs its token as Authorization: Bearer <token>${rules.tokenHeader ? ` or ${rules.tokenHeader}: <token>` : ''}${rules.tokenHint ? ` (${rules.tokenHint})` : ''}${ignoredQueryToken(req, url, rules) ? '; a ?token= in the URL is not read here (only on a WebSocket connect or a login link)' : ''}`,
  };
}

/**
 * A state-changing request must not come from another site: its `Origin` (sent by every browser on
 * such requests) must name an allowed host, and `Sec-Fetch-Site` must not say cross-site.
 */
export function checkOrigin(req: IncomingMessage, rules: AccessRules, boundHost: string): Refusal | undefined {
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  const originHost = origin === undefined ? undefined : hostnameOf(origin, true);
  const sameHost = originHost !== undefined && hostnameOf(req.headers.host ?? '', false) === originHost;
  const bad =
    (origin !== undefined && (!sameHost || !hostAllowed(originHost, rules, boundHost))) ||
    site === 'cross-site' ||
    site === 'same-site';
  if (!bad) return undefined;
  return {
    status: 403,
    code: 'forbidden_origin',
    message: `requests from ${origin ?? 'another site'} may not change anything here`,
  };
}

/** A valid `?token=` seen by a browser: the cookie that replaces it, or undefined when there is nothing to swap. */
export function tokenCookie(req: IncomingMessage, url: URL, rules: AccessRules): string | undefined {
  const given = url.searchParams.get('token') ?? undefined;
  if (!rules.cookie || req.method !== 'GET' || !guarded(rules) || !admit(rules, given)) return undefined;
  return `${rules.cookie}=${given}; HttpOnly; SameSite=Strict; Path=/`;
}

/** A refusal, as opposed to a request let in. */
export const isRefusal = (checked: Refusal | Admitted): checked is Refusal => 'status' in checked;
