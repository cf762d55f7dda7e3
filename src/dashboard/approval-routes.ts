import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { answerApproval } from '../approvals/index.js';
import { isBatonError } from '../core/index.js';
import { currentActor } from '../observability/index.js';
import type { Store } from '../store/index.js';

/** A fresh dashboard token: what a page must send with every action. */
export const newDashboardToken = (): string => randomBytes(24).toString('base64url');

const answerBody = z.object({ message: z.string().max(2000).optional() }).strict();

export interface ApprovalRouteOptions {
  store: Store;
  /** The dashboard's token; actions without it are refused. */
  token: string;
  /** The dashboard's own origin (`http://host:port`): actions from any other are refused. */
  origin: string;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
}

function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Why an action must be refused, if it must: a page of another site (its browser sends its Origin,
 * or marks it cross-site), a body a plain HTML form could send (only JSON is read, which no
 * cross-site request can send without a preflight), or a missing or wrong token.
 */
function refusal(req: IncomingMessage, options: ApprovalRouteOptions): [number, string] | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== options.origin) return [403, 'cross-site request refused'];
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return [403, 'cross-site request refused'];
  if (!req.headers['content-type']?.startsWith('application/json')) return [415, 'send JSON'];
  const given = req.headers['x-baton-token'];
  if (!tokenMatches(typeof given === 'string' ? given : undefined, options.token))
    return [401, 'the dashboard token is missing or wrong'];
  return undefined;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 10_000) throw new Error('body too large');
  }
  return text === '' ? {} : JSON.parse(text);
}

/**
 * The dashboard's approval routes: `GET /api/approvals` (pending requests) and
 * `POST /api/approvals/<id>/approve|deny` with `{ message? }`. Returns false for any other request.
 */
export async function handleApprovalRoute(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  options: ApprovalRouteOptions,
): Promise<boolean> {
  if (url.pathname === '/api/approvals' && req.method === 'GET') {
    send(res, 200, await options.store.listApprovals({ status: 'pending' }));
    return true;
  }
  const action = /^\/api\/approvals\/([^/]+)\/(approve|deny)$/.exec(url.pathname);
  if (!action) return false;
  if (req.method !== 'POST') {
    send(res, 405, { error: 'use POST' });
    return true;
  }
  const refused = refusal(req, options);
  if (refused) {
    send(res, refused[0], { error: refused[1] });
    return true;
  }
  const body = answerBody.safeParse(await readJson(req).catch(() => undefined));
  if (!body.success) {
    send(res, 400, { error: 'expected { "message"?: string }' });
    return true;
  }
  try {
    const answered = await answerApproval(options.store, {
      id: decodeURIComponent(action[1]!),
      approve: action[2] === 'approve',
      by: `${currentActor()} (web dashboard)`,
      ...(body.data.message ? { message: body.data.message } : {}),
    });
    send(res, 200, answered);
  } catch (error) {
    if (!isBatonError(error)) throw error;
    send(res, 409, { error: error.message, code: error.code });
  }
  return true;
}
