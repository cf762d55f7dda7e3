import { z } from 'zod';
import { answerApproval } from '../approvals/index.js';
import { isBatonError } from '../core/index.js';
import { HttpError, readBody, sendJson, type Route, type RouteContext } from '../http/index.js';
import { currentActor } from '../observability/index.js';
import type { Store, TenantScope } from '../store/index.js';

const answerBody = z.object({ message: z.string().max(2000).optional() }).strict();

/** Longest answer body read. */
const ANSWER_BODY_LIMIT_BYTES = 10_000;

/**
 * The dashboard's approval routes: `GET /api/approvals` (pending requests) and
 * `POST /api/approvals/<id>/approve|deny` with `{ message? }`, both of the caller's tenant only (another
 * tenant's request is 404, as an unknown one). The HTTP helper has already checked the token and that a
 * POST comes from the dashboard's own origin; only JSON is read, which no plain cross-site form can send.
 */
export function approvalRoutes(store: Store, scopeOf: (context: RouteContext) => TenantScope): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/approvals',
      handle: async (context) => sendJson(context.res, 200, await scopeOf(context).pendingApprovals()),
    },
    {
      method: 'POST',
      path: /^\/api\/approvals\/([^/]+)\/(approve|deny)$/,
      handle: async (context) => {
        const { req, res, params } = context;
        if (!req.headers['content-type']?.startsWith('application/json'))
          throw new HttpError(415, 'unsupported_media_type', 'send JSON: { "message"?: string }');
        const text = await readBody(req, ANSWER_BODY_LIMIT_BYTES);
        const body = answerBody.safeParse(text === '' ? {} : parseJson(text));
        if (!body.success) throw new HttpError(400, 'bad_request', 'expected { "message"?: string }');
        const scope = scopeOf(context);
        if (!(await scope.getApproval(params[0]!))) throw new HttpError(404, 'not_found', 'no such approval');
        // Whose token answered: the operator's, or a tenant's (the dashboard has no users of its own).
        const token = scope.tenant === undefined ? 'operator token' : `tenant ${scope.tenant}'s token`;
        try {
          const answered = await answerApproval(store, {
            id: params[0]!,
            approve: params[1] === 'approve',
            by: `${currentActor()} (web dashboard, ${token})`,
            ...(body.data.message ? { message: body.data.message } : {}),
          });
          sendJson(res, 200, answered);
        } catch (error) {
          if (!isBatonError(error)) throw error;
          sendJson(res, 409, { error: { code: error.code, message: error.message } });
        }
      },
    },
  ];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
