import { join } from 'node:path';
import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import { BatonError, createPrivateFile, ErrorCodes, makeDataDir, unusableDataDir } from '../core/index.js';
import {
  defaultPathDepth,
  emptyStats,
  nearestFirst,
  relationKinds,
  runIdOf,
  searchableText,
  searchWords,
  type Direction,
  type EntityFilter,
  type EntityKind,
  type GraphStats,
  type KnowledgeEntity,
  type KnowledgeGraph,
  type KnowledgeRelation,
  type Reach,
  type ReachOptions,
  type RelationFilter,
  type RelationKind,
  type Subgraph,
} from './graph.js';

/** knowledge.db's schema version; a file from a newer Baton is refused rather than misread. */
const SCHEMA_VERSION = 1;

const schema = `
  CREATE TABLE IF NOT EXISTS entities (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    properties TEXT NOT NULL,
    run_id TEXT,
    search_text TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS entities_kind ON entities (kind, id);
  CREATE INDEX IF NOT EXISTS entities_name ON entities (name);
  CREATE INDEX IF NOT EXISTS entities_run ON entities (run_id) WHERE run_id IS NOT NULL;

  CREATE TABLE IF NOT EXISTS relations (
    from_id TEXT NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    to_id TEXT NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    properties TEXT NOT NULL,
    run_id TEXT,
    PRIMARY KEY (from_id, kind, to_id)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS relations_to ON relations (to_id, kind, from_id);
  CREATE INDEX IF NOT EXISTS relations_run ON relations (run_id, kind) WHERE run_id IS NOT NULL;

  CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE VIRTUAL TABLE IF NOT EXISTS entities_fts USING fts5 (search_text, content = 'entities', content_rowid = 'rowid', tokenize = 'unicode61');
  CREATE TRIGGER IF NOT EXISTS entities_fts_insert AFTER INSERT ON entities BEGIN
    INSERT INTO entities_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
  END;
  CREATE TRIGGER IF NOT EXISTS entities_fts_delete AFTER DELETE ON entities BEGIN
    INSERT INTO entities_fts (entities_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
  END;
  CREATE TRIGGER IF NOT EXISTS entities_fts_update AFTER UPDATE OF search_text ON entities BEGIN
    INSERT INTO entities_fts (entities_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO entities_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
  END;
`;

type EntityRow = { id: string; kind: string; name: string; properties: string };
type RelationRow = { from_id: string; kind: string; to_id: string; properties: string };

const entityFromRow = (r: EntityRow): KnowledgeEntity => ({
  id: r.id,
  kind: r.kind as EntityKind,
  name: r.name,
  properties: JSON.parse(r.properties) as Record<string, unknown>,
});

function relationFromRow(r: RelationRow): KnowledgeRelation {
  const properties = JSON.parse(r.properties) as Record<string, unknown>;
  const relation: KnowledgeRelation = { from: r.from_id, to: r.to_id, kind: r.kind as RelationKind };
  return Object.keys(properties).length > 0 ? { ...relation, properties } : relation;
}

/** Lists travel to SQLite as one JSON parameter, so a statement is prepared once whatever their length. */
const list = (values: readonly string[]): string => JSON.stringify(values);
const IN_LIST = 'SELECT value FROM json_each(?)';

/** A WHERE clause built up condition by condition, with its parameters in step. */
function conditions() {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (condition: string, param: unknown): void => {
    where.push(condition);
    params.push(param);
  };
  return { where, params, add };
}

/** Separators of a path trail: ids and kinds never contain these control characters. */
const STEP = '\u001e';
const FIELD = '\u001f';

/**
 * The embedded knowledge graph: one SQLite file (WAL), walks as recursive CTEs, search with FTS5.
 * Relations cascade away with their entities, so the graph never holds a dangling edge.
 */
export class SqliteKnowledgeGraph implements KnowledgeGraph {
  readonly backend = 'sqlite' as const;
  readonly location: string;
  private readonly db: Db;
  private readonly statements = new Map<string, Statement>();

