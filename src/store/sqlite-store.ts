import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import {
  BatonError,
  createPrivateFile,
  ErrorCodes,
  makeDataDir,
  makeDirs,
  unusableDataDir,
  type ApprovalDecision,
  type ApprovalRecord,
  type ErrorInfo,
  type ListApprovalsOptions,
  serverRunHealthSchema,
  type ServerRunHealth,
} from '../core/index.js';
import { storeDamagedError } from './backup.js';
import { migrations as defaultMigrations, type Migration } from './migrations.js';
import { searchWords, stem, usefulTerms } from './terms.js';
import {
  contextChecksum,
  contextEntryTypes,
  type AgentRecord,
  type AttemptRecord,
  type ToolCallRecord,
  type McpHealthRecord,
  type BatonCallRecord,
  type AuditEvent,
  type ListAuditOptions,
  type MergeReport,
  type ContextEntry,
  type ContextHit,
  type ContextListing,
  type ContextQuery,
  type ContextSearch,
  type ListRunsOptions,
  type ListSessionsOptions,
  type RecentContextQuery,
  type PhaseRecord,
  type RunRecord,
  type SessionRecord,
  type Store,
  type Usage,
} from './store.js';

type Row = Record<string, unknown>;

/** SQLite NULL reads back as an absent optional field, never as null. */
const optional = <T>(value: unknown): T | undefined =>
  value === null || value === undefined ? undefined : (value as T);
const toJson = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
const fromJson = <T>(value: unknown): T | undefined =>
  typeof value === 'string' ? (JSON.parse(value) as T) : undefined;
/** Drops undefined fields so records compare equal to what was saved. */
function compact<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;
}

const runFromRow = (r: Row): RunRecord =>
  compact({
    id: r.id as string,
    workflowName: r.workflow_name as string,
    tenant: r.tenant as string,
    workflowPath: optional<string>(r.workflow_path),
    workflow: fromJson<unknown>(r.workflow_json),
    status: r.status as RunRecord['status'],
    createdAt: r.created_at as number,
    startedAt: optional<number>(r.started_at),
    finishedAt: optional<number>(r.finished_at),
    pid: optional<number>(r.pid),
    host: optional<string>(r.host),
    error: fromJson<ErrorInfo>(r.error_json),
    priority: optional<number>(r.priority),
    resumes: optional<number>(r.resumes),
    aliveAt: optional<number>(r.alive_at),
  });

const phaseFromRow = (r: Row): PhaseRecord =>
  compact({
    runId: r.run_id as string,
    id: r.id as string,
    status: r.status as PhaseRecord['status'],
    startedAt: optional<number>(r.started_at),
    finishedAt: optional<number>(r.finished_at),
    generation: optional<number>(r.generation),
    parentId: optional<string>(r.parent_id),
    spec: fromJson<unknown>(r.spec_json),
    output: fromJson<PhaseRecord['output']>(r.output_json),
    error: fromJson<ErrorInfo>(r.error_json),
  });

const agentFromRow = (r: Row): AgentRecord =>
  compact({
    runId: r.run_id as string,
    phaseId: r.phase_id as string,
    id: r.id as string,
    sessionId: r.session_id as string,
    status: r.status as AgentRecord['status'],
    prompt: r.prompt as string,
    systemPrompt: r.system_prompt as string,
    model: optional<string>(r.model),
    output: fromJson<AgentRecord['output']>(r.output_json),
    mcp: fromJson<AgentRecord['mcp']>(r.mcp_json),
    context: fromJson<AgentRecord['context']>(r.context_json),
    usage: fromJson<Usage>(r.usage_json) as Usage,
    costUsd: r.cost_usd as number,
    estimatedCostUsd: optional<number>(r.estimated_cost_usd),
    turns: r.turns as number,
    attempts: r.attempts as number,
    durationMs: r.duration_ms as number,
    error: fromJson<ErrorInfo>(r.error_json),
    startedAt: optional<number>(r.started_at),
    finishedAt: optional<number>(r.finished_at),
    entryId: optional<string>(r.entry_id),
    generation: optional<number>(r.generation),
    index: optional<number>(r.idx),
    role: optional<AgentRecord['role']>(r.role),
    workspace: fromJson<AgentRecord['workspace']>(r.workspace_json),
  });

const attemptFromRow = (r: Row): AttemptRecord =>
  compact({
    runId: r.run_id as string,
    agentId: r.agent_id as string,
    attempt: r.attempt as number,
    status: r.status as AttemptRecord['status'],
    resumed: r.resumed === 1,
    startedAt: r.started_at as number,
    finishedAt: optional<number>(r.finished_at),
    usage: fromJson<Usage>(r.usage_json) as Usage,
    costUsd: r.cost_usd as number,
    estimatedCostUsd: optional<number>(r.estimated_cost_usd),
    durationMs: r.duration_ms as number,
    error: fromJson<ErrorInfo>(r.error_json),
    pid: optional<number>(r.pid),
    host: optional<string>(r.host),
  });

