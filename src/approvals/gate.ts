import { ruleDenialMessage, type GatedToolCall, type ToolGate, type ToolVerdict } from '../agents/index.js';
import { systemClock, type ApprovalRecord, type Clock } from '../core/index.js';
import { currentActor, SecretRedactor } from '../observability/index.js';
import {
  decideToolCall,
  describeToolCall,
  type PermissionDecision,
  type PermissionPolicy,
} from '../permissions/index.js';
import type { Store } from '../store/index.js';
import { approvalDetails, approvalId, toolApprovalId, waitForAnswer } from './requests.js';
import { notifyWebhook } from './webhook.js';

export interface ApprovalDeskOptions {
  store: Store;
  clock?: Clock;
  /** How often a waiting request is looked up (default 500 ms). */
  pollMs?: number;
  /** Receives a JSON POST per new request (`approval_webhook_url`). */
  webhookUrl?: string;
  /** Scrubs secrets from the call summary before it is stored or sent (default: this process's secrets). */
  redactor?: SecretRedactor;
  /** Who Baton's own decisions are recorded as (default user@host of this process). */
  actor?: string;
}

/** Webhook notifications still being tried in this process (each gives up within ≈ 17 s). */
const notifying = new Set<Promise<void>>();

/**
 * Resolves once every webhook notification this process started has been delivered or recorded as
 * failed. A run (and a worker) waits for it before closing its store: its retry timers do not keep
 * the process alive, so without it a run that ends (or detaches) first would lose the last tries and
 * the `approval.webhook_failed` record.
 */
export async function webhookNotificationsSettled(): Promise<void> {
  while (notifying.size > 0) await Promise.allSettled([...notifying]);
}

/**
 * Creates requests for a person's decision, waits for the answer (given from any process: the
 * store is the only channel), notifies the webhook and writes every decision to the audit trail.
 */
export class ApprovalDesk {
  private readonly clock: Clock;
  private readonly redactor: SecretRedactor;
  private readonly actor: string;

  constructor(private readonly options: ApprovalDeskOptions) {
    this.clock = options.clock ?? systemClock;
    this.redactor = options.redactor ?? SecretRedactor.fromEnvironment(process.env);
    this.actor = options.actor ?? currentActor();
  }

  /**
   * Stores the request (or finds the one asked before), tells the webhook about a new one, and waits.
   * A request denied or expired by `askAgainBefore` (a resumed run's end before) was told to the
   * orchestrator that ended the run: the question is asked again, as a new request.
   */
  async ask(
    request: Omit<ApprovalRecord, 'requestedAt' | 'deadline' | 'status' | 'summary'> & {
      summary: string;
      timeoutMs: number;
    },
    signal: AbortSignal,
    askAgainBefore?: number,
  ): Promise<ApprovalRecord> {
    const { store } = this.options;
    const now = this.clock.now();
    const { timeoutMs, ...fields } = request;
    const fresh: ApprovalRecord = {
      ...fields,
      summary: this.redactor.redact(request.summary),
      requestedAt: now,
      deadline: now + timeoutMs,
      status: 'pending',
    };
    let stored = await store.saveApproval(fresh);
    // Each asking again has an id derived from the one before, so a crash while it waits finds it too.
    while (stored.status === 'denied' || stored.status === 'expired') {
      const again = approvalId(stored.id, 'asked again');
      const next = await store.getApproval(again);
      if (!next && !(askAgainBefore !== undefined && stored.answer && stored.answer.at <= askAgainBefore)) break;
      stored = next ?? (await store.saveApproval({ ...fresh, id: again }));
    }
    if (stored.requestedAt === now && stored.status === 'pending') await this.announce(stored);
    return waitForAnswer(store, stored.id, {
      clock: this.clock,
      signal,
      ...(this.options.pollMs !== undefined ? { pollMs: this.options.pollMs } : {}),
    });
  }

  /** Records a decision in the audit trail: Baton's own by rule, or the outcome of a request. */
  async record(action: string, runId: string, details: Record<string, unknown>): Promise<void> {
    await this.options.store.saveAuditEvent({
      at: this.clock.now(),
      actor: this.actor,
      action,
      target: runId,
      details,
    });
  }

