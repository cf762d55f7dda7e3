import { hostname, userInfo } from 'node:os';
import { systemClock, type Clock } from '../core/index.js';
import type { RunEvents } from '../orchestrator/index.js';
import type { AuditEvent, Store } from '../store/index.js';

/** Every action the audit trail records (docs/observability.md#audit-trail lists when). */
export const auditActions = [
  'config.changed',
  'run.started',
  'run.finished',
  'run.cancel_requested',
  'budget.warning',
  'budget.exceeded',
  'context.imported',
  'sessions.archived',
  'sessions.pruned',
  'tool.allowed',
  'tool.denied',
  'approval.requested',
  'approval.approved',
  'approval.denied',
  'approval.webhook_failed',
  'store.migrated',
] as const;
export type AuditAction = (typeof auditActions)[number];

/** Who is acting: the OS user and host of this process. */
export function currentActor(): string {
  let user = process.env.USER ?? process.env.USERNAME ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers): keep the environment's name
  }
  return `${user}@${hostname()}`;
}

export interface AuditOptions {
  actor?: string;
  /** Entries older than this are dropped by prune() (`audit_retention_days`). */
  retentionMs: number;
  clock?: Clock;
}

/**
 * The append-only audit trail: who started, cancelled or changed what, and budget events. Writes go
 * through the store (redacted there like everything else); `flush()` waits for them.
 */
export class AuditTrail {
  private readonly actor: string;
  private readonly clock: Clock;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly options: AuditOptions,
  ) {
    this.actor = options.actor ?? currentActor();
    this.clock = options.clock ?? systemClock;
  }

  record(action: AuditAction, target: string | undefined, details: Record<string, unknown> = {}): Promise<void> {
    const event: AuditEvent = {
      at: this.clock.now(),
      actor: this.actor,
      action,
      ...(target !== undefined ? { target } : {}),
      details,
    };
    const write = this.store.saveAuditEvent(event).finally(() => this.pending.delete(write));
    this.pending.add(write);
    return write;
  }

  /** Records `config.changed` when the effective config differs from the last one recorded. */
  async recordConfig(config: Record<string, unknown>, sources: string[]): Promise<void> {
    const [last] = await this.store.listAuditEvents({ action: 'config.changed', limit: 1 });
    const previous = (last?.details.config ?? {}) as Record<string, unknown>;
    const changed = Object.keys({ ...previous, ...config }).filter(
      (key) => JSON.stringify(previous[key]) !== JSON.stringify(config[key]),
    );
    if (changed.length > 0) await this.record('config.changed', undefined, { keys: changed.sort(), sources, config });
  }

  /** Records a run's start, end and budget events. */
  watchRun(events: RunEvents): () => void {
    const offs = [
      events.on(
        'run.started',
        (e) => void this.record('run.started', e.runId, { workflow: e.workflowName, agents: e.agents }),
      ),
      events.on(
        'run.finished',
        (e) => void this.record('run.finished', e.runId, { status: e.status, costUsd: e.summary.totals.costUsd }),
      ),
      // Whichever budget was reached (USD, the tenant's daily tokens, or one agent's own cap): what was spent, and the limit.
      events.on('budget.warning', ({ runId, ...details }) => void this.record('budget.warning', runId, details)),
      events.on('budget.exceeded', ({ runId, ...details }) => void this.record('budget.exceeded', runId, details)),
    ];
    return () => offs.forEach((off) => off());
  }

  /** Applies the retention setting. */
  prune(): Promise<number> {
    return this.store.pruneAuditEvents(this.clock.now() - this.options.retentionMs);
  }

  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
