import { ExponentialBackoff, handleAll, retry, timeout, TimeoutStrategy, wrap } from 'cockatiel';
import type { ApprovalRecord } from '../core/index.js';

/** What a webhook receives for each request: enough to decide, and the commands that answer it. */
export function webhookPayload(request: ApprovalRecord): Record<string, unknown> {
  return {
    id: request.id,
    kind: request.kind,
    runId: request.runId,
    ...(request.phaseId !== undefined ? { phaseId: request.phaseId } : {}),
    ...(request.agentId !== undefined ? { agentId: request.agentId } : {}),
    ...(request.tool !== undefined ? { tool: request.tool } : {}),
    summary: request.summary,
    ...(request.rule !== undefined ? { rule: request.rule } : {}),
    requestedAt: new Date(request.requestedAt).toISOString(),
    deadline: new Date(request.deadline).toISOString(),
    approve: `baton approve ${request.id} --message "…"`,
    deny: `baton deny ${request.id} --message "…"`,
  };
}

/**
 * Three tries with backoff, each cut off after 5 s: a slow or failing webhook never holds an agent up.
 * The timers keep the process alive while a notification is in flight (the run's end awaits them):
 * unreferenced, a webhook that never answers left nothing pending and Node quit mid-await (exit 13).
 */
const webhookPolicy = wrap(
  retry(handleAll, {
    // cockatiel counts retries after the first try: 2 makes the three tries docs/permissions.md promises.
    maxAttempts: 2,
    backoff: new ExponentialBackoff({ initialDelay: 500, maxDelay: 5000 }),
  }),
  timeout(5000, TimeoutStrategy.Aggressive),
);

/** POSTs the request to the webhook; resolves with the error when every try failed (never rejects). */
export async function notifyWebhook(url: string, request: ApprovalRecord): Promise<Error | undefined> {
  try {
    await webhookPolicy.execute(async ({ signal }) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(webhookPayload(request)),
        signal,
      });
      if (!response.ok) throw new Error(`the webhook answered ${response.status}`);
    });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