const sessionFromRow = (r: Row): SessionRecord =>
  compact({
    id: r.id as string,
    runId: r.run_id as string,
    agentId: r.agent_id as string,
    phaseId: optional<string>(r.phase_id),
    parentId: optional<string>(r.parent_id),
    status: r.status as SessionRecord['status'],
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
    expiresAt: optional<number>(r.expires_at),
    archivedAt: optional<number>(r.archived_at),
  });

const contextFromRow = (r: Row): ContextEntry =>
  compact({
    id: r.id as string,
    runId: r.run_id as string,
    sessionId: optional<string>(r.session_id),
    agentId: optional<string>(r.agent_id),
    phaseId: optional<string>(r.phase_id),
    type: r.type as ContextEntry['type'],
    key: optional<string>(r.key),
    content: r.content as string,
    tags: fromJson<string[]>(r.tags_json) ?? [],
    tokens: r.tokens as number,
    level: r.level as ContextEntry['level'],
    summaryOf: fromJson<string[]>(r.summary_of_json),
    checksum: r.checksum as string,
    version: r.version as number,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  });

/** Ids of the context entries of a store file whose content no longer matches its checksum. */
export function corruptContextEntryIds(db: Db): string[] {
  const rows = db.prepare('SELECT * FROM context_entries').all() as Row[];
  return rows
    .map(contextFromRow)
    .filter((entry) => !isIntact(entry))
    .map((entry) => entry.id);
}

/** A row of the FTS5 vocabulary: an indexed term and how many entries hold it. */
interface VocabRow {
  term: string;
  doc: number;
}

/** A row whose content no longer matches its checksum was changed outside Baton: never serve it. */
const isIntact = (entry: ContextEntry): boolean => contextChecksum(entry) === entry.checksum;

function intactOrCorrupt(entries: ContextEntry[]): ContextListing {
  const listing: ContextListing = { entries: [], corrupt: [] };
  for (const entry of entries) {
    if (isIntact(entry)) listing.entries.push(entry);
    else listing.corrupt.push(entry.id);
  }
  return listing;
}

function contextParams(entry: ContextEntry): Record<string, unknown> {
  return {
    id: entry.id,
    run_id: entry.runId,
    session_id: entry.sessionId ?? null,
    agent_id: entry.agentId ?? null,
    phase_id: entry.phaseId ?? null,
    type: entry.type,
    key: entry.key ?? null,
    content: entry.content,
    tags_json: JSON.stringify(entry.tags),
    tokens: entry.tokens,
    level: entry.level,
    summary_of_json: toJson(entry.summaryOf),
    checksum: entry.checksum,
    version: entry.version,
    created_at: entry.createdAt,
    updated_at: entry.updatedAt,
  };
}

function conflict(entry: ContextEntry, why: string): BatonError {
  return new BatonError(
    ErrorCodes.contextConflict,
    `Context ${entry.key !== undefined ? `key "${entry.key}"` : `entry ${entry.id}`} was not saved: ${why}.`,
  );
}

