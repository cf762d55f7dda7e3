import { answerApproval, expireOverdue } from '../approvals/index.js';
import { BatonError, ErrorCodes, type ApprovalRecord } from '../core/index.js';
import { currentActor } from '../observability/index.js';
import { currentRunStatus } from '../orchestrator/index.js';
import { type Output } from './commands.js';
import { withExistingStore, type StoreOptions } from '../api/index.js';
import { fullRunId, storeWhere, tenantScopeOf } from './run-id.js';

/** How long until the deadline, in words a person reads at a glance. */
function timeLeft(deadline: number, now: number): string {
  const seconds = Math.floor((deadline - now) / 1000);
  if (seconds <= 0) return 'deadline passed';
  if (seconds < 60) return `${seconds} s left`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 90 ? `${minutes} min left` : `${Math.round(minutes / 60)} h left`;
}

function approvalLine(request: ApprovalRecord, now: number): string {
  const who = request.agentId ? `agent ${request.agentId}` : `phase ${request.phaseId ?? '?'}`;
  const why = request.rule ? `  (rule ${request.rule})` : '';
  return `${request.id}  run ${request.runId.slice(0, 8)}  ${who}  ${request.summary}${why}  ${timeLeft(request.deadline, now)}`;
}

/** `baton approvals [--run <id>] [--tenant <name>] [--json]`: what waits for a person. */
export async function approvalsCommand(
  options: StoreOptions & { run?: string; json?: boolean; all?: boolean; tenant?: string },
  output: Output,
): Promise<number> {
  return withExistingStore(options, async (store, config) => {
    const scope = tenantScopeOf(store, options.tenant);
    const runId = options.run !== undefined ? await fullRunId(store, options.run, options.tenant) : undefined;
    // An unknown run (or another tenant's) is a mistyped id, not a run with nothing waiting.
    if (runId !== undefined && !(await scope.getRun(runId)))
      throw new BatonError(
        ErrorCodes.runNotFound,
        `No run with id ${runId} ${scope.tenant ? `for tenant ${scope.tenant}` : storeWhere(config)}. List them with: baton runs${scope.tenant ? ` --tenant ${scope.tenant}` : ''}`,
      );
    const now = Date.now();
    const listed = await expireOverdue(
      store,
      await scope.listApprovals({
        ...(runId !== undefined ? { runId } : {}),
        ...(options.all ? {} : { status: 'pending' as const }),
      }),
      now,
    );
    const requests = options.all ? listed : listed.filter((r) => r.status === 'pending');
    if (options.json) {
      output.stdout.write(`${JSON.stringify(requests)}\n`);
      return 0;
    }
    if (requests.length === 0) output.stdout.write('Nothing waits for approval.\n');
    for (const request of requests) {
      const state =
        request.status === 'pending' ? '' : `  [${request.status}${request.answer ? ` by ${request.answer.by}` : ''}]`;
      output.stdout.write(`${approvalLine(request, now)}${state}\n`);
    }
    if (requests.some((r) => r.status === 'pending'))
      output.stdout.write(
        'Answer with: baton approve <id> [--message <text>]  or  baton deny <id> [--message <text>]\n',
      );
    return 0;
  });
}

/** `baton approve <id>` and `baton deny <id>`: answers a request from any shell; the message reaches the agent. */
export async function answerCommand(
  id: string,
  approve: boolean,
  options: StoreOptions & { message?: string; tenant?: string },
  output: Output,
): Promise<number> {
  return withExistingStore(options, async (store, config) => {
    if (!(await store.getApproval(id)))
      throw new BatonError(
        ErrorCodes.approvalNotFound,
        `No approval request ${id} ${storeWhere(config)}. List pending ones with: baton approvals (where baton run ran, or with its --data-dir)`,
      );
    // Another tenant's request reads as no request at all: its id tells nothing.
    if (options.tenant !== undefined && !(await tenantScopeOf(store, options.tenant).getApproval(id)))
      throw new BatonError(
        ErrorCodes.approvalNotFound,
        `No approval request ${id} for tenant ${options.tenant}. List them with: baton approvals --tenant ${options.tenant}`,
      );
    const answered = await answerApproval(store, {
      id,
      approve,
      by: currentActor(),
      ...(options.message !== undefined ? { message: options.message } : {}),
    });
    output.stdout.write(`${approve ? 'Approved' : 'Denied'}: ${answered.summary} (run ${answered.runId}).\n`);
    // Nobody waits on it now (the run ended, was killed, or stopped with --detach-on-wait): say how it is taken.
    const run = await store.getRun(answered.runId);
    const status = run && currentRunStatus(run);
    if (status === 'succeeded')
      output.stdout.write(`Run ${answered.runId} succeeded; nothing waits for this answer.\n`);
    else if (status && status !== 'running')
      output.stdout.write(
        `Run ${answered.runId} is ${status}; it takes this answer when resumed: baton run --resume ${answered.runId}\n`,
      );
    return 0;
  });
}
