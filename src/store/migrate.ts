import { createHash } from 'node:crypto';
import { BatonError, ErrorCodes, type ApprovalRecord, type ServerRunHealth } from '../core/index.js';
import type {
  AgentRecord,
  AttemptRecord,
  BatonCallRecord,
  ToolCallRecord,
  AuditEvent,
  ContextEntry,
  McpHealthRecord,
  MergeReport,
  PhaseRecord,
  RunRecord,
  SessionRecord,
  Store,
} from './store.js';

/** How many records of each kind. */
export interface RecordCounts {
  runs: number;
  phases: number;
  agents: number;
  attempts: number;
  toolCalls: number;
  sessions: number;
  contextEntries: number;
  auditEvents: number;
}

export interface MigrationReport {
  from: string;
  to: string;
  /** Everything the source holds (corrupt context entries excluded). */
  source: RecordCounts;
  /** Written to the target by this migration. */
  copied: RecordCounts;
  /** Already in the target, identical (a migration run again copies nothing twice). */
  alreadyPresent: RecordCounts;
  /** Context entries of the source that fail their checksum: they cannot be served, so they are not copied. */
  corrupt: string[];
  /** What was read back from the target afterwards and found equal to the source. */
  verified: {
    counts: RecordCounts;
    /** Context entries whose checksum and version match the source's. */
    contextChecksums: number;
    /** sha256 over every record in canonical form: equal on both sides. */
    digest: string;
  };
}

/** A run with everything stored under it; compared and copied as one unit. */
interface RunBundle {
  run: RunRecord;
  cancelRequested: boolean;
  phases: PhaseRecord[];
  agents: AgentRecord[];
  attempts: AttemptRecord[];
  merges: MergeReport[];
  /** Its approval requests, answered or not: a resumed run on the target must find them. */
  approvals: ApprovalRecord[];
  toolCalls: ToolCallRecord[];
  /** Its MCP servers' health as each source (the orchestrator, each worker) last reported it. */
  mcpHealth: McpHealthRecord[];
  /** Baton's own model calls for it (summaries, re-ranking): their spend is the run's. */
  batonCalls: BatonCallRecord[];
}

interface Snapshot {
  runs: RunBundle[];
  sessions: SessionRecord[];
  context: ContextEntry[];
  /** The values keyed entries' updates replaced (`Store.listReplacedContext`), by entry id, oldest first. */
  replaced: Map<string, ContextEntry[]>;
  corrupt: string[];
  audit: AuditEvent[];
}

/** JSON with object keys sorted, so equal records give equal text whatever order their fields were set in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const same = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);
const zeroCounts = (): RecordCounts => ({
  runs: 0,
  phases: 0,
  agents: 0,
  attempts: 0,
  toolCalls: 0,
  sessions: 0,
  contextEntries: 0,
  auditEvents: 0,
});

async function readBundle(store: Store, run: RunRecord): Promise<RunBundle> {
  const [cancelRequested, phases, agents, attempts, merges, approvals, toolCalls, mcpHealth, batonCalls] =
    await Promise.all([
      store.isCancelRequested(run.id),
      store.listPhases(run.id),
      store.listAgents(run.id),
      store.listAttempts(run.id),
      store.listMergeReports(run.id),
      store.listApprovals({ runId: run.id }),
      store.listToolCalls(run.id),
      store.listMcpHealth(run.id),
      store.listBatonCalls(run.id),
    ]);
  return { run, cancelRequested, phases, agents, attempts, merges, approvals, toolCalls, mcpHealth, batonCalls };
}

/** Which parts of two bundles of one run differ, for a message a user can act on. */
function bundleDifferences(a: RunBundle, b: RunBundle): string[] {
  return (
    [
      'run',
      'cancelRequested',
      'phases',
      'agents',
      'attempts',
      'merges',
      'approvals',
      'toolCalls',
      'mcpHealth',
      'batonCalls',
    ] as const
  ).filter((part) => !same(a[part], b[part]));
}