/** `INSERT … ON CONFLICT DO UPDATE` for the given columns: an upsert that keeps other columns (seq, cancel flag). */
function upsertSql(table: string, columns: string[], key: string[]): string {
  const updates = columns.filter((c) => !key.includes(c)).map((c) => `${c} = excluded.${c}`);
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})
          ON CONFLICT (${key.join(', ')}) DO UPDATE SET ${updates.join(', ')}`;
}

function openDatabase(path: string): Db {
  let db: Db | undefined;
  try {
    db = new Database(path);
    // Several processes share the file (`baton cancel` writes while a run is going): the busy
    // timeout comes first so that even switching to WAL waits for them rather than failing.
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    return db;
  } catch (cause) {
    db?.close();
    throw (
      storeDamagedError(cause, dirname(path)) ??
      new BatonError(
        ErrorCodes.store,
        `Cannot open the Baton store at ${path}: ${(cause as Error).message}. Check data_dir, or move the file away to start a new store.`,
        { cause },
      )
    );
  }
}

const schemaVersion = (db: Db): number => db.pragma('user_version', { simple: true }) as number;

function refuseNewer(version: number, newest: number, dataDir: string): void {
  if (version > newest) {
    throw new BatonError(
      ErrorCodes.store,
      `The store in ${dataDir} has schema version ${version}, newer than this Baton knows (${newest}). Upgrade Baton to open it.`,
    );
  }
}

/**
 * Copies the database as it is now, WAL included, to backups/. Called by the migrating connection
 * while it holds the write lock, so it reads through a second connection: WAL readers are never
 * blocked by a writer, and the copy is exactly the schema and data about to be migrated.
 */
function backUp(dataDir: string, fileName: string, version: number): void {
  const target = join(dataDir, 'backups', `${fileName}.v${version}.${Date.now()}.bak`);
  try {
    copyStoreFile(join(dataDir, fileName), target);
  } catch (cause) {
    throw new BatonError(
      ErrorCodes.store,
      `Cannot back up the store to ${target} before upgrading its schema: ${(cause as Error).message}. Free disk space or make ${dataDir} writable, then run Baton again.`,
      { cause },
    );
  }
}

/**
 * A consistent online copy of a store file (WAL included) that other connections may be writing, mode 0600.
 * A failed copy leaves no file: a half-written one would pass for the newest backup.
 */
export function copyStoreFile(source: string, target: string): void {
  makeDirs(dirname(target));
  // VACUUM INTO fills an empty file that is there, which keeps its mode.
  createPrivateFile(target);
  let reader: Db | undefined;
  try {
    reader = new Database(source, { readonly: true });
    reader.pragma('busy_timeout = 5000');
    reader.prepare('VACUUM INTO ?').run(target);
  } catch (error) {
    rmSync(target, { force: true });
    throw error;
  } finally {
    reader?.close();
  }
}

/**
 * Applies pending migrations in one transaction, after backing up a database that already holds data.
 * The version is read again under the write lock so that, of several processes opening an old store
 * at once, exactly one backs it up and migrates it and the others find it done.
 */
function migrate(db: Db, dataDir: string, fileName: string, list: Migration[]): void {
  const newest = Math.max(...list.map((m) => m.version));
  // Outside the lock first: nearly every open finds the schema current and should not take the write lock.
  const seen = schemaVersion(db);
  refuseNewer(seen, newest, dataDir);
  if (seen === newest) return;
  db.transaction(() => {
    const current = schemaVersion(db);
    refuseNewer(current, newest, dataDir);
    if (current === newest) return;
    if (current > 0) backUp(dataDir, fileName, current);
    const pending = list.filter((m) => m.version > current).sort((a, b) => a.version - b.version);
    for (const migration of pending) migration.up(db);
    db.pragma(`user_version = ${newest}`);
  }).immediate();
}

export interface SqliteStoreOptions {
  dataDir: string;
  fileName?: string;
  /** Replaces the built-in migration list (tests of upgrades). */
  migrations?: Migration[];
}

/** The embedded default store: one SQLite file in WAL mode; every save commits before it resolves. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private readonly statements: Record<string, Statement>;

  constructor(private readonly db: Db) {
    const runColumns = [
      'id',
      'workflow_name',
      'tenant',
      'workflow_path',
      'workflow_json',
      'status',
      'created_at',
      'started_at',
      'finished_at',
      'pid',
      'host',
      'error_json',
      'priority',
      'resumes',
    ];
    const agentColumns = [
      'run_id',
      'id',
      'phase_id',
      'session_id',
      'status',
      'prompt',
      'system_prompt',
      'model',
      'output_json',
      'mcp_json',
      'context_json',
      'usage_json',
      'cost_usd',
      'estimated_cost_usd',
      'turns',
      'attempts',
      'duration_ms',
      'error_json',
      'started_at',
      'finished_at',
      'entry_id',
      'generation',
      'idx',
      'role',
      'workspace_json',
    ];
    const attemptColumns = [
      'run_id',
      'agent_id',
      'attempt',
      'status',
      'resumed',
      'started_at',
      'finished_at',
      'usage_json',
      'cost_usd',
      'estimated_cost_usd',
      'duration_ms',
      'error_json',
      'pid',
      'host',
    ];
    const contextColumns = [
      'id',
      'run_id',
      'session_id',
      'agent_id',
      'phase_id',
      'type',
      'key',
      'content',
      'tags_json',
      'tokens',
      'level',
      'summary_of_json',
      'checksum',
      'version',
      'created_at',
      'updated_at',
    ];
    const prepare = (sql: string): Statement => db.prepare(sql);
    this.statements = {
      saveRun: prepare(upsertSql('runs', runColumns, ['id'])),
      getRun: prepare('SELECT * FROM runs WHERE id = ?'),
      listRuns:
        prepare(`SELECT * FROM runs WHERE (@status IS NULL OR status = @status) AND (@since IS NULL OR created_at >= @since)
                           AND (@tenant IS NULL OR tenant = @tenant)
                         ORDER BY created_at DESC, id DESC LIMIT @limit`),
      savePhase: prepare(
        upsertSql(
          'phases',
          [
            'run_id',
            'id',
            'status',
            'started_at',
            'finished_at',
            'generation',
            'parent_id',
            'spec_json',
            'output_json',
            'error_json',
          ],
          ['run_id', 'id'],
        ),
      ),
      listPhases: prepare('SELECT * FROM phases WHERE run_id = ? ORDER BY seq'),
      saveAgent: prepare(upsertSql('agents', agentColumns, ['run_id', 'id'])),
      getAgent: prepare('SELECT * FROM agents WHERE run_id = ? AND id = ?'),
      listAgents: prepare('SELECT * FROM agents WHERE run_id = ? ORDER BY seq'),
      saveAttempt: prepare(upsertSql('attempts', attemptColumns, ['run_id', 'agent_id', 'attempt'])),
      listAttempts: prepare(`SELECT t.* FROM attempts t LEFT JOIN agents a ON a.run_id = t.run_id AND a.id = t.agent_id
                             WHERE t.run_id = @run_id AND (@agent_id IS NULL OR t.agent_id = @agent_id)
                             ORDER BY a.seq, t.agent_id, t.attempt`),
      saveSession: prepare(
        upsertSql(
          'sessions',
          [
            'id',
            'run_id',
            'agent_id',
            'phase_id',
            'parent_id',
            'status',
            'created_at',
            'updated_at',
            'expires_at',
            'archived_at',
          ],
          ['id'],
        ),
      ),
      getSession: prepare('SELECT * FROM sessions WHERE id = ?'),
      listSessions: prepare(`SELECT * FROM sessions
                             WHERE (@run_id IS NULL OR run_id = @run_id) AND (@status IS NULL OR status = @status)
                               AND (@expired_before IS NULL OR expires_at < @expired_before)
                             ORDER BY updated_at DESC, id LIMIT @limit`),
      deleteSession: prepare('DELETE FROM sessions WHERE id = ?'),
      insertContext: prepare(
        `INSERT INTO context_entries (${contextColumns.join(', ')}) VALUES (${contextColumns.map((c) => `@${c}`).join(', ')})`,
      ),
      updateContext: prepare(
        `UPDATE context_entries SET ${contextColumns
          .filter((c) => c !== 'id' && c !== 'created_at')
          .map((c) => `${c} = @${c}`)
          .join(', ')} WHERE id = @id`,
      ),
      getContext: prepare('SELECT * FROM context_entries WHERE id = ?'),
      getContextByKey: prepare('SELECT * FROM context_entries WHERE run_id = ? AND key = ?'),
      listContext: prepare(`SELECT * FROM context_entries
                            WHERE (@run_id IS NULL OR run_id = @run_id)
                              AND (@phases IS NULL OR phase_id IN (SELECT value FROM json_each(@phases)))
                              AND (@sessions IS NULL OR session_id IN (SELECT value FROM json_each(@sessions)))
                              AND (@level IS NULL OR level = @level)
                            ORDER BY seq LIMIT @limit`),
      vocab: prepare('SELECT term, doc FROM context_vocab WHERE term IN (SELECT value FROM json_each(?))'),
      indexedEntries: prepare('SELECT COALESCE(MAX(seq), 0) AS n FROM context_entries'),
      recentContext: prepare(`SELECT * FROM context_entries
                              WHERE run_id = @run_id AND type = @type AND level = @level
                                AND phase_id IN (SELECT value FROM json_each(@phases))
                              ORDER BY seq DESC LIMIT @limit`),
      // Rank inside FTS5, then read just the top rows that belong to the run and phases asked for.
      searchRanks: prepare(`SELECT rowid AS seq, -bm25(context_fts) AS relevance FROM context_fts
                            WHERE context_fts MATCH @match ORDER BY bm25(context_fts) LIMIT @scan`),
      // Driven by the id list, so each row is one primary-key seek rather than a table scan.
      entriesBySeq:
        prepare(`SELECT e.* FROM json_each(@seqs) AS wanted CROSS JOIN context_entries AS e ON e.seq = wanted.value
                             WHERE e.run_id = @run_id AND (@phases IS NULL OR e.phase_id IN (SELECT value FROM json_each(@phases)))`),
      saveAudit: prepare(
        'INSERT INTO audit_events (at, actor, action, target, details_json) VALUES (@at, @actor, @action, @target, @details_json)',
      ),
      listAudit:
        prepare(`SELECT * FROM (SELECT * FROM audit_events WHERE (@since IS NULL OR at >= @since) AND (@action IS NULL OR action = @action)
                            ORDER BY seq DESC LIMIT @limit) ORDER BY seq`),
      pruneAudit: prepare('DELETE FROM audit_events WHERE at < ?'),
      requestCancel: prepare('UPDATE runs SET cancel_requested = 1 WHERE id = ?'),
      claimResume: prepare('UPDATE runs SET resumes = @next WHERE id = @id AND COALESCE(resumes, 0) = @seen'),
      isCancelRequested: prepare('SELECT cancel_requested FROM runs WHERE id = ?'),
      clearCancel: prepare('UPDATE runs SET cancel_requested = 0 WHERE id = ?'),
      markRunAlive: prepare('UPDATE runs SET alive_at = ? WHERE id = ?'),
      saveReplacedContext: prepare(`INSERT INTO context_replaced (entry_id, version, run_id, json)
                                    VALUES (@entry_id, @version, @run_id, @json) ON CONFLICT DO NOTHING`),
      listReplacedContext: prepare(
        "SELECT json FROM context_replaced WHERE run_id = ? ORDER BY json_extract(json, '$.updatedAt'), version",
      ),
      saveMergeReport:
        prepare(`INSERT INTO merge_reports (run_id, phase_id, report_json) VALUES (@run_id, @phase_id, @report_json)
                                ON CONFLICT (run_id, phase_id) DO UPDATE SET report_json = excluded.report_json`),
      listMergeReports: prepare('SELECT report_json FROM merge_reports WHERE run_id = ? ORDER BY seq'),
      saveApproval: prepare(`INSERT INTO approvals (id, run_id, status, requested_at, record_json)
                             VALUES (@id, @run_id, @status, @requested_at, @record_json) ON CONFLICT (id) DO NOTHING`),
      getApproval: prepare('SELECT record_json FROM approvals WHERE id = ?'),
      listApprovals: prepare(`SELECT record_json FROM approvals
                              WHERE (@run_id IS NULL OR run_id = @run_id) AND (@status IS NULL OR status = @status)
                              ORDER BY requested_at, seq`),
      // Only a pending request takes an answer: two people answering at once cannot both win.
      decideApproval: prepare(
        "UPDATE approvals SET status = @status, record_json = @record_json WHERE id = @id AND status = 'pending'",
      ),
      saveToolCall: prepare(
        upsertSql(
          'tool_calls',
          ['run_id', 'agent_id', 'attempt', 'seq', 'started_at', 'json'],
          ['run_id', 'agent_id', 'attempt', 'seq'],
        ),
      ),
      listToolCalls:
        prepare(`SELECT json FROM tool_calls WHERE run_id = @run_id AND (@agent_id IS NULL OR agent_id = @agent_id)
                              ORDER BY started_at, agent_id, attempt, seq`),
      pruneToolCalls: prepare('DELETE FROM tool_calls WHERE started_at < ?'),
      saveMcpHealth: prepare(
        upsertSql('mcp_health', ['run_id', 'source', 'server', 'json'], ['run_id', 'source', 'server']),
      ),
      listMcpHealth: prepare('SELECT source, json FROM mcp_health WHERE run_id = ? ORDER BY source, server'),
      saveBatonCall: prepare(upsertSql('baton_calls', ['id', 'run_id', 'tenant', 'started_at', 'json'], ['id'])),
      listBatonCalls: prepare('SELECT json FROM baton_calls WHERE run_id = ? ORDER BY started_at, id'),
    };
  }

  private run(name: string, params: unknown): void {
    this.statements[name]!.run(params);
  }

  async saveRun(run: RunRecord): Promise<void> {
    this.run('saveRun', {
      id: run.id,
      workflow_name: run.workflowName,
      tenant: run.tenant,
      workflow_path: run.workflowPath ?? null,
      workflow_json: JSON.stringify(run.workflow ?? null),
      status: run.status,
      created_at: run.createdAt,
      started_at: run.startedAt ?? null,
      finished_at: run.finishedAt ?? null,
      pid: run.pid ?? null,
      host: run.host ?? null,
      error_json: toJson(run.error),
      priority: run.priority ?? null,
      resumes: run.resumes ?? null,
    });
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const row = this.statements.getRun!.get(runId) as Row | undefined;
    return row ? runFromRow(row) : undefined;
  }

  async listRuns(options: ListRunsOptions = {}): Promise<RunRecord[]> {
    const rows = this.statements.listRuns!.all({
      status: options.status ?? null,
      since: options.since ?? null,
      tenant: options.tenant ?? null,
      limit: options.limit ?? -1,
    }) as Row[];
    return rows.map(runFromRow);
  }

  async savePhase(phase: PhaseRecord): Promise<void> {
    this.run('savePhase', {
      run_id: phase.runId,
      id: phase.id,
      status: phase.status,
      started_at: phase.startedAt ?? null,
      finished_at: phase.finishedAt ?? null,
      generation: phase.generation ?? null,
      parent_id: phase.parentId ?? null,
      spec_json: toJson(phase.spec),
      output_json: toJson(phase.output),
      error_json: toJson(phase.error),
    });
  }

  async listPhases(runId: string): Promise<PhaseRecord[]> {
    return (this.statements.listPhases!.all(runId) as Row[]).map(phaseFromRow);
  }

  async saveAgent(agent: AgentRecord): Promise<void> {
    this.run('saveAgent', {
      run_id: agent.runId,
      id: agent.id,
      phase_id: agent.phaseId,
      session_id: agent.sessionId,
      status: agent.status,
      prompt: agent.prompt,
      system_prompt: agent.systemPrompt,
      model: agent.model ?? null,
      output_json: toJson(agent.output),
      mcp_json: toJson(agent.mcp),
      context_json: toJson(agent.context),
      usage_json: JSON.stringify(agent.usage),
      cost_usd: agent.costUsd,
      estimated_cost_usd: agent.estimatedCostUsd ?? null,
      turns: agent.turns,
      attempts: agent.attempts,
      duration_ms: agent.durationMs,
      error_json: toJson(agent.error),
      started_at: agent.startedAt ?? null,
      finished_at: agent.finishedAt ?? null,
      entry_id: agent.entryId ?? null,
      generation: agent.generation ?? null,
      idx: agent.index ?? null,
      role: agent.role ?? null,
      workspace_json: toJson(agent.workspace),
    });
  }

  async getAgent(runId: string, agentId: string): Promise<AgentRecord | undefined> {
    const row = this.statements.getAgent!.get(runId, agentId) as Row | undefined;
    return row ? agentFromRow(row) : undefined;
  }

  async listAgents(runId: string): Promise<AgentRecord[]> {
    return (this.statements.listAgents!.all(runId) as Row[]).map(agentFromRow);
  }

  async saveAttempt(attempt: AttemptRecord): Promise<void> {
    this.run('saveAttempt', {
      run_id: attempt.runId,
      agent_id: attempt.agentId,
      attempt: attempt.attempt,
      status: attempt.status,
      resumed: attempt.resumed ? 1 : 0,
      started_at: attempt.startedAt,
      finished_at: attempt.finishedAt ?? null,
      usage_json: JSON.stringify(attempt.usage),
      cost_usd: attempt.costUsd,
      estimated_cost_usd: attempt.estimatedCostUsd ?? null,
      duration_ms: attempt.durationMs,
      error_json: toJson(attempt.error),
      pid: attempt.pid ?? null,
      host: attempt.host ?? null,
    });
  }

  async listAttempts(runId: string, agentId?: string): Promise<AttemptRecord[]> {
    return (this.statements.listAttempts!.all({ run_id: runId, agent_id: agentId ?? null }) as Row[]).map(
      attemptFromRow,
    );
  }

  async saveSession(session: SessionRecord): Promise<void> {
    this.run('saveSession', {
      id: session.id,
      run_id: session.runId,
      agent_id: session.agentId,
      phase_id: session.phaseId ?? null,
      parent_id: session.parentId ?? null,
      status: session.status,
      created_at: session.createdAt,
      updated_at: session.updatedAt,
      expires_at: session.expiresAt ?? null,
      archived_at: session.archivedAt ?? null,
    });
  }

  async listSessions(options: ListSessionsOptions = {}): Promise<SessionRecord[]> {
    const rows = this.statements.listSessions!.all({
      run_id: options.runId ?? null,
      status: options.status ?? null,
      expired_before: options.expiredBefore ?? null,
      limit: options.limit ?? -1,
    }) as Row[];
    return rows.map(sessionFromRow);
  }

  async deleteSession(sessionId: string): Promise<boolean> {
    return this.statements.deleteSession!.run(sessionId).changes > 0;
  }

  async saveContextEntry(entry: ContextEntry, options: { expectedVersion?: number } = {}): Promise<ContextEntry> {
    const save = this.db.transaction((): ContextEntry => {
      const existingRow = (
        entry.key !== undefined
          ? this.statements.getContextByKey!.get(entry.runId, entry.key)
          : this.statements.getContext!.get(entry.id)
      ) as Row | undefined;
      const existing = existingRow ? contextFromRow(existingRow) : undefined;
      const stored: ContextEntry = { ...entry, checksum: contextChecksum(entry), version: 1 };
      if (!existing) {
        if (options.expectedVersion !== undefined && options.expectedVersion !== 0) {
          throw conflict(entry, `it does not exist (expected version ${options.expectedVersion})`);
        }
        this.statements.insertContext!.run(contextParams(stored));
        return stored;
      }
      if (entry.key === undefined) {
        // Unkeyed entries are immutable facts: saving the same one again is a no-op.
        if (existing.checksum === stored.checksum) return existing;
        throw conflict(entry, 'an entry with this id already says something else');
      }
      if (options.expectedVersion !== existing.version) {
        throw conflict(
          entry,
          `it is at version ${existing.version}, not ${options.expectedVersion ?? 'unset'}: re-read it and apply the change again`,
        );
      }
      const updated: ContextEntry = {
        ...stored,
        id: existing.id,
        createdAt: existing.createdAt,
        version: existing.version + 1,
      };
      // The value it replaces stays readable, with its own source: see `listReplacedContext`.
      this.statements.saveReplacedContext!.run({
        entry_id: existing.id,
        version: existing.version,
        run_id: existing.runId,
        json: JSON.stringify(existing),
      });
      this.statements.updateContext!.run(contextParams(updated));
      return updated;
    });
    return save.immediate();
  }

  async getContextEntry(id: string): Promise<ContextEntry | undefined> {
    return this.verified(this.statements.getContext!.get(id) as Row | undefined);
  }

  async getContextEntryByKey(runId: string, key: string): Promise<ContextEntry | undefined> {
    return this.verified(this.statements.getContextByKey!.get(runId, key) as Row | undefined);
  }

  async listContextEntries(query: ContextQuery): Promise<ContextListing> {
    const rows = this.statements.listContext!.all({
      run_id: query.runId ?? null,
      phases: query.phaseIds ? JSON.stringify(query.phaseIds) : null,
      sessions: query.sessionIds ? JSON.stringify(query.sessionIds) : null,
      level: query.level ?? null,
      limit: query.limit ?? -1,
    }) as Row[];
    return intactOrCorrupt(rows.map(contextFromRow));
  }

  async searchContext(query: ContextSearch): Promise<ContextHit[]> {
    const match = this.matchExpression(query.text);
    if (!match) return [];
    // The top hits across all runs, of which this run's and phases' are kept: three times the limit
    // leaves room for the other phases (and runs) a store holds.
    const ranks = this.statements.searchRanks!.all({ match, scan: query.limit * 3 }) as Array<{
      seq: number;
      relevance: number;
    }>;
    const relevance = new Map(ranks.map((r) => [r.seq, r.relevance]));
    const rows = this.statements.entriesBySeq!.all({
      seqs: JSON.stringify(ranks.map((r) => r.seq)),
      run_id: query.runId,
      phases: query.phaseIds ? JSON.stringify(query.phaseIds) : null,
    }) as Row[];
    const hits: ContextHit[] = [];
    for (const row of rows.sort(
      (a, b) =>
        (relevance.get(b.seq as number) ?? 0) - (relevance.get(a.seq as number) ?? 0) ||
        (a.seq as number) - (b.seq as number),
    )) {
      const entry = contextFromRow(row);
      if (isIntact(entry)) hits.push({ entry, relevance: relevance.get(row.seq as number) ?? 0 });
      if (hits.length === query.limit) break;
    }
    return hits;
  }

  async recentContext(query: RecentContextQuery): Promise<ContextEntry[]> {
    const phases = JSON.stringify(query.phaseIds);
    const rows = contextEntryTypes.flatMap(
      (type) =>
        this.statements.recentContext!.all({
          run_id: query.runId,
          type,
          level: query.level,
          phases,
          limit: query.perType,
        }) as Row[],
    );
    return rows.map(contextFromRow).filter(isIntact);
  }

  /**
   * An FTS5 query for the words that can tell entries apart: a word in more than a tenth of all
   * entries has almost no weight in BM25 but would make the search visit nearly every row.
   */
  private matchExpression(text: string): string | undefined {
    const words = searchWords(text);
    if (words.length === 0) return undefined;
    const indexed = (this.statements.indexedEntries!.get() as { n: number }).n;
    // The vocabulary holds what the porter tokenizer indexed: the same stems `stem` gives.
    const stems = new Map(words.map((word) => [word, stem(word)]));
    const rows = this.statements.vocab!.all(JSON.stringify([...new Set(stems.values())])) as VocabRow[];
    const indexedFrequency = new Map(rows.map((r) => [r.term, r.doc]));
    const frequency = new Map([...stems.values()].map((term) => [term, indexedFrequency.get(term) ?? 0]));
    const chosen = new Set(usefulTerms(frequency, indexed));
    return words
      .filter((word) => chosen.has(stems.get(word)!))
      .map((word) => `"${word}"`)
      .join(' OR ');
  }

  private verified(row: Row | undefined): ContextEntry | undefined {
    if (!row) return undefined;
    const entry = contextFromRow(row);
    if (!isIntact(entry)) {
      throw new BatonError(
        ErrorCodes.contextCorrupt,
        `Context entry ${entry.id} does not match its checksum: it was changed outside Baton. It is not served; restore it from a backup or an export.`,
      );
    }
    return entry;
  }

  async getSession(sessionId: string): Promise<SessionRecord | undefined> {
    const row = this.statements.getSession!.get(sessionId) as Row | undefined;
    return row ? sessionFromRow(row) : undefined;
  }

  async saveAuditEvent(event: AuditEvent): Promise<void> {
    this.run('saveAudit', {
      at: event.at,
      actor: event.actor,
      action: event.action,
      target: event.target ?? null,
      details_json: JSON.stringify(event.details),
    });
  }

  async listAuditEvents(options: ListAuditOptions = {}): Promise<AuditEvent[]> {
    const rows = this.statements.listAudit!.all({
      since: options.since ?? null,
      action: options.action ?? null,
      limit: options.limit ?? -1,
    }) as Row[];
    return rows.map((r) =>
      compact({
        at: r.at as number,
        actor: r.actor as string,
        action: r.action as string,
        target: optional<string>(r.target),
        details: fromJson<Record<string, unknown>>(r.details_json) ?? {},
      }),
    );
  }

  async pruneAuditEvents(before: number): Promise<number> {
    return this.statements.pruneAudit!.run(before).changes;
  }

  async requestCancel(runId: string): Promise<boolean> {
    return this.statements.requestCancel!.run(runId).changes > 0;
  }

  async claimResume(runId: string, seenResumes: number): Promise<boolean> {
    return this.statements.claimResume!.run({ id: runId, seen: seenResumes, next: seenResumes + 1 }).changes > 0;
  }

  async isCancelRequested(runId: string): Promise<boolean> {
    const row = this.statements.isCancelRequested!.get(runId) as { cancel_requested: number } | undefined;
    return row?.cancel_requested === 1;
  }

  async markRunAlive(runId: string, at: number): Promise<void> {
    this.statements.markRunAlive!.run(at, runId);
  }

  async listReplacedContext(runId: string): Promise<ContextListing> {
    const rows = this.statements.listReplacedContext!.all(runId) as Array<{ json: string }>;
    return intactOrCorrupt(rows.map((row) => JSON.parse(row.json) as ContextEntry));
  }

  async clearCancel(runId: string): Promise<void> {
    this.statements.clearCancel!.run(runId);
  }

  async saveMergeReport(report: MergeReport): Promise<void> {
    this.run('saveMergeReport', {
      run_id: report.runId,
      phase_id: report.phaseId,
      report_json: JSON.stringify(report),
    });
  }

  async listMergeReports(runId: string): Promise<MergeReport[]> {
    const rows = this.statements.listMergeReports!.all(runId) as Array<{ report_json: string }>;
    return rows.map((r) => JSON.parse(r.report_json) as MergeReport);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async saveApproval(request: ApprovalRecord): Promise<ApprovalRecord> {
    this.run('saveApproval', {
      id: request.id,
      run_id: request.runId,
      status: request.status,
      requested_at: request.requestedAt,
      record_json: JSON.stringify(request),
    });
    return (await this.getApproval(request.id))!;
  }

  async getApproval(id: string): Promise<ApprovalRecord | undefined> {
    const row = this.statements.getApproval!.get(id) as Row | undefined;
    return fromJson<ApprovalRecord>(row?.record_json);
  }

  async listApprovals(options: ListApprovalsOptions = {}): Promise<ApprovalRecord[]> {
    const rows = this.statements.listApprovals!.all({
      run_id: options.runId ?? null,
      status: options.status ?? null,
    }) as Row[];
    return rows.map((row) => fromJson<ApprovalRecord>(row.record_json)!);
  }

  async saveApprovalDecision(decision: ApprovalDecision): Promise<ApprovalRecord | undefined> {
    const current = await this.getApproval(decision.id);
    if (!current || current.status !== 'pending') return undefined;
    const answered: ApprovalRecord = { ...current, status: decision.status, answer: decision.answer };
    const changed = this.statements.decideApproval!.run({
      id: decision.id,
      status: decision.status,
      record_json: JSON.stringify(answered),
    }).changes;
    return changed > 0 ? answered : undefined;
  }

  async saveToolCall(call: ToolCallRecord): Promise<void> {
    this.run('saveToolCall', {
      run_id: call.runId,
      agent_id: call.agentId,
      attempt: call.attempt,
      seq: call.seq,
      started_at: call.startedAt,
      json: JSON.stringify(call),
    });
  }

  async listToolCalls(runId: string, agentId?: string): Promise<ToolCallRecord[]> {
    const rows = this.statements.listToolCalls!.all({ run_id: runId, agent_id: agentId ?? null }) as Row[];
    return rows.map((r) => JSON.parse(r.json as string) as ToolCallRecord);
  }

  async pruneToolCalls(before: number): Promise<number> {
    return this.statements.pruneToolCalls!.run(before).changes;
  }

  async saveMcpHealth(runId: string, source: string, health: ServerRunHealth[]): Promise<void> {
    this.db.transaction(() => {
      for (const server of health)
        this.run('saveMcpHealth', { run_id: runId, source, server: server.name, json: JSON.stringify(server) });
    })();
  }

  async listMcpHealth(runId: string): Promise<McpHealthRecord[]> {
    const rows = this.statements.listMcpHealth!.all(runId) as Row[];
    return rows.map((r) => ({
      ...serverRunHealthSchema.parse(JSON.parse(r.json as string)),
      source: r.source as string,
    }));
  }

  async saveBatonCall(call: BatonCallRecord): Promise<void> {
    const row = { id: call.id, run_id: call.runId, tenant: call.tenant, started_at: call.startedAt };
    this.run('saveBatonCall', { ...row, json: JSON.stringify(call) });
  }

  async listBatonCalls(runId: string): Promise<BatonCallRecord[]> {
    const rows = this.statements.listBatonCalls!.all(runId) as Row[];
    return rows.map((r) => JSON.parse(r.json as string) as BatonCallRecord);
  }
}

/**
 * An empty store in memory, for a command that only reads or changes what is already stored when
 * data_dir holds no store: it answers as an empty store would, and no file is created (a mistyped
 * `--data-dir` must not leave a new, empty store behind).
 */
export function openEmptySqliteStore(dataDir: string): SqliteStore {
  const db = new Database(':memory:');
  migrate(db, dataDir, ':memory:', defaultMigrations);
  return new SqliteStore(db);
}

export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const fileName = options.fileName ?? 'baton.db';
  makeDataDir(options.dataDir);
  const path = join(options.dataDir, fileName);
  try {
    // 0600 before SQLite opens it: the file, its WAL and shared memory are then their user's alone.
    createPrivateFile(path);
  } catch (cause) {
    throw unusableDataDir(options.dataDir, cause);
  }
  const db = openDatabase(path);
  try {
    migrate(db, options.dataDir, fileName, options.migrations ?? defaultMigrations);
    return new SqliteStore(db);
  } catch (cause) {
    db.close();
    if (cause instanceof BatonError) throw cause;
    if ((cause as { code?: unknown }).code === 'SQLITE_BUSY') {
      throw new BatonError(
        ErrorCodes.store,
        `The store at ${path} stayed locked by another Baton process (upgrading it, perhaps). Run the command again in a moment.`,
        { cause },
      );
    }
    throw (
      storeDamagedError(cause, dirname(path)) ??
      new BatonError(
        ErrorCodes.store,
        `Cannot open the Baton store at ${path}: ${(cause as Error).message}. Is it a Baton database? Move it away to start a new store.`,
        { cause },
      )
    );
  }
}