  private async announce(request: ApprovalRecord): Promise<void> {
    await this.record('approval.requested', request.runId, approvalDetails(request));
    const url = this.options.webhookUrl;
    if (url === undefined) return;
    // Not awaited here: the agent waits for a person, not for the webhook (the run's end waits for it).
    const notified: Promise<void> = notifyWebhook(url, request)
      .then((error) =>
        error
          ? this.record('approval.webhook_failed', request.runId, { approvalId: request.id, error: error.message })
          : undefined,
      )
      .catch(() => undefined) // the store closed under it: there is nowhere left to record the failure
      .finally(() => notifying.delete(notified));
    notifying.add(notified);
  }

  /**
   * The gate for the agent of a job (on whichever process runs it): every tool call decided by its
   * rules, an `ask` by a person. Undefined when the job has no rules (Claude Code decides).
   */
  static forJob(
    store: Store,
    job: {
      runId: string;
      agentId: string;
      spec: { permissions?: PermissionPolicy & { webhookUrl?: string; askAgainBefore?: number } };
    },
    clock?: Clock,
    redactor?: SecretRedactor,
  ): ToolGate | undefined {
    const policy = job.spec.permissions;
    if (!policy) return undefined;
    const desk = new ApprovalDesk({
      store,
      ...(clock ? { clock } : {}),
      ...(redactor ? { redactor } : {}),
      ...(policy.webhookUrl !== undefined ? { webhookUrl: policy.webhookUrl } : {}),
    });
    return desk.toolGate({ runId: job.runId, agentId: job.agentId }, policy, policy.askAgainBefore);
  }

  /** The gate for one agent: every tool call decided by its rules, an `ask` by a person. */
  toolGate(
    target: { runId: string; agentId: string; phaseId?: string },
    policy: PermissionPolicy,
    askAgainBefore?: number,
  ): ToolGate {
    return async (call, signal) => {
      const decision = decideToolCall(policy, call);
      const summary = this.redactor.redact(describeToolCall(call));
      const base = { ...target, tool: call.tool, summary, rule: decision.rule };
      if (decision.behavior !== 'ask') {
        await this.record(decision.behavior === 'allow' ? 'tool.allowed' : 'tool.denied', target.runId, base);
        return decision.behavior === 'allow'
          ? { behavior: 'allow', by: 'rule' }
          : { behavior: 'deny', message: ruleDenialMessage(decision.rule), by: 'rule' };
      }
      const answered = await this.ask(
        {
          id: toolApprovalId(target.runId, target.agentId, call.tool, call.input),
          kind: 'tool',
          ...base,
          onTimeout: policy.onTimeout,
          timeoutMs: policy.approvalTimeoutMs,
        },
        signal,
        askAgainBefore,
      );
      return this.verdict(answered, decision, call);
    };
  }

  private async verdict(
    answered: ApprovalRecord,
    decision: PermissionDecision,
    call: GatedToolCall,
  ): Promise<ToolVerdict> {
    // The agent is being stopped (a cancel, --detach-on-wait): the request stays open for a resumed run.
    if (answered.status === 'pending') return { behavior: 'deny', message: 'The agent was stopped while it waited.' };
    const said = answered.answer?.message ? `: ${answered.answer.message}` : '';
    const details = { ...approvalDetails(answered), rule: decision.rule };
    if (answered.status === 'approved') {
      await this.record('tool.allowed', answered.runId, details);
      return {
        behavior: 'allow',
        by: 'person',
        ...(answered.answer?.message
          ? { message: `${answered.answer.by} approved this ${call.tool} call${said}` }
          : {}),
      };
    }
    await this.record('tool.denied', answered.runId, details);
    if (answered.status === 'denied')
      return {
        behavior: 'deny',
        message: `${answered.answer?.by ?? 'A person'} denied this tool call${said}`,
        by: 'person',
      };
    const message = `Nobody approved this tool call before its deadline (rule "${decision.rule}"), so it was denied.`;
    return answered.onTimeout === 'fail'
      ? { behavior: 'deny', message, interrupt: true, by: 'timeout' }
      : { behavior: 'deny', message, by: 'timeout' };
  }
}
