import { createHash } from 'node:crypto';
import {
  BatonError,
  ErrorCodes,
  systemClock,
  type ApprovalRecord,
  type ApprovalStatus,
  type Clock,
} from '../core/index.js';
import type { Store } from '../store/index.js';

/** How often a waiting agent or gate looks for an answer given from another process. */
export const DEFAULT_POLL_MS = 500;

/**
 * A request's id, derived from what is asked: the same question asked again — by an agent resumed
 * after its orchestrator died — finds the stored request and any answer given meanwhile.
 */
export function approvalId(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 12);
}

/** Tool input fields that say why, not what: a call made again in other words is the same call. */
const wordingFields = new Set(['description']);

/**
 * A tool call's request id: run, agent, tool and what the call does (its input without its wording, in
 * key order), so that the call made again by the agent resumed after a crash finds the request.
 */
export function toolApprovalId(runId: string, agentId: string, tool: string, input: Record<string, unknown>): string {
  const what = Object.keys(input)
    .filter((key) => !wordingFields.has(key))
    .sort()
    .map((key) => [key, input[key]]);
  return approvalId(runId, agentId, tool, what);
}

export interface WaitOptions {
  clock?: Clock;
  pollMs?: number;
  signal?: AbortSignal;
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Waits until the request is answered, or marks it expired once its deadline has passed. Resolves
 * with the request as it stands when the wait ends (still pending only when `signal` aborted).
 */
export async function waitForAnswer(store: Store, id: string, options: WaitOptions = {}): Promise<ApprovalRecord> {
  const clock = options.clock ?? systemClock;
  for (;;) {
    const request = await store.getApproval(id);
    if (!request)
      throw new BatonError(ErrorCodes.approvalNotFound, `approval request ${id} disappeared from the store`);
    if (request.status !== 'pending' || options.signal?.aborted) return request;
    if (clock.now() >= request.deadline) {
      const expired = await expire(store, id, clock.now());
      // Someone answered in the same instant: their answer stands.
      return expired ?? (await store.getApproval(id))!;
    }
    await pause(
      Math.min(options.pollMs ?? DEFAULT_POLL_MS, Math.max(1, request.deadline - clock.now())),
      options.signal,
    );
  }
}

/** A person's answer from `baton approve|deny`, a dashboard or any other process. */
export async function answerApproval(
  store: Store,
  answer: { id: string; approve: boolean; by: string; message?: string; clock?: Clock },
): Promise<ApprovalRecord> {
  const status: ApprovalStatus = answer.approve ? 'approved' : 'denied';
  const now = (answer.clock ?? systemClock).now();
  // Past its deadline a request is decided already (denied, or the agent failed), even while no
  // waiter is there to mark it (a dead orchestrator, between two polls): a late answer must not win.
  const current = await store.getApproval(answer.id);
  if (current?.status === 'pending' && now >= current.deadline) await expire(store, answer.id, now);
  const decided = await store.saveApprovalDecision({
    id: answer.id,
    status,
    answer: { by: answer.by, at: now, ...(answer.message !== undefined ? { message: answer.message } : {}) },
  });
  if (decided) {
    await store.saveAuditEvent({
      at: decided.answer!.at,
      actor: answer.by,
      action: answer.approve ? 'approval.approved' : 'approval.denied',
      target: decided.runId,
      details: approvalDetails(decided),
    });
    return decided;
  }
  throw new BatonError(ErrorCodes.approvalNotFound, notAnswerable(answer.id, await store.getApproval(answer.id)));
}

/** Why a request takes no answer: unknown, answered already (by whom, when), or past its deadline. */
function notAnswerable(id: string, existing: ApprovalRecord | undefined): string {
  const list = 'List pending ones with: baton approvals';
  if (!existing) return `No approval request ${id}. ${list}`;
  const at = existing.answer ? new Date(existing.answer.at).toISOString() : '';
  if (existing.status === 'expired')
    return `Approval request ${id} expired: nobody answered before its deadline (${new Date(existing.deadline).toISOString()}), so ${existing.onTimeout === 'fail' ? 'it failed' : 'it was denied'}. ${list}`;
  return `Approval request ${id} is ${existing.status} already (by ${existing.answer?.by ?? 'someone'} at ${at}). ${list}`;
}

/**
 * `requests` as they stand once those past their deadline are marked expired: decided already,
 * though no waiter was there to mark them (the orchestrator was gone), so none is shown or counted as
 * waiting for a person.
 */
export async function expireOverdue(store: Store, requests: ApprovalRecord[], now: number): Promise<ApprovalRecord[]> {
  return Promise.all(
    requests.map(async (request) =>
      request.status === 'pending' && now >= request.deadline
        ? ((await expire(store, request.id, now)) ?? (await store.getApproval(request.id)) ?? request)
        : request,
    ),
  );
}

/** Marks a request past its deadline expired; undefined when an answer came first. */
function expire(store: Store, id: string, now: number): Promise<ApprovalRecord | undefined> {
  return store.saveApprovalDecision({
    id,
    status: 'expired',
    answer: { by: 'baton', at: now, message: 'nobody answered before the deadline' },
  });
}

/** What the audit trail keeps about a request. */
export function approvalDetails(request: ApprovalRecord): Record<string, unknown> {
  return {
    approvalId: request.id,
    kind: request.kind,
    ...(request.phaseId !== undefined ? { phaseId: request.phaseId } : {}),
    ...(request.agentId !== undefined ? { agentId: request.agentId } : {}),
    ...(request.tool !== undefined ? { tool: request.tool } : {}),
    summary: request.summary,
    ...(request.rule !== undefined ? { rule: request.rule } : {}),
    status: request.status,
    ...(request.answer ? { by: request.answer.by, message: request.answer.message } : {}),
  };
}
