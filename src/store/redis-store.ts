import type { ChainableCommander, Redis, Result } from 'ioredis';
import {
  BatonError,
  ErrorCodes,
  redactShapes,
  serverRunHealthSchema,
  type ApprovalDecision,
  type ApprovalRecord,
  type ListApprovalsOptions,
  type ServerRunHealth,
} from '../core/index.js';
import { createRedisClient } from './redis-client.js';
import { bm25Term } from './redis-search.js';
import { searchTerms, termFrequencies, usefulTerms } from './terms.js';
import {
  contextChecksum,
  contextEntryTypes,
  type AgentRecord,
  type AttemptRecord,
  type AuditEvent,
  type ContextEntry,
  type ContextHit,
  type ContextListing,
  type ContextQuery,
  type ContextSearch,
  type ListAuditOptions,
  type MergeReport,
  type ListRunsOptions,
  type ListSessionsOptions,
  type McpHealthRecord,
  type PhaseRecord,
  type RecentContextQuery,
  type RunRecord,
  type SessionRecord,
  type Store,
  type ToolCallRecord,
  type BatonCallRecord,
} from './store.js';

/**
 * The layout this code writes; a Redis holding a newer one is refused rather than misread, an older
 * one is brought up to date. 2: context postings hold Porter stems (`terms.ts`), as SQLite's FTS5 does.
 */
export const REDIS_LAYOUT_VERSION = 2;

export interface RedisStoreOptions {
  /** redis:// or rediss:// URL (the `redis_url` setting). */
  url: string;
  /** Prepended to every key, so several Baton installations (or tests) can share one Redis. Default `baton:`. */
  keyPrefix?: string;
  /** How long the first connection may take before Baton gives up with BATON_REDIS_UNAVAILABLE. Default 3 s. */
  connectTimeoutMs?: number;
}

/** The URL as it may be shown: any password replaced by `***`. */
export function redactRedisUrl(url: string): string {
  return URL.canParse(url) ? redactShapes(url) : '(unparseable URL)';
}

// Ids go into key names encoded, so no id can contain the `:` that separates key segments.
const enc = encodeURIComponent;
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Every key the store uses, in one place (docs/scaling.md shows the same layout). */
function storeKeys(p: string) {
  const k = {
    meta: `${p}meta`,
    runs: `${p}runs`,
    runsByStatus: (status: string): string => `${p}runs:status:${enc(status)}`,
    runsByTenant: (tenant: string): string => `${p}runs:tenant:${enc(tenant)}`,
    run: (id: string): string => `${p}run:${enc(id)}`,
    phases: (runId: string): string => `${k.run(runId)}:phases`,
    phaseOrder: (runId: string): string => `${k.run(runId)}:phases:order`,
    agents: (runId: string): string => `${k.run(runId)}:agents`,
    agentOrder: (runId: string): string => `${k.run(runId)}:agents:order`,
    attempts: (runId: string): string => `${k.run(runId)}:attempts`,
    merges: (runId: string): string => `${k.run(runId)}:merges`,
    mergeOrder: (runId: string): string => `${k.run(runId)}:merges:order`,

    sessions: `${p}sessions`,
    sessionsByRun: (runId: string): string => `${p}sessions:run:${enc(runId)}`,
    sessionsByStatus: (status: string): string => `${p}sessions:status:${enc(status)}`,
    sessionsByExpiry: `${p}sessions:expiry`,
    session: (id: string): string => `${p}session:${enc(id)}`,

    contextSeq: `${p}context:seq`,
    contextAll: `${p}context`,
    contextEntry: (id: string): string => `${p}context:entry:${enc(id)}`,
    runContext: (runId: string): string => `${k.run(runId)}:context`,
    contextKeys: (runId: string): string => `${k.runContext(runId)}:keys`,
    contextByPhase: (runId: string, phaseId: string): string => `${k.runContext(runId)}:phase:${enc(phaseId)}`,
    contextRecent: (runId: string, phaseId: string, type: string, level: number): string =>
      `${k.runContext(runId)}:recent:${enc(phaseId)}:${type}:${level}`,
    contextTerm: (runId: string, term: string): string => `${k.runContext(runId)}:term:${enc(term)}`,
    contextLengths: (runId: string): string => `${k.runContext(runId)}:length`,
    contextStats: (runId: string): string => `${k.runContext(runId)}:stats`,
    /** Hash `<entry id>@<version>` → the JSON of a keyed entry's value that an update replaced. */
    contextReplaced: (runId: string): string => `${k.runContext(runId)}:replaced`,

    auditSeq: `${p}audit:seq`,
    auditEvents: `${p}audit:events`,
    auditByTime: `${p}audit:at`,
    auditByAction: (action: string): string => `${p}audit:action:${enc(action)}`,

    approval: (id: string): string => `${p}approval:${enc(id)}`,
    /** Sorted sets of approval ids by request time: all, and by run, status, run and status. */
    approvals: (runId?: string, status?: string): string =>
      `${p}approvals:${runId === undefined ? '*' : enc(runId)}:${status ?? '*'}`,
    toolCalls: (runId: string): string => `${k.run(runId)}:tools`,
    toolCallsByStart: `${p}tools:at`,
    /** A hash per run: field `source server` (each encoded), value the server's health as that source saw it. */
    mcpHealth: (runId: string): string => `${k.run(runId)}:mcp`,
    /** A hash per run: field the call's id, value Baton's own model call. */
    batonCalls: (runId: string): string => `${k.run(runId)}:calls`,
  };
  return k;
}
type Keys = ReturnType<typeof storeKeys>;