  constructor(path: string) {
    this.location = path;
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('foreign_keys = ON');
      // `baton kg build` may write while an MCP server answers from the same file.
      this.db.pragma('busy_timeout = 5000');
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        this.db.close();
        throw new BatonError(
          ErrorCodes.knowledgeGraph,
          `${path} was written by a newer Baton (knowledge schema version ${version}, this one knows ${SCHEMA_VERSION}). Upgrade Baton, or delete the file and run baton kg build.`,
        );
      }
      this.db.exec(schema);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    } catch (error) {
      if (error instanceof BatonError) throw error;
      throw new BatonError(
        ErrorCodes.knowledgeGraph,
        `Cannot open the knowledge graph ${path}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  async upsertEntities(entities: readonly KnowledgeEntity[]): Promise<void> {
    this.writeEntities(
      entities,
      'ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, properties = excluded.properties, run_id = excluded.run_id, search_text = excluded.search_text',
    );
  }

  async ensureEntities(entities: readonly KnowledgeEntity[]): Promise<void> {
    this.writeEntities(entities, 'ON CONFLICT (id) DO NOTHING');
  }

  private writeEntities(entities: readonly KnowledgeEntity[], onConflict: string): void {
    const insert = this.db.prepare(
      `INSERT INTO entities (id, kind, name, properties, run_id, search_text) VALUES (?, ?, ?, ?, ?, ?) ${onConflict}`,
    );
    this.db.transaction(() => {
      for (const e of entities)
        insert.run(e.id, e.kind, e.name, JSON.stringify(e.properties), runIdOf(e.properties), searchableText(e));
    })();
  }

  async upsertRelations(relations: readonly KnowledgeRelation[]): Promise<number> {
    const insert = this.db.prepare(
      `INSERT INTO relations (from_id, kind, to_id, properties, run_id)
       SELECT @from, @kind, @to, @properties, @runId WHERE EXISTS (SELECT 1 FROM entities WHERE id = @from) AND EXISTS (SELECT 1 FROM entities WHERE id = @to)
       ON CONFLICT (from_id, kind, to_id) DO UPDATE SET properties = excluded.properties, run_id = excluded.run_id`,
    );
    return this.db.transaction(() => {
      let stored = 0;
      for (const r of relations)
        stored += insert.run({
          from: r.from,
          kind: r.kind,
          to: r.to,
          properties: JSON.stringify(r.properties ?? {}),
          runId: runIdOf(r.properties),
        }).changes;
      return stored;
    })();
  }

  async removeEntities(ids: readonly string[]): Promise<void> {
    this.db.prepare(`DELETE FROM entities WHERE id IN (${IN_LIST})`).run(list(ids));
  }

  async removeRelations(filter: { from: readonly string[]; kinds: readonly RelationKind[] }): Promise<void> {
    this.db
      .prepare(`DELETE FROM relations WHERE from_id IN (${IN_LIST}) AND kind IN (${IN_LIST})`)
      .run(list(filter.from), list(filter.kinds));
  }

  async findEntities(filter: EntityFilter): Promise<KnowledgeEntity[]> {
    const { where, params, add } = conditions();
    if (filter.ids) add(`id IN (${IN_LIST})`, list(filter.ids));
    if (filter.names) add(`name IN (${IN_LIST})`, list(filter.names));
    if (filter.kinds) add(`kind IN (${IN_LIST})`, list(filter.kinds));
    if (filter.runId !== undefined) add('run_id = ?', filter.runId);
    const sql = `SELECT id, kind, name, properties FROM entities ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
    return (this.db.prepare(sql).all(...params, filter.limit ?? -1) as EntityRow[]).map(entityFromRow);
  }

  async findRelations(filter: RelationFilter): Promise<KnowledgeRelation[]> {
    const { where, params, add } = conditions();
    if (filter.from) add(`from_id IN (${IN_LIST})`, list(filter.from));
    if (filter.to) add(`to_id IN (${IN_LIST})`, list(filter.to));
    if (filter.kinds) add(`kind IN (${IN_LIST})`, list(filter.kinds));
    if (filter.runId !== undefined) add('run_id = ?', filter.runId);
    const sql = `SELECT from_id, kind, to_id, properties FROM relations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY from_id, kind, to_id LIMIT ?`;
    return (this.db.prepare(sql).all(...params, filter.limit ?? -1) as RelationRow[]).map(relationFromRow);
  }

  async neighbours(
    id: string,
    options: { direction?: Direction; kinds?: readonly RelationKind[]; limit?: number } = {},
  ): Promise<Subgraph> {
    const direction = options.direction ?? 'both';
    const kinds = list(options.kinds ?? []);
    const anyKind = options.kinds === undefined ? 1 : 0;
    const parts: string[] = [];
    if (direction !== 'in')
      parts.push(
        `SELECT from_id, kind, to_id, properties, to_id AS other FROM relations WHERE from_id = @id AND (@anyKind OR kind IN (SELECT value FROM json_each(@kinds)))`,
      );
    if (direction !== 'out')
      parts.push(
        `SELECT from_id, kind, to_id, properties, from_id AS other FROM relations WHERE to_id = @id AND (@anyKind OR kind IN (SELECT value FROM json_each(@kinds)))`,
      );
    const rows = this.db
      .prepare(`${parts.join(' UNION ALL ')} ORDER BY other, kind LIMIT @limit`)
      .all({ id, anyKind, kinds, limit: options.limit ?? -1 }) as Array<RelationRow & { other: string }>;
    const entities = await this.findEntities({ ids: [...new Set(rows.map((r) => r.other))] });
    return { entities, relations: rows.map(relationFromRow) };
  }

  async reach(id: string, options: ReachOptions): Promise<Reach> {
    const [near, far] = options.direction === 'out' ? ['from_id', 'to_id'] : ['to_id', 'from_id'];
    // Kinds are checked against the fixed list, so they can be written into the SQL: the planner
    // then walks the (to_id, kind) index directly, twice as fast as a json_each join here.
    const kinds =
      options.kinds
        .filter((k) => relationKinds.includes(k))
        .map((k) => `'${k}'`)
        .join(', ') || 'NULL';
    const expand = this.cached(
      `SELECT from_id, kind, to_id, properties FROM relations WHERE ${near} IN (${IN_LIST}) AND kind IN (${kinds})`,
    );
    const { order, relations, complete } = await nearestFirst(id, options, async (frontier) =>
      (expand.all(list(frontier)) as RelationRow[]).map(relationFromRow),
    );
    // Cut short by the limit, the walk does not know how many there are: the closure counts them
    // (UNION drops entities already reached, so cycles end and each is expanded once).
    const total = complete
      ? order.length
      : (
          this.cached(
            `WITH RECURSIVE reached (id) AS (
               SELECT @id
               UNION
               SELECT r.${far} FROM reached JOIN relations r ON r.${near} = reached.id AND r.kind IN (${kinds})
             )
             SELECT count(*) - 1 AS total FROM reached`,
          ).get({ id }) as { total: number }
        ).total;
    const byId = new Map((await this.findEntities({ ids: order.map((o) => o.id) })).map((e) => [e.id, e]));
    return { reached: order.map((o) => ({ entity: byId.get(o.id)!, depth: o.depth, via: o.via })), total, relations };
  }

  /** Statements built from a fixed set of shapes, prepared once each. */
  private cached(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async path(
    from: string,
    to: string,
    options: { direction?: Direction; kinds?: readonly RelationKind[]; maxDepth?: number } = {},
  ): Promise<Subgraph | undefined> {
    const ends = await this.findEntities({ ids: [from, to] });
    if (ends.length < (from === to ? 1 : 2)) return undefined;
    const direction = options.direction ?? 'out';
    const maxDepth = options.maxDepth ?? defaultPathDepth;
    const kindFilter = 'AND (@anyKind OR r.kind IN (SELECT value FROM json_each(@kinds)))';
    // Breadth first (ORDER BY depth): the first trail that ends at `to` is a shortest one, and
    // SQLite stops walking as soon as the outer query has it. A trail never revisits an entity.
    const step = (near: 'from_id' | 'to_id', far: 'from_id' | 'to_id', arrow: string) =>
      `SELECT r.${far}, walk.depth + 1, walk.trail || r.kind || '${arrow}' || '${FIELD}' || r.${far} || '${STEP}'
       FROM walk JOIN relations r ON r.${near} = walk.id ${kindFilter}
       WHERE walk.depth < @maxDepth AND walk.id <> @to AND instr(walk.trail, '${FIELD}' || r.${far} || '${STEP}') = 0`;
    const steps = [
      direction !== 'in' ? step('from_id', 'to_id', '>') : undefined,
      direction !== 'out' ? step('to_id', 'from_id', '<') : undefined,
    ].filter(Boolean);
    const row = this.db
      .prepare(
        `WITH RECURSIVE walk (id, depth, trail) AS (
           SELECT @from, 0, '${FIELD}' || @from || '${STEP}'
           UNION ALL ${steps.join(' UNION ALL ')}
           ORDER BY 2
           LIMIT 200000
         )
         SELECT trail FROM walk WHERE id = @to LIMIT 1`,
      )
      .get({ from, to, maxDepth, kinds: list(options.kinds ?? []), anyKind: options.kinds === undefined ? 1 : 0 }) as
      { trail: string } | undefined;
    if (!row) return undefined;
    return this.subgraphOfTrail(from, row.trail);
  }

  /** Turns `␟start␞kind>␟id␞kind<␟id␞…` back into entities and relations, in order. */
  private async subgraphOfTrail(from: string, trail: string): Promise<Subgraph> {
    const ids = [from];
    const steps: Array<{ kind: RelationKind; forward: boolean }> = [];
    for (const part of trail.split(STEP).slice(1, -1)) {
      const [label = '', id = ''] = part.split(FIELD);
      steps.push({ kind: label.slice(0, -1) as RelationKind, forward: label.endsWith('>') });
      ids.push(id);
    }
    const byId = new Map((await this.findEntities({ ids })).map((e) => [e.id, e]));
    const relations: KnowledgeRelation[] = [];
    for (const [i, s] of steps.entries()) {
      const [a, b] = s.forward ? [ids[i]!, ids[i + 1]!] : [ids[i + 1]!, ids[i]!];
      const row = this.db
        .prepare('SELECT from_id, kind, to_id, properties FROM relations WHERE from_id = ? AND kind = ? AND to_id = ?')
        .get(a, s.kind, b) as RelationRow;
      relations.push(relationFromRow(row));
    }
    return { entities: ids.map((id) => byId.get(id)!), relations };
  }

  async search(
    text: string,
    options: { kinds?: readonly EntityKind[]; limit?: number; anyWord?: boolean } = {},
  ): Promise<KnowledgeEntity[]> {
    const words = searchWords(text);
    if (words.length === 0) return [];
    // Each word quoted (FTS syntax never leaks in from a user's text) and prefix-matched.
    const match = words.map((w) => `"${w}"*`).join(options.anyWord ? ' OR ' : ' ');
    const rows = this.db
      .prepare(
        `SELECT e.id, e.kind, e.name, e.properties FROM entities_fts f JOIN entities e ON e.rowid = f.rowid
         WHERE entities_fts MATCH @match AND (@anyKind OR e.kind IN (SELECT value FROM json_each(@kinds)))
         ORDER BY bm25(entities_fts), e.id LIMIT @limit`,
      )
      .all({
        match,
        anyKind: options.kinds === undefined ? 1 : 0,
        kinds: list(options.kinds ?? []),
        limit: options.limit ?? 20,
      }) as EntityRow[];
    return rows.map(entityFromRow);
  }

  async stats(): Promise<GraphStats> {
    const stats = emptyStats();
    for (const r of this.db.prepare('SELECT kind, count(*) AS n FROM entities GROUP BY kind').all() as Array<{
      kind: EntityKind;
      n: number;
    }>)
      stats.entities[r.kind] = r.n;
    for (const r of this.db.prepare('SELECT kind, count(*) AS n FROM relations GROUP BY kind').all() as Array<{
      kind: RelationKind;
      n: number;
    }>)
      stats.relations[r.kind] = r.n;
    return stats;
  }

  async buildRoot(): Promise<string | undefined> {
    const row = this.db.prepare("SELECT value FROM settings WHERE key = 'build_root'").get() as
      { value: string } | undefined;
    return row?.value;
  }

  async setBuildRoot(dir: string): Promise<void> {
    this.db
      .prepare(
        "INSERT INTO settings (key, value) VALUES ('build_root', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      )
      .run(dir);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** Opens (creating when needed: data_dir 0700, the file 0600, as the store) `dataDir/knowledge.db`. */
export function openSqliteKnowledgeGraph(options: { dataDir: string }): SqliteKnowledgeGraph {
  makeDataDir(options.dataDir);
  const path = join(options.dataDir, 'knowledge.db');
  try {
    createPrivateFile(path);
  } catch (cause) {
    throw unusableDataDir(options.dataDir, cause);
  }
  return new SqliteKnowledgeGraph(path);
}