async function readSnapshot(store: Store, signal?: AbortSignal): Promise<Snapshot> {
  const runs: RunBundle[] = [];
  // Oldest first, so the target lists them in the same order and audit-like reads stay natural.
  for (const run of (await store.listRuns()).reverse()) {
    signal?.throwIfAborted();
    runs.push(await readBundle(store, run));
  }
  const listing = await store.listContextEntries({});
  return {
    runs,
    sessions: (await store.listSessions()).reverse(),
    context: listing.entries,
    replaced: await readReplaced(store, listing.entries),
    corrupt: listing.corrupt,
    audit: await store.listAuditEvents(),
  };
}

/** The replaced values of the keyed entries' runs, by entry id in version order (a corrupt one is not copied). */
async function readReplaced(store: Store, entries: ContextEntry[]): Promise<Map<string, ContextEntry[]>> {
  const byEntry = new Map<string, ContextEntry[]>();
  for (const runId of new Set(entries.filter((e) => e.key !== undefined).map((e) => e.runId)))
    for (const value of (await store.listReplacedContext(runId)).entries)
      byEntry.set(
        value.id,
        [...(byEntry.get(value.id) ?? []), value].sort((a, b) => a.version - b.version),
      );
  return byEntry;
}

function countsOf(snapshot: Pick<Snapshot, 'runs' | 'sessions' | 'context' | 'audit'>): RecordCounts {
  return {
    runs: snapshot.runs.length,
    phases: snapshot.runs.reduce((n, b) => n + b.phases.length, 0),
    agents: snapshot.runs.reduce((n, b) => n + b.agents.length, 0),
    attempts: snapshot.runs.reduce((n, b) => n + b.attempts.length, 0),
    toolCalls: snapshot.runs.reduce((n, b) => n + b.toolCalls.length, 0),
    sessions: snapshot.sessions.length,
    contextEntries: snapshot.context.length,
    auditEvents: snapshot.audit.length,
  };
}

/** One digest over every record, in a fixed order: two stores with the same data give the same one. */
function digestOf(snapshot: Pick<Snapshot, 'runs' | 'sessions' | 'context' | 'audit'>): string {
  const hash = createHash('sha256');
  for (const bundle of snapshot.runs) hash.update(sha256(canonical(bundle)));
  for (const session of snapshot.sessions) hash.update(sha256(canonical(session)));
  for (const entry of snapshot.context) hash.update(sha256(canonical(entry)));
  for (const event of snapshot.audit) hash.update(sha256(canonical(event)));
  return hash.digest('hex');
}

/** Audit events have no id: they are matched by content, each target copy matching one source event. */
function auditMultiset(events: AuditEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) counts.set(canonical(event), (counts.get(canonical(event)) ?? 0) + 1);
  return counts;
}

const listSome = (items: string[], max = 8): string =>
  items.length <= max ? items.join('; ') : `${items.slice(0, max).join('; ')}; and ${items.length - max} more`;

interface Plan {
  runs: RunBundle[];
  sessions: SessionRecord[];
  context: ContextEntry[];
  replaced: Snapshot['replaced'];
  audit: AuditEvent[];
}

