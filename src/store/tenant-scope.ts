import { BatonError, ErrorCodes, type ApprovalRecord, type ListApprovalsOptions } from '../core/index.js';
import type { AuditEvent, ListAuditOptions, ListSessionsOptions, RunRecord, SessionRecord, Store } from './store.js';

/** The shortest start of a run id taken for the whole: the 8 characters branch names and `baton approvals` show. */
const SHORTEST_RUN_ID_PREFIX = 8;

/**
 * The runs one reader may see: one tenant's, or every tenant's (`tenant` undefined: the operator, or a
 * CLI read without `--tenant`). Every read of a run or approval by id goes through here, so another tenant's reads exactly
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

  /** Newest first (every one without a limit). */
  listRuns(limit?: number): Promise<RunRecord[]> {
    return this.store.listRuns({
      ...(limit !== undefined ? { limit } : {}),
      ...(this.tenant !== undefined ? { tenant: this.tenant } : {}),
    });
  }

  /** Undefined for an unknown id and for another tenant's run alike. */
  async getRun(runId: string): Promise<RunRecord | undefined> {
    const run = await this.store.getRun(runId);
    return run && (this.tenant === undefined || run.tenant === this.tenant) ? run : undefined;
  }

  /**
   * The run a user names: its id, or the start of one (`5c9b515c`, as in `baton/5c9b515c/<agent>`), among
   * the runs this reader sees (another tenant's runs are neither matched nor named). A start that several
   * runs share is refused naming them; one that no run has is passed on unchanged, for the caller to
   * report as an unknown run.
   */
  async resolveRunId(given: string): Promise<string> {
    if (given.length < SHORTEST_RUN_ID_PREFIX || (await this.getRun(given))) return given;
    const matching = (await this.listRuns()).filter((run) => run.id.startsWith(given)).map((run) => run.id);
    if (matching.length > 1)
      throw new BatonError(
        ErrorCodes.usage,
        `Run id ${given} is the start of ${matching.length} runs (${matching.join(', ')}); give more of it.`,
      );
    return matching[0] ?? given;
  }

  /** Approval requests of this reader's runs only. */
  async listApprovals(options: ListApprovalsOptions = {}): Promise<ApprovalRecord[]> {
    return this.ofOwnRuns(await this.store.listApprovals(options));
  }

  /** Requests waiting for a person, of this reader's runs only. */
  pendingApprovals(): Promise<ApprovalRecord[]> {
    return this.listApprovals({ status: 'pending' });
  }

  /** Undefined for an unknown id and for a request of another tenant's run alike. */
  async getApproval(id: string): Promise<ApprovalRecord | undefined> {
    const request = await this.store.getApproval(id);
    return request && (await this.getRun(request.runId)) ? request : undefined;
  }

  /** Records (sessions, context entries) of this reader's runs only; one of a run since deleted belongs to no tenant. */
  async ofOwnRuns<T extends { runId: string }>(records: readonly T[]): Promise<T[]> {
    if (this.tenant === undefined) return [...records];
    const runIds = [...new Set(records.map((r) => r.runId))];
    const seen = new Set((await Promise.all(runIds.map((id) => this.getRun(id)))).flatMap((r) => (r ? [r.id] : [])));
    return records.filter((r) => seen.has(r.runId));
  }

  async listSessions(options: ListSessionsOptions = {}): Promise<SessionRecord[]> {
    return this.ofOwnRuns(await this.store.listSessions(options));
  }

  /** Undefined for an unknown id and for a session of another tenant's run alike. */
  async getSession(id: string): Promise<SessionRecord | undefined> {
    const session = await this.store.getSession(id);
    // Every tenant's reader sees sessions whose run is not stored too (imported with `context import`).
    if (this.tenant === undefined) return session;
    return session && (await this.getRun(session.runId)) ? session : undefined;
  }

  /**
   * Audit events about this reader's runs only (their target is the run). Events about no run (config
   * changes, migrations, session pruning) are the operator's: a tenant does not see them.
   */
  async listAuditEvents(options: ListAuditOptions = {}): Promise<AuditEvent[]> {
    const events = await this.store.listAuditEvents(options);
    if (this.tenant === undefined) return events;
    const aboutRuns = events.flatMap((event) => (event.target === undefined ? [] : [{ runId: event.target, event }]));
    return (await this.ofOwnRuns(aboutRuns)).map(({ event }) => event);
  }
}
