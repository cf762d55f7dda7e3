import type { ApprovalRecord } from '../core/index.js';
import type { RunRecord, Store } from '../store/index.js';

/**
 * The runs one dashboard reader may see: one tenant's, or every tenant's (`tenant` undefined, the
 * operator). Every read of a run or approval by id goes through here, so another tenant's reads exactly
 * as an unknown id does.
 */
export class TenantScope {
  constructor(
    private readonly store: Store,
    readonly tenant?: string,
  ) {}

  /** The same for every reader who sees the same runs: open pages are told of changes per key. */
  get key(): string {
    return this.tenant === undefined ? '*' : `tenant:${this.tenant}`;
  }

  /** Newest first. */
  listRuns(limit: number): Promise<RunRecord[]> {
    return this.store.listRuns({ limit, ...(this.tenant !== undefined ? { tenant: this.tenant } : {}) });
  }

  /** Undefined for an unknown id and for another tenant's run alike. */
  async getRun(runId: string): Promise<RunRecord | undefined> {
    const run = await this.store.getRun(runId);
    return run && (this.tenant === undefined || run.tenant === this.tenant) ? run : undefined;
  }

  /** Requests waiting for a person, of this reader's runs only. */
  async pendingApprovals(): Promise<ApprovalRecord[]> {
    const pending = await this.store.listApprovals({ status: 'pending' });
    if (this.tenant === undefined) return pending;
    const runIds = [...new Set(pending.map((a) => a.runId))];
    const seen = new Set((await Promise.all(runIds.map((id) => this.getRun(id)))).flatMap((r) => (r ? [r.id] : [])));
    return pending.filter((a) => seen.has(a.runId));
  }

  /** Undefined for an unknown id and for a request of another tenant's run alike. */
  async getApproval(id: string): Promise<ApprovalRecord | undefined> {
    const request = await this.store.getApproval(id);
    return request && (await this.getRun(request.runId)) ? request : undefined;
  }
}