/** What the target lacks, or BATON_MIGRATE_CONFLICT when it holds something else under a source id. Writes nothing. */
async function plan(source: Snapshot, target: Store, alreadyPresent: RecordCounts): Promise<Plan> {
  const conflicts: string[] = [];
  const todo: Plan = { runs: [], sessions: [], context: [], replaced: source.replaced, audit: [] };
  for (const bundle of source.runs) {
    const existing = await target.getRun(bundle.run.id);
    if (!existing) {
      todo.runs.push(bundle);
      continue;
    }
    const differences = bundleDifferences(bundle, await readBundle(target, existing));
    if (differences.length > 0) conflicts.push(`run ${bundle.run.id} (${differences.join(', ')} differ)`);
    else {
      alreadyPresent.runs++;
      alreadyPresent.phases += bundle.phases.length;
      alreadyPresent.agents += bundle.agents.length;
      alreadyPresent.attempts += bundle.attempts.length;
      alreadyPresent.toolCalls += bundle.toolCalls.length;
    }
  }
  for (const session of source.sessions) {
    const existing = await target.getSession(session.id);
    if (!existing) todo.sessions.push(session);
    else if (same(existing, session)) alreadyPresent.sessions++;
    else conflicts.push(`session ${session.id}`);
  }
  for (const entry of source.context) {
    const byId = await target.getContextEntry(entry.id).catch(() => 'corrupt' as const);
    const byKey =
      entry.key !== undefined
        ? await target.getContextEntryByKey(entry.runId, entry.key).catch(() => undefined)
        : undefined;
    if (byId === undefined && byKey === undefined) todo.context.push(entry);
    else if (byId !== 'corrupt' && same(byId, entry)) alreadyPresent.contextEntries++;
    else
      conflicts.push(
        byKey !== undefined && byKey.id !== entry.id
          ? `context key "${entry.key}" of run ${entry.runId} (held by entry ${byKey.id})`
          : `context entry ${entry.id}`,
      );
  }
  const present = auditMultiset(await target.listAuditEvents());
  for (const event of source.audit) {
    const key = canonical(event);
    const left = present.get(key) ?? 0;
    if (left > 0) {
      present.set(key, left - 1);
      alreadyPresent.auditEvents++;
    } else todo.audit.push(event);
  }
  if (conflicts.length > 0) {
    throw new BatonError(
      ErrorCodes.migrateConflict,
      `The target ${target.kind} store already holds different data under ids the source uses: ${listSome(conflicts)}. Nothing was written. Migrate into an empty store (another --data-dir, or another Redis database such as redis://host:6379/1), or remove those records from the target first.`,
    );
  }
  return todo;
}

/**
 * Saves a context entry so that it ends at the source's version: the Store sets versions itself (1 on
 * insert, +1 per update of a keyed entry), so an entry at version n is saved once and updated n-1 times
 * — through the values those updates replaced at the source (`replaced`, in version order), which the
 * target then keeps as its own replaced values; a version with none known (updated before a store kept
 * them) takes the next value known. Its id, checksum and timestamps come out as in the source.
 */
async function copyContextEntry(target: Store, entry: ContextEntry, replaced: ContextEntry[]): Promise<void> {
  const valueAt = (version: number): ContextEntry => replaced.find((r) => r.version >= version) ?? entry;
  await target.saveContextEntry(valueAt(1));
  for (let version = 1; version < entry.version; version++)
    await target.saveContextEntry(valueAt(version + 1), { expectedVersion: version });
}

function healthBySource(records: McpHealthRecord[]): Map<string, ServerRunHealth[]> {
  const bySource = new Map<string, ServerRunHealth[]>();
  for (const { source, ...health } of records) bySource.set(source, [...(bySource.get(source) ?? []), health]);
  return bySource;
}

async function copy(todo: Plan, target: Store, copied: RecordCounts, signal?: AbortSignal): Promise<void> {
  for (const bundle of todo.runs) {
    signal?.throwIfAborted();
    await target.saveRun(bundle.run);
    // The orchestrator's last sign of life is kept apart from the record (saveRun never writes it).
    if (bundle.run.aliveAt !== undefined) await target.markRunAlive(bundle.run.id, bundle.run.aliveAt);
    for (const phase of bundle.phases) await target.savePhase(phase);
    for (const agent of bundle.agents) await target.saveAgent(agent);
    for (const attempt of bundle.attempts) await target.saveAttempt(attempt);
    for (const merge of bundle.merges) await target.saveMergeReport(merge);
    for (const approval of bundle.approvals) await target.saveApproval(approval);
    for (const call of bundle.toolCalls) await target.saveToolCall(call);
    for (const [source, health] of healthBySource(bundle.mcpHealth))
      await target.saveMcpHealth(bundle.run.id, source, health);
    for (const call of bundle.batonCalls) await target.saveBatonCall(call);
    if (bundle.cancelRequested) await target.requestCancel(bundle.run.id);
    copied.runs++;
    copied.phases += bundle.phases.length;
    copied.agents += bundle.agents.length;
    copied.attempts += bundle.attempts.length;
    copied.toolCalls += bundle.toolCalls.length;
  }
  for (const session of todo.sessions) {
    await target.saveSession(session);
    copied.sessions++;
  }
  // In the source's saved order, so the target lists them in the same order.
  for (const entry of todo.context) {
    signal?.throwIfAborted();
    await copyContextEntry(target, entry, todo.replaced.get(entry.id) ?? []);
    copied.contextEntries++;
  }
  for (const event of todo.audit) {
    await target.saveAuditEvent(event);
    copied.auditEvents++;
  }
}