/**
 * The sorted sets a record is listed in, as `score key` lines. A record remembers its lines (hash
 * field `idx`) so that saving it again moves it out of the sets it no longer belongs to (a run that
 * changed status, a session that changed run or expiry) in the same atomic step.
 */
type IndexLines = Array<[score: number, key: string]>;
const indexMemo = (lines: IndexLines): string => lines.map(([score, key]) => `${score} ${key}`).join('\n');

const reindexLua = `
local function reindex(record, member, memo)
  local old = redis.call('HGET', record, 'idx')
  if old then
    for line in string.gmatch(old, '[^\\n]+') do redis.call('ZREM', string.match(line, '^%S+ (.+)$'), member) end
  end
  for line in string.gmatch(memo, '[^\\n]+') do
    local score, key = string.match(line, '^(%S+) (.+)$')
    redis.call('ZADD', key, score, member)
  end
  redis.call('HSET', record, 'idx', memo)
end
`;

/**
 * The Lua scripts, defined on the connection as commands: ioredis runs each by its SHA and sends the
 * source again when Redis lost it (a restart flushes the script cache).
 */
const luaCommands = {
  batonSaveIndexed: {
    numberOfKeys: 1,
    lua: `${reindexLua}
reindex(KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[1], 'json', ARGV[2])`,
  },
  batonDeleteIndexed: {
    numberOfKeys: 1,
    lua: `${reindexLua}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
reindex(KEYS[1], ARGV[1], '')
redis.call('DEL', KEYS[1])
return 1`,
  },
  batonSaveInOrder: {
    numberOfKeys: 2,
    lua: `if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[1]) end`,
  },
  batonDecideApproval: {
    numberOfKeys: 1,
    lua: `if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'json', ARGV[2])
for key in string.gmatch(ARGV[4], '%S+') do redis.call('ZREM', key, ARGV[3]) end
for key in string.gmatch(ARGV[5], '%S+') do redis.call('ZADD', key, ARGV[6], ARGV[3]) end
return 1`,
  },
  batonRequestCancel: {
    numberOfKeys: 1,
    lua: `if redis.call('HEXISTS', KEYS[1], 'json') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'cancel', '1')
return 1`,
  },
  // The run's resumes counted in a field of their own, compared and set at once. A run copied in by
  // `baton migrate` has none yet: its first claim is taken as seen by its caller (the record's count).
  batonClaimResume: {
    numberOfKeys: 1,
    lua: `if redis.call('HEXISTS', KEYS[1], 'json') == 0 then return 0 end
local current = redis.call('HGET', KEYS[1], 'resumes')
if current and current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'resumes', ARGV[2])
return 1`,
  },
  // Only on a run that exists: a late beat must not leave a stray hash behind a deleted run.
  batonMarkAlive: {
    numberOfKeys: 1,
    lua: `if redis.call('HEXISTS', KEYS[1], 'json') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'alive', ARGV[1])
return 1`,
  },
  batonCommitContext: {
    numberOfKeys: 3,
    lua: `${reindexLua}
local current = redis.call('HGET', KEYS[1], 'version')
if ARGV[4] == '' then
  if current then return 0 end
  if ARGV[5] ~= '' and redis.call('HSETNX', KEYS[2], ARGV[5], ARGV[1]) == 0 then return 0 end
elseif current ~= ARGV[4] then
  return 0
end
redis.call('HINCRBY', KEYS[3], 'length', tonumber(ARGV[8]) - tonumber(redis.call('HGET', KEYS[1], 'length') or '0'))
reindex(KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'version', ARGV[6], 'seq', ARGV[7], 'length', ARGV[8])
return 1`,
  },
};

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** Saves a record hash and moves it between its sorted sets. */
    batonSaveIndexed(record: string, member: string, json: string, indexMemo: string): Result<null, Context>;
    /** Deletes a record hash and takes it out of its sorted sets. 1 when it existed. */
    batonDeleteIndexed(record: string, member: string): Result<0 | 1, Context>;
    /** A new id goes to the end of the order; an update keeps its place. */
    batonSaveInOrder(records: string, order: string, id: string, json: string): Result<null, Context>;
    /** Flags a run for cancelling. 1 when the run exists. */
    batonRequestCancel(run: string): Result<0 | 1, Context>;
    /** Sets the run's `resumes` field to ARGV[2] when it is ARGV[1] or unset. 1 when claimed. */
    batonClaimResume(run: string, seen: string, next: string): Result<0 | 1, Context>;
    /** Sets the run's `alive` field to the time given, when the run exists. */
    batonMarkAlive(run: string, at: string): Result<0 | 1, Context>;
    /**
     * Answers a pending approval: status, json, id, the pending index keys, then the answered ones
     * (space-separated), request time. 0 when it is not pending.
     */
    batonDecideApproval(
      approval: string,
      status: string,
      json: string,
      id: string,
      pendingIndexes: string,
      answeredIndexes: string,
      requestedAt: number,
    ): Result<0 | 1, Context>;
    /**
     * Compare-and-set of a context entry: `replacesVersion` is the version the stored entry must have
     * ('' = must not exist), `key` '' = none. 0, changing nothing, when another writer got there first.
     */
    batonCommitContext(
      entry: string,
      runKeys: string,
      runStats: string,
      id: string,
      json: string,
      indexMemo: string,
      replacesVersion: string,
      key: string,
      version: string,
      seq: string,
      length: string,
    ): Result<0 | 1, Context>;
  }
}