/** Reads back from the target every record the source has and compares it; BATON_MIGRATE_MISMATCH on any difference. */
async function verify(source: Snapshot, target: Store): Promise<MigrationReport['verified']> {
  const mismatches: string[] = [];
  const found: Snapshot = { runs: [], sessions: [], context: [], replaced: new Map(), corrupt: [], audit: [] };
  for (const bundle of source.runs) {
    const run = await target.getRun(bundle.run.id);
    if (!run) {
      mismatches.push(`run ${bundle.run.id} is missing`);
      continue;
    }
    const copy = await readBundle(target, run);
    const differences = bundleDifferences(bundle, copy);
    if (differences.length > 0) mismatches.push(`run ${bundle.run.id}: ${differences.join(', ')} differ`);
    found.runs.push(copy);
  }
  for (const session of source.sessions) {
    const copy = await target.getSession(session.id);
    if (!copy || !same(copy, session)) mismatches.push(`session ${session.id} ${copy ? 'differs' : 'is missing'}`);
    if (copy) found.sessions.push(copy);
  }
  let contextChecksums = 0;
  for (const entry of source.context) {
    const copy = await target.getContextEntry(entry.id).catch((error: Error) => error);
    if (copy instanceof Error || copy === undefined) {
      mismatches.push(`context entry ${entry.id} ${copy ? `cannot be read (${copy.message})` : 'is missing'}`);
      continue;
    }
    if (copy.checksum !== entry.checksum || copy.version !== entry.version)
      mismatches.push(`context entry ${entry.id}: checksum or version differs`);
    else if (!same(copy, entry)) mismatches.push(`context entry ${entry.id} differs`);
    else contextChecksums++;
    found.context.push(copy);
  }
  const present = auditMultiset(await target.listAuditEvents());
  for (const event of source.audit) {
    const left = present.get(canonical(event)) ?? 0;
    if (left === 0) mismatches.push(`audit event ${event.action} at ${new Date(event.at).toISOString()} is missing`);
    else {
      present.set(canonical(event), left - 1);
      found.audit.push(event);
    }
  }
  if (mismatches.length > 0) {
    throw new BatonError(
      ErrorCodes.migrateMismatch,
      `The ${target.kind} store does not read back what was copied into it: ${listSome(mismatches)}. The source is unchanged. A record field the target cannot store is the usual cause: upgrade Baton on the target side, or keep using the source.`,
    );
  }
  return { counts: countsOf(found), contextChecksums, digest: digestOf(found) };
}

/**
 * Copies every run (with its phases, agents, attempts and cancel flag), session, context entry (same
 * ids, versions and checksums) and audit event from `source` to `target`, then reads them all back and
 * compares. The source is only read. Running it again copies nothing twice; a target holding other
 * data under the same ids is refused before anything is written.
 */
export async function migrateStore(
  source: Store,
  target: Store,
  options: { signal?: AbortSignal } = {},
): Promise<MigrationReport> {
  const snapshot = await readSnapshot(source, options.signal);
  const alreadyPresent = zeroCounts();
  const copied = zeroCounts();
  const todo = await plan(snapshot, target, alreadyPresent);
  await copy(todo, target, copied, options.signal);
  const verified = await verify(snapshot, target);
  return {
    from: source.kind,
    to: target.kind,
    source: countsOf(snapshot),
    copied,
    alreadyPresent,
    corrupt: snapshot.corrupt,
    verified,
  };
}