/** Runs a pipeline or transaction and returns its replies, throwing the first error. */
async function replies(batch: ChainableCommander): Promise<unknown[]> {
  const results = (await batch.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

const parse = <T>(json: unknown): T | undefined => (typeof json === 'string' ? (JSON.parse(json) as T) : undefined);

function conflict(entry: ContextEntry, why: string): BatonError {
  return new BatonError(
    ErrorCodes.contextConflict,
    `Context ${entry.key !== undefined ? `key "${entry.key}"` : `entry ${entry.id}`} was not saved: ${why}.`,
  );
}

/** An entry read back, or the id of one that no longer matches its checksum (with what is left of it, if it still parses). */
type ReadEntry = { entry: ContextEntry } | { corrupt: string; damaged?: ContextEntry };

function readEntry(id: string, json: string): ReadEntry {
  let entry: ContextEntry;
  try {
    entry = JSON.parse(json) as ContextEntry;
  } catch {
    return { corrupt: id };
  }
  return contextChecksum(entry) === entry.checksum ? { entry } : { corrupt: id, damaged: entry };
}

const page = 500;
/** Enough rounds for any honest race; a key wedged between two ids would otherwise spin forever. */
const maxCommitRounds = 50;

/**
 * The shared store for several machines: every record is kept whole as JSON (fields added to the
 * records later round-trip untouched), with sorted sets and lists for the orders the Store promises.
 * Multi-key updates run as Lua scripts, so each save is atomic, as a SQLite transaction is.
 */
export class RedisStore implements Store {
  readonly kind = 'redis';
  private readonly keys: Keys;

  constructor(
    private readonly redis: Redis,
    keyPrefix = 'baton:',
  ) {
    this.keys = storeKeys(keyPrefix);
    for (const [name, definition] of Object.entries(luaCommands)) redis.defineCommand(name, definition);
  }

  /** The connection, for tests and tools that look at the raw layout. */
  get client(): Redis {
    return this.redis;
  }

  /**
   * Refuses a Redis written by a newer Baton, marks a fresh one with this layout version, and
   * re-indexes the context of one written by an older Baton.
   */
  async checkLayout(url: string): Promise<void> {
    await this.redis.hsetnx(this.keys.meta, 'layout', String(REDIS_LAYOUT_VERSION));
    const layout = Number(await this.redis.hget(this.keys.meta, 'layout'));
    if (layout > REDIS_LAYOUT_VERSION) {
      throw new BatonError(
        ErrorCodes.store,
        `The Redis store at ${redactRedisUrl(url)} (keys ${this.keys.meta}) has layout version ${layout}, newer than this Baton knows (${REDIS_LAYOUT_VERSION}). Upgrade Baton to use it.`,
      );
    }
    if (layout < 2) await this.reindexContext();
    if (layout < REDIS_LAYOUT_VERSION) await this.redis.hset(this.keys.meta, 'layout', String(REDIS_LAYOUT_VERSION));
  }

  /**
   * Indexes every context entry again with the current search terms. Each entry is committed over
   * its own version, so a writer that got there first simply wins; running it twice is harmless.
   */
  private async reindexContext(): Promise<void> {
    const listed = await this.redis.zrange(this.keys.contextAll, 0, '-1', 'WITHSCORES');
    for (let offset = 0; offset < listed.length; offset += 2 * page) {
      const slice = listed.slice(offset, offset + 2 * page);
      const seqs = new Map(slice.flatMap((value, i) => (i % 2 === 0 ? [[value, Number(slice[i + 1])] as const] : [])));
      for (const read of await this.readEntries([...seqs.keys()])) {
        if ('entry' in read) await this.commitContext(read.entry, seqs.get(read.entry.id)!, read.entry.version);
      }
    }
  }

  // ---- runs, phases, agents, attempts

  async saveRun(run: RunRecord): Promise<void> {
    const k = this.keys;
    const lines: IndexLines = [
      [run.createdAt, k.runs],
      [run.createdAt, k.runsByStatus(run.status)],
      [run.createdAt, k.runsByTenant(run.tenant)],
    ];
    await this.redis.batonSaveIndexed(k.run(run.id), run.id, JSON.stringify(run), indexMemo(lines));
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const [run] = await this.readRuns([runId]);
    return run;
  }

  async listRuns(options: ListRunsOptions = {}): Promise<RunRecord[]> {
    const k = this.keys;
    // Walk the most selective index newest first (createdAt, then id, descending); check the rest per record.
    const index =
      options.status !== undefined
        ? k.runsByStatus(options.status)
        : options.tenant !== undefined
          ? k.runsByTenant(options.tenant)
          : k.runs;
    const keep = (r: RunRecord): boolean =>
      (options.status === undefined || r.status === options.status) &&
      (options.tenant === undefined || r.tenant === options.tenant);
    const found: RunRecord[] = [];
    const limit = options.limit ?? Infinity;
    for (let offset = 0; found.length < limit; offset += page) {
      const ids = await this.redis.zrevrangebyscore(index, '+inf', options.since ?? '-inf', 'LIMIT', offset, page);
      for (const run of await this.readRuns(ids)) if (run && keep(run) && found.length < limit) found.push(run);
      if (ids.length < page) break;
    }
    return found;
  }

  async savePhase(phase: PhaseRecord): Promise<void> {
    const k = this.keys;
    await this.redis.batonSaveInOrder(
      k.phases(phase.runId),
      k.phaseOrder(phase.runId),
      phase.id,
      JSON.stringify(phase),
    );
  }

  async listPhases(runId: string): Promise<PhaseRecord[]> {
    return this.listInOrder<PhaseRecord>(this.keys.phases(runId), this.keys.phaseOrder(runId));
  }

  async saveAgent(agent: AgentRecord): Promise<void> {
    const k = this.keys;
    await this.redis.batonSaveInOrder(
      k.agents(agent.runId),
      k.agentOrder(agent.runId),
      agent.id,
      JSON.stringify(agent),
    );
  }

  async getAgent(runId: string, agentId: string): Promise<AgentRecord | undefined> {
    return parse<AgentRecord>(await this.redis.hget(this.keys.agents(runId), agentId));
  }

  async listAgents(runId: string): Promise<AgentRecord[]> {
    return this.listInOrder<AgentRecord>(this.keys.agents(runId), this.keys.agentOrder(runId));
  }

  async saveAttempt(attempt: AttemptRecord): Promise<void> {
    await this.redis.hset(
      this.keys.attempts(attempt.runId),
      `${enc(attempt.agentId)} ${attempt.attempt}`,
      JSON.stringify(attempt),
    );
  }

  async listAttempts(runId: string, agentId?: string): Promise<AttemptRecord[]> {
    const [order, all] = await replies(
      this.redis.multi().lrange(this.keys.agentOrder(runId), 0, -1).hvals(this.keys.attempts(runId)),
    );
    const position = new Map((order as string[]).map((id, i) => [id, i]));
    const attempts = (all as string[])
      .map((json) => JSON.parse(json) as AttemptRecord)
      .filter((a) => agentId === undefined || a.agentId === agentId);
    // As SQLite orders them: attempts of agents never saved first (NULL sorts first), then by agent id.
    const rank = (a: AttemptRecord): number => position.get(a.agentId) ?? -1;
    return attempts.sort(
      (a, b) =>
        rank(a) - rank(b) || (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0) || a.attempt - b.attempt,
    );
  }

  // ---- sessions

  async saveSession(session: SessionRecord): Promise<void> {
    const k = this.keys;
    // Scored by -updatedAt: ascending order is then newest first, with ties by id ascending (as SQLite lists them).
    const newestFirst = -session.updatedAt;
    const lines: IndexLines = [
      [newestFirst, k.sessions],
      [newestFirst, k.sessionsByRun(session.runId)],
      [newestFirst, k.sessionsByStatus(session.status)],
    ];
    if (session.expiresAt !== undefined) lines.push([session.expiresAt, k.sessionsByExpiry]);
    await this.redis.batonSaveIndexed(k.session(session.id), session.id, JSON.stringify(session), indexMemo(lines));
  }

  async getSession(sessionId: string): Promise<SessionRecord | undefined> {
    return parse<SessionRecord>(await this.redis.hget(this.keys.session(sessionId), 'json'));
  }

  async listSessions(options: ListSessionsOptions = {}): Promise<SessionRecord[]> {
    const k = this.keys;
    const keep = (s: SessionRecord): boolean =>
      (options.runId === undefined || s.runId === options.runId) &&
      (options.status === undefined || s.status === options.status) &&
      (options.expiredBefore === undefined || (s.expiresAt !== undefined && s.expiresAt < options.expiredBefore));
    const limit = options.limit ?? Infinity;
    if (options.expiredBefore !== undefined) {
      // The expiry index finds them; they are then put newest first like every other listing.
      const ids = await this.redis.zrangebyscore(k.sessionsByExpiry, '-inf', `(${options.expiredBefore}`);
      const sessions = (await this.readJson<SessionRecord>(ids.map(k.session))).filter(
        (s): s is SessionRecord => s !== undefined && keep(s),
      );
      return sessions.sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? -1 : 1)).slice(0, limit);
    }
    const index =
      options.runId !== undefined
        ? k.sessionsByRun(options.runId)
        : options.status !== undefined
          ? k.sessionsByStatus(options.status)
          : k.sessions;
    const found: SessionRecord[] = [];
    for (let offset = 0; found.length < limit; offset += page) {
      const ids = await this.redis.zrangebyscore(index, '-inf', '+inf', 'LIMIT', offset, page);
      for (const s of await this.readJson<SessionRecord>(ids.map(k.session)))
        if (s && keep(s) && found.length < limit) found.push(s);
      if (ids.length < page) break;
    }
    return found;
  }

  async deleteSession(sessionId: string): Promise<boolean> {
    return (await this.redis.batonDeleteIndexed(this.keys.session(sessionId), sessionId)) === 1;
  }

  // ---- context

  async saveContextEntry(entry: ContextEntry, options: { expectedVersion?: number } = {}): Promise<ContextEntry> {
    for (let round = 0; round < maxCommitRounds; round++) {
      const existing = await this.findExisting(entry);
      const stored: ContextEntry = { ...entry, checksum: contextChecksum(entry), version: 1 };
      if (!existing) {
        if (options.expectedVersion !== undefined && options.expectedVersion !== 0) {
          throw conflict(entry, `it does not exist (expected version ${options.expectedVersion})`);
        }
        const seq = await this.redis.incr(this.keys.contextSeq);
        if (await this.commitContext(stored, seq, undefined)) return stored;
        continue; // another writer saved this id or key meanwhile: decide again from what is there now
      }
      if (entry.key === undefined) {
        // Unkeyed entries are immutable facts: saving the same one again is a no-op.
        if (existing.entry.checksum === stored.checksum) return existing.entry;
        throw conflict(entry, 'an entry with this id already says something else');
      }
      if (options.expectedVersion !== existing.entry.version) {
        throw conflict(
          entry,
          `it is at version ${existing.entry.version}, not ${options.expectedVersion ?? 'unset'}: re-read it and apply the change again`,
        );
      }
      const updated: ContextEntry = {
        ...stored,
        id: existing.entry.id,
        createdAt: existing.entry.createdAt,
        version: existing.entry.version + 1,
      };
      // Kept before the update commits: if it loses a race, that value was still this entry's (see `listReplacedContext`).
      const replaced = existing.entry;
      await this.redis.hsetnx(
        this.keys.contextReplaced(replaced.runId),
        `${replaced.id}@${replaced.version}`,
        JSON.stringify(replaced),
      );
      if (await this.commitContext(updated, existing.seq, existing.entry.version)) return updated;
    }
    throw conflict(entry, `it kept changing under ${maxCommitRounds} attempts to save it; try again`);
  }

  async getContextEntry(id: string): Promise<ContextEntry | undefined> {
    return this.verified(id, await this.redis.hget(this.keys.contextEntry(id), 'json'));
  }

  async getContextEntryByKey(runId: string, key: string): Promise<ContextEntry | undefined> {
    const id = await this.redis.hget(this.keys.contextKeys(runId), key);
    return id === null ? undefined : this.getContextEntry(id);
  }

  async listContextEntries(query: ContextQuery): Promise<ContextListing> {
    const k = this.keys;
    const listing: ContextListing = { entries: [], corrupt: [] };
    if (query.phaseIds?.length === 0 || query.sessionIds?.length === 0) return listing; // `IN ()` matches nothing
    let ids: string[];
    if (query.runId === undefined) ids = await this.redis.zrange(k.contextAll, 0, '-1');
    else if (query.phaseIds)
      ids = await this.redis.zunion(
        query.phaseIds.length,
        ...query.phaseIds.map((p) => k.contextByPhase(query.runId!, p)),
      );
    else ids = await this.redis.zrange(k.runContext(query.runId), 0, '-1');
    const phases = query.phaseIds ? new Set(query.phaseIds) : undefined;
    const sessions = query.sessionIds ? new Set(query.sessionIds) : undefined;
    const keep = (e: ContextEntry): boolean =>
      (phases === undefined || (e.phaseId !== undefined && phases.has(e.phaseId))) &&
      (sessions === undefined || (e.sessionId !== undefined && sessions.has(e.sessionId))) &&
      (query.level === undefined || e.level === query.level);
    const limit = query.limit ?? Infinity;
    let taken = 0;
    for (let offset = 0; offset < ids.length && taken < limit; offset += page) {
      for (const read of await this.readEntries(ids.slice(offset, offset + page))) {
        if (taken >= limit) break;
        if ('corrupt' in read) {
          // Listed when what is left of it matches the query (or nothing is left to tell).
          if (read.damaged === undefined || keep(read.damaged)) {
            listing.corrupt.push(read.corrupt);
            taken++;
          }
        } else if (keep(read.entry)) {
          listing.entries.push(read.entry);
          taken++;
        }
      }
    }
    return listing;
  }

  async searchContext(query: ContextSearch): Promise<ContextHit[]> {
    const k = this.keys;
    const terms = searchTerms(query.text);
    if (terms.length === 0 || query.phaseIds?.length === 0) return [];
    const head = this.redis.pipeline().zcard(k.contextLengths(query.runId)).hget(k.contextStats(query.runId), 'length');
    for (const term of terms) head.zcard(k.contextTerm(query.runId, term));
    const [documents, totalLength, ...frequencies] = (await replies(head)) as [number, string | null, ...number[]];
    if (documents === 0) return [];
    const documentFrequency = new Map(terms.map((t, i) => [t, frequencies[i]!] as const).filter(([, df]) => df > 0));
    if (documentFrequency.size === 0) return [];
    const corpus = { documents, averageLength: Number(totalLength ?? 0) / documents };
    const chosen = usefulTerms(documentFrequency, documents);

    const postings = this.redis.pipeline();
    for (const term of chosen) postings.zrange(k.contextTerm(query.runId, term), 0, '-1', 'WITHSCORES');
    const frequencyByTerm = (await replies(postings)) as string[][];
    const candidates = new Map<string, Array<[df: number, tf: number]>>();
    chosen.forEach((term, i) => {
      const pairs = frequencyByTerm[i]!;
      for (let j = 0; j < pairs.length; j += 2) {
        const id = pairs[j]!;
        candidates.set(id, [...(candidates.get(id) ?? []), [documentFrequency.get(term)!, Number(pairs[j + 1])]]);
      }
    });
    const ids = [...candidates.keys()];
    const [lengths, seqs] = (await replies(
      this.redis
        .pipeline()
        .zmscore(k.contextLengths(query.runId), ...ids)
        .zmscore(k.runContext(query.runId), ...ids),
    )) as [Array<string | null>, Array<string | null>];
    const ranked = ids
      .map((id, i) => ({
        id,
        seq: Number(seqs[i] ?? 0),
        relevance: candidates
          .get(id)!
          .reduce((sum, [df, tf]) => sum + bm25Term(corpus, df, tf, Number(lengths[i] ?? 0)), 0),
      }))
      .sort((a, b) => b.relevance - a.relevance || a.seq - b.seq);

    const phases = query.phaseIds ? new Set(query.phaseIds) : undefined;
    const hits: ContextHit[] = [];
    for (let offset = 0; offset < ranked.length && hits.length < query.limit; offset += query.limit * 2) {
      const slice = ranked.slice(offset, offset + query.limit * 2);
      const reads = await this.readEntries(slice.map((r) => r.id));
      reads.forEach((read, i) => {
        if (
          'entry' in read &&
          hits.length < query.limit &&
          (phases === undefined || (read.entry.phaseId !== undefined && phases.has(read.entry.phaseId)))
        ) {
          hits.push({ entry: read.entry, relevance: slice[i]!.relevance });
        }
      });
    }
    return hits;
  }

  async recentContext(query: RecentContextQuery): Promise<ContextEntry[]> {
    if (query.phaseIds.length === 0) return [];
    const batch = this.redis.pipeline();
    for (const type of contextEntryTypes) {
      for (const phase of query.phaseIds)
        batch.zrevrange(
          this.keys.contextRecent(query.runId, phase, type, query.level),
          0,
          query.perType - 1,
          'WITHSCORES',
        );
    }
    const results = (await replies(batch)) as string[][];
    // Per type, the newest across its phases (by seq), newest first; types in their declared order.
    const ids = contextEntryTypes.flatMap((_, t) => {
      const newest: Array<[id: string, seq: number]> = [];
      for (const pairs of results.slice(t * query.phaseIds.length, (t + 1) * query.phaseIds.length)) {
        for (let j = 0; j < pairs.length; j += 2) newest.push([pairs[j]!, Number(pairs[j + 1])]);
      }
      return newest
        .sort((a, b) => b[1] - a[1])
        .slice(0, query.perType)
        .map(([id]) => id);
    });
    return (await this.readEntries(ids)).flatMap((read) => ('entry' in read ? [read.entry] : []));
  }

  // ---- audit

  async saveAuditEvent(event: AuditEvent): Promise<void> {
    const k = this.keys;
    const seq = await this.redis.incr(k.auditSeq);
    await replies(
      this.redis
        .multi()
        .hset(k.auditEvents, String(seq), JSON.stringify(event))
        .zadd(k.auditByTime, event.at, String(seq))
        .zadd(k.auditByAction(event.action), event.at, String(seq)),
    );
  }

  async listAuditEvents(options: ListAuditOptions = {}): Promise<AuditEvent[]> {
    const k = this.keys;
    const index = options.action !== undefined ? k.auditByAction(options.action) : k.auditByTime;
    const seqs = (await this.redis.zrangebyscore(index, options.since ?? '-inf', '+inf'))
      .map(Number)
      .sort((a, b) => a - b);
    // The newest `limit`, oldest first: the order they were appended in.
    const wanted = options.limit !== undefined ? seqs.slice(Math.max(0, seqs.length - options.limit)) : seqs;
    if (wanted.length === 0) return [];
    const events = await this.redis.hmget(k.auditEvents, ...wanted.map(String));
    return events.flatMap((json) => (json === null ? [] : [JSON.parse(json) as AuditEvent]));
  }

  async pruneAuditEvents(before: number): Promise<number> {
    const k = this.keys;
    let pruned = 0;
    for (;;) {
      const seqs = await this.redis.zrangebyscore(k.auditByTime, '-inf', `(${before}`, 'LIMIT', 0, page);
      if (seqs.length === 0) return pruned;
      const events = await this.redis.hmget(k.auditEvents, ...seqs);
      const drop = this.redis
        .multi()
        .zrem(k.auditByTime, ...seqs)
        .hdel(k.auditEvents, ...seqs);
      events.forEach((json, i) => {
        const action = parse<AuditEvent>(json)?.action;
        if (action !== undefined) drop.zrem(k.auditByAction(action), seqs[i]!);
      });
      // Counted from what this call removed, so two pruning processes never count an event twice.
      pruned += (await replies(drop))[0] as number;
    }
  }

  // ---- cancellation

  async requestCancel(runId: string): Promise<boolean> {
    return (await this.redis.batonRequestCancel(this.keys.run(runId))) === 1;
  }

  async claimResume(runId: string, seenResumes: number): Promise<boolean> {
    const claimed = await this.redis.batonClaimResume(
      this.keys.run(runId),
      String(seenResumes),
      String(seenResumes + 1),
    );
    return claimed === 1;
  }

  async markRunAlive(runId: string, at: number): Promise<void> {
    await this.redis.batonMarkAlive(this.keys.run(runId), String(at));
  }

  async listReplacedContext(runId: string): Promise<ContextListing> {
    const listing: ContextListing = { entries: [], corrupt: [] };
    const values = await this.redis.hgetall(this.keys.contextReplaced(runId));
    for (const [field, json] of Object.entries(values)) {
      const read = readEntry(field, json);
      if ('corrupt' in read) listing.corrupt.push(read.damaged?.id ?? field.slice(0, field.lastIndexOf('@')));
      else listing.entries.push(read.entry);
    }
    listing.entries.sort((a, b) => a.updatedAt - b.updatedAt || a.version - b.version || a.id.localeCompare(b.id));
    return listing;
  }

  async isCancelRequested(runId: string): Promise<boolean> {
    return (await this.redis.hget(this.keys.run(runId), 'cancel')) === '1';
  }

  async clearCancel(runId: string): Promise<void> {
    await this.redis.hdel(this.keys.run(runId), 'cancel');
  }

  async saveMergeReport(report: MergeReport): Promise<void> {
    await this.redis.batonSaveInOrder(
      this.keys.merges(report.runId),
      this.keys.mergeOrder(report.runId),
      report.phaseId,
      JSON.stringify(report),
    );
  }

  async listMergeReports(runId: string): Promise<MergeReport[]> {
    return this.listInOrder<MergeReport>(this.keys.merges(runId), this.keys.mergeOrder(runId));
  }

  // ---- approvals

  /** The sorted sets listing an approval in this status. */
  private approvalIndexes(request: ApprovalRecord, status: string): string[] {
    const k = this.keys;
    return [
      k.approvals(),
      k.approvals(request.runId),
      k.approvals(undefined, status),
      k.approvals(request.runId, status),
    ];
  }

  async saveApproval(request: ApprovalRecord): Promise<ApprovalRecord> {
    const key = this.keys.approval(request.id);
    const created = await this.redis.hsetnx(key, 'json', JSON.stringify(request));
    if (created === 1) {
      const batch = this.redis.multi().hset(key, 'status', request.status);
      for (const index of this.approvalIndexes(request, request.status))
        batch.zadd(index, request.requestedAt, request.id);
      await replies(batch);
      return request;
    }
    return (await this.getApproval(request.id))!;
  }

  async getApproval(id: string): Promise<ApprovalRecord | undefined> {
    return parse<ApprovalRecord>(await this.redis.hget(this.keys.approval(id), 'json'));
  }

  async listApprovals(options: ListApprovalsOptions = {}): Promise<ApprovalRecord[]> {
    const ids = await this.redis.zrange(this.keys.approvals(options.runId, options.status), 0, '-1');
    const records = await this.readJson<ApprovalRecord>(ids.map((id) => this.keys.approval(id)));
    return records.filter((r): r is ApprovalRecord => r !== undefined);
  }

  async saveApprovalDecision(decision: ApprovalDecision): Promise<ApprovalRecord | undefined> {
    const current = await this.getApproval(decision.id);
    if (!current || current.status !== 'pending') return undefined;
    const answered: ApprovalRecord = { ...current, status: decision.status, answer: decision.answer };
    const done = await this.redis.batonDecideApproval(
      this.keys.approval(decision.id),
      decision.status,
      JSON.stringify(answered),
      decision.id,
      this.approvalIndexes(current, 'pending').join(' '),
      this.approvalIndexes(current, decision.status).join(' '),
      current.requestedAt,
    );
    return done === 1 ? answered : undefined;
  }

  async close(): Promise<void> {
    if (this.redis.status === 'end') return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect(); // already gone: nothing left to flush
    }
  }

  // ---- tool calls

  async saveToolCall(call: ToolCallRecord): Promise<void> {
    const field = `${enc(call.agentId)} ${call.attempt} ${call.seq}`;
    await replies(
      this.redis
        .multi()
        .hset(this.keys.toolCalls(call.runId), field, JSON.stringify(call))
        .zadd(this.keys.toolCallsByStart, call.startedAt, `${enc(call.runId)} ${field}`),
    );
  }

  async listToolCalls(runId: string, agentId?: string): Promise<ToolCallRecord[]> {
    const calls = (await this.redis.hvals(this.keys.toolCalls(runId)))
      .map((json) => JSON.parse(json) as ToolCallRecord)
      .filter((c) => agentId === undefined || c.agentId === agentId);
    // As SQLite orders them: start time, then agent id, attempt and seq.
    return calls.sort(
      (a, b) =>
        a.startedAt - b.startedAt ||
        (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0) ||
        a.attempt - b.attempt ||
        a.seq - b.seq,
    );
  }

  async pruneToolCalls(before: number): Promise<number> {
    const k = this.keys;
    let pruned = 0;
    for (;;) {
      const members = await this.redis.zrangebyscore(k.toolCallsByStart, '-inf', `(${before}`, 'LIMIT', 0, page);
      if (members.length === 0) return pruned;
      const drop = this.redis.multi().zrem(k.toolCallsByStart, ...members);
      for (const member of members) {
        const space = member.indexOf(' ');
        drop.hdel(k.toolCalls(decodeURIComponent(member.slice(0, space))), member.slice(space + 1));
      }
      // Counted from what this call removed, so two pruning processes never count a call twice.
      pruned += (await replies(drop)).slice(1).reduce<number>((sum, n) => sum + (n as number), 0);
    }
  }

  // ---- MCP health

  async saveMcpHealth(runId: string, source: string, health: ServerRunHealth[]): Promise<void> {
    if (health.length === 0) return;
    const fields = health.flatMap((server) => [`${enc(source)} ${enc(server.name)}`, JSON.stringify(server)]);
    await this.redis.hset(this.keys.mcpHealth(runId), ...fields);
  }

  async listMcpHealth(runId: string): Promise<McpHealthRecord[]> {
    const byField = await this.redis.hgetall(this.keys.mcpHealth(runId));
    const records = Object.entries(byField).map(([field, json]) => ({
      ...serverRunHealthSchema.parse(JSON.parse(json)),
      source: decodeURIComponent(field.slice(0, field.indexOf(' '))),
    }));
    // As SQLite orders them: source, then server name.
    return records.sort((a, b) => compare(a.source, b.source) || compare(a.name, b.name));
  }

  // ---- Baton's own model calls

  async saveBatonCall(call: BatonCallRecord): Promise<void> {
    await this.redis.hset(this.keys.batonCalls(call.runId), call.id, JSON.stringify(call));
  }

  async listBatonCalls(runId: string): Promise<BatonCallRecord[]> {
    const calls = (await this.redis.hvals(this.keys.batonCalls(runId))).map(
      (json) => JSON.parse(json) as BatonCallRecord,
    );
    // As SQLite orders them: start time, then id.
    return calls.sort((a, b) => a.startedAt - b.startedAt || compare(a.id, b.id));
  }

  // ---- helpers

  /** Runs by id, each with the `aliveAt` kept beside its JSON (so `saveRun` cannot overwrite it). */
  private async readRuns(ids: string[]): Promise<Array<RunRecord | undefined>> {
    if (ids.length === 0) return [];
    const batch = this.redis.pipeline();
    for (const id of ids) batch.hmget(this.keys.run(id), 'json', 'alive');
    return ((await replies(batch)) as Array<Array<string | null>>).map(([json, alive]) => {
      const run = parse<RunRecord>(json);
      return run && alive ? { ...run, aliveAt: Number(alive) } : run;
    });
  }

  private async readJson<T>(hashKeys: string[]): Promise<Array<T | undefined>> {
    if (hashKeys.length === 0) return [];
    const batch = this.redis.pipeline();
    for (const key of hashKeys) batch.hget(key, 'json');
    return (await replies(batch)).map((json) => parse<T>(json));
  }

  private async listInOrder<T>(hashKey: string, orderKey: string): Promise<T[]> {
    const ids = await this.redis.lrange(orderKey, 0, -1);
    if (ids.length === 0) return [];
    return (await this.redis.hmget(hashKey, ...ids)).flatMap((json) => (json === null ? [] : [JSON.parse(json) as T]));
  }

  /** Entries by id, in that order; ids with no entry are left out. */
  private async readEntries(ids: string[]): Promise<ReadEntry[]> {
    if (ids.length === 0) return [];
    const batch = this.redis.pipeline();
    for (const id of ids) batch.hget(this.keys.contextEntry(id), 'json');
    const jsons = (await replies(batch)) as Array<string | null>;
    return ids.flatMap((id, i) => (jsons[i] === null ? [] : [readEntry(id, jsons[i]!)]));
  }

  private verified(id: string, json: string | null): ContextEntry | undefined {
    if (json === null) return undefined;
    const read = readEntry(id, json);
    if ('corrupt' in read) {
      throw new BatonError(
        ErrorCodes.contextCorrupt,
        `Context entry ${id} does not match its checksum: it was changed outside Baton. It is not served; restore it from a Redis backup (RDB or AOF) or an export.`,
      );
    }
    return read.entry;
  }

  /** The stored entry this save would replace (by key when it has one), with its position in saved order. */
  private async findExisting(entry: ContextEntry): Promise<{ entry: ContextEntry; seq: number } | undefined> {
    const id =
      entry.key !== undefined
        ? ((await this.redis.hget(this.keys.contextKeys(entry.runId), entry.key)) ?? undefined)
        : entry.id;
    const [json, seq] = await this.redis.hmget(this.keys.contextEntry(id ?? entry.id), 'json', 'seq');
    if (json === null || json === undefined) return undefined;
    if (id === undefined) {
      // A new key, but its id is taken by an entry under another key (or none): never overwrite that one.
      throw conflict(entry, `entry id ${entry.id} is already used by another entry`);
    }
    const stored = this.verified(id, json)!;
    return { entry: stored, seq: Number(seq) };
  }

  private async commitContext(entry: ContextEntry, seq: number, replacesVersion: number | undefined): Promise<boolean> {
    const k = this.keys;
    const { terms, length } = termFrequencies(`${entry.content} ${entry.tags.join(' ')}`);
    const lines: IndexLines = [
      [seq, k.contextAll],
      [seq, k.runContext(entry.runId)],
      [length, k.contextLengths(entry.runId)],
    ];
    if (entry.phaseId !== undefined)
      lines.push(
        [seq, k.contextByPhase(entry.runId, entry.phaseId)],
        [seq, k.contextRecent(entry.runId, entry.phaseId, entry.type, entry.level)],
      );
    for (const [term, frequency] of terms) lines.push([frequency, k.contextTerm(entry.runId, term)]);
    const committed = await this.redis.batonCommitContext(
      k.contextEntry(entry.id),
      k.contextKeys(entry.runId),
      k.contextStats(entry.runId),
      entry.id,
      JSON.stringify(entry),
      indexMemo(lines),
      replacesVersion === undefined ? '' : String(replacesVersion),
      entry.key ?? '',
      String(entry.version),
      String(seq),
      String(length),
    );
    return committed === 1;
  }
}

/**
 * Connects to Redis and returns the store. Unreachable at start is an immediate, clear error naming
 * redis_url; once connected, the client reconnects by itself (a Redis restart mid-run is ridden out).
 */
export async function openRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  let connected = false;
  const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
  const redis = createRedisClient({ url: options.url, connectTimeoutMs, reconnect: () => connected });
  // The first error says why connecting failed (connect() itself only says "closed").
  let connectError: Error | undefined;
  const onConnectError = (error: Error): void => void (connectError ??= error);
  redis.on('error', onConnectError);
  const unavailable = (cause: Error): BatonError =>
    new BatonError(
      ErrorCodes.redisUnavailable,
      `Cannot use the Redis store at ${redactRedisUrl(options.url)} (redis_url): ${cause.message.replace(/\.$/, '')}. Start Redis there or fix redis_url (or BATON_REDIS_URL); remove it to keep the store in SQLite under data_dir.`,
      { cause },
    );
  const store = new RedisStore(redis, options.keyPrefix);
  // An endpoint that accepts the connection but never answers (not Redis, or stopped) fails like a refused one.
  let deadline: NodeJS.Timeout | undefined;
  const silent = new Promise<never>((_, reject) => {
    deadline = setTimeout(
      () => reject(new Error(`connected, but no answer within ${connectTimeoutMs} ms (is it Redis?)`)),
      connectTimeoutMs,
    );
  });
  try {
    await Promise.race([redis.connect().then(() => store.checkLayout(options.url)), silent]);
    connected = true;
    redis.off('error', onConnectError);
    return store;
  } catch (cause) {
    // A connection that never opened is already closed; disconnecting it again would hold the process for 2 s.
    if (redis.status !== 'end') redis.disconnect();
    throw cause instanceof BatonError ? cause : unavailable(connectError ?? (cause as Error));
  } finally {
    clearTimeout(deadline);
  }
}
