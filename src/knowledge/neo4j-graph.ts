import neo4j, { type Driver } from 'neo4j-driver';
import { BatonError, ErrorCodes } from '../core/index.js';
import {
  defaultPathDepth,
  emptyStats,
  compareIds,
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

export interface Neo4jGraphOptions {
  url: string;
  user?: string;
  password?: string;
  /**
   * The node label Baton's entities carry. Labels cannot be query parameters, so it must be a plain
   * identifier; tests give each graph its own label to stay apart on one server.
   */
  label?: string;
  /** How long to wait for the server when connecting (default 5 s). */
  connectionTimeoutMs?: number;
}

/** Relation kinds as relationship types (`imports` → `IMPORTS`), and back. */
const relType = (kind: RelationKind): string => kind.toUpperCase();
const relKind = (type: string): RelationKind => type.toLowerCase() as RelationKind;
/** A relationship-type alternation for a pattern (`:IMPORTS|CALLS`); every type when none are given. */
const typePattern = (kinds: readonly RelationKind[] | undefined): string =>
  kinds && kinds.length > 0 ? `:${kinds.map(relType).join('|')}` : '';

/** Writes go in batches: one round trip per batch instead of per row, small enough for the server's memory. */
const BATCH = 1000;
const batches = <T>(items: readonly T[]): T[][] =>
  Array.from({ length: Math.ceil(items.length / BATCH) }, (_, i) => items.slice(i * BATCH, (i + 1) * BATCH));

interface RelationRecord {
  fromId: string;
  relType: string;
  toId: string;
  properties: string | null;
}

const entityOf = (n: { id: string; kind: string; name: string; properties: string }): KnowledgeEntity => ({
  id: n.id,
  kind: n.kind as EntityKind,
  name: n.name,
  properties: JSON.parse(n.properties) as Record<string, unknown>,
});

function relationOf(r: RelationRecord): KnowledgeRelation {
  const properties = r.properties ? (JSON.parse(r.properties) as Record<string, unknown>) : {};
  const relation: KnowledgeRelation = { from: r.fromId, to: r.toId, kind: relKind(r.relType) };
  return Object.keys(properties).length > 0 ? { ...relation, properties } : relation;
}

const byRelationKey = (a: KnowledgeRelation, b: KnowledgeRelation): number =>
  compareIds(a.from, b.from) || compareIds(a.kind, b.kind) || compareIds(a.to, b.to);

const ENTITY = 'n {.id, .kind, .name, .properties}';

/**
 * The knowledge graph in Neo4j (Cypher through neo4j-driver), used when `neo4j_url` is set.
 * Entities are nodes with one label; properties travel as a JSON string, because Neo4j property
 * values cannot be nested maps. `runId` and a lower-cased search text are kept beside it, indexed.
 */
export class Neo4jKnowledgeGraph implements KnowledgeGraph {
  readonly backend = 'neo4j' as const;
  readonly location: string;
  readonly label: string;

  private constructor(
    private readonly driver: Driver,
    url: string,
    label: string,
  ) {
    this.location = url;
    this.label = label;
  }

  static async open(options: Neo4jGraphOptions): Promise<Neo4jKnowledgeGraph> {
    const label = options.label ?? 'BatonKnowledge';
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(label))
      throw new BatonError(
        ErrorCodes.knowledgeInvalid,
        `Neo4j label "${label}" must be letters, digits and underscores, starting with a letter.`,
      );
    const driver = connect(options);
    try {
      await driver.verifyConnectivity();
      const graph = new Neo4jKnowledgeGraph(driver, options.url, label);
      await graph.createIndexes();
      return graph;
    } catch (error) {
      await driver.close();
      throw new BatonError(
        ErrorCodes.knowledgeGraph,
        `Cannot use Neo4j at ${options.url} (neo4j_url, neo4j_user, neo4j_password): ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  private async createIndexes(): Promise<void> {
    const l = this.label;
    await this.write(`CREATE CONSTRAINT ${l}_id IF NOT EXISTS FOR (n:${l}) REQUIRE n.id IS UNIQUE`);
    for (const field of ['name', 'kind', 'runId'])
      await this.write(`CREATE INDEX ${l}_${field} IF NOT EXISTS FOR (n:${l}) ON (n.${field})`);
    for (const kind of relationKinds)
      await this.write(`CREATE INDEX ${l}_${kind}_run IF NOT EXISTS FOR ()-[r:${relType(kind)}]-() ON (r.runId)`);
  }

  private async run<T>(cypher: string, params: Record<string, unknown>, mode: 'READ' | 'WRITE'): Promise<T[]> {
    try {
      const result = await this.driver.executeQuery(cypher, params, {
        routing: mode === 'READ' ? neo4j.routing.READ : neo4j.routing.WRITE,
      });
      return result.records.map((r) => r.toObject() as T);
    } catch (error) {
      throw new BatonError(
        ErrorCodes.knowledgeGraph,
        `Neo4j at ${this.location} failed a query: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  private read<T>(cypher: string, params: Record<string, unknown> = {}): Promise<T[]> {
    return this.run<T>(cypher, params, 'READ');
  }

  private write<T>(cypher: string, params: Record<string, unknown> = {}): Promise<T[]> {
    return this.run<T>(cypher, params, 'WRITE');
  }

  private rows(entities: readonly KnowledgeEntity[]) {
    return entities.map((e) => ({
      id: e.id,
      kind: e.kind,
      name: e.name,
      properties: JSON.stringify(e.properties),
      runId: runIdOf(e.properties),
      searchText: searchableText(e),
    }));
  }

  async upsertEntities(entities: readonly KnowledgeEntity[]): Promise<void> {
    for (const rows of batches(this.rows(entities))) {
      await this.write(
        `UNWIND $rows AS row MERGE (n:${this.label} {id: row.id}) SET n.kind = row.kind, n.name = row.name, n.properties = row.properties, n.runId = row.runId, n.searchText = row.searchText`,
        { rows },
      );
    }
  }

  async ensureEntities(entities: readonly KnowledgeEntity[]): Promise<void> {
    for (const rows of batches(this.rows(entities))) {
      await this.write(
        `UNWIND $rows AS row MERGE (n:${this.label} {id: row.id}) ON CREATE SET n.kind = row.kind, n.name = row.name, n.properties = row.properties, n.runId = row.runId, n.searchText = row.searchText`,
        { rows },
      );
    }
  }

  async upsertRelations(relations: readonly KnowledgeRelation[]): Promise<number> {
    let stored = 0;
    // Relationship types cannot be parameters: one statement per kind.
    for (const kind of relationKinds) {
      const ofKind = relations
        .filter((r) => r.kind === kind)
        .map((r) => ({
          fromId: r.from,
          toId: r.to,
          properties: JSON.stringify(r.properties ?? {}),
          runId: runIdOf(r.properties),
        }));
      for (const rows of batches(ofKind)) {
        const [counted] = await this.write<{ stored: number }>(
          `UNWIND $rows AS row
           MATCH (a:${this.label} {id: row.fromId}) MATCH (b:${this.label} {id: row.toId})
           MERGE (a)-[r:${relType(kind)}]->(b) SET r.properties = row.properties, r.runId = row.runId
           RETURN count(r) AS stored`,
          { rows },
        );
        stored += counted?.stored ?? 0;
      }
    }
    return stored;
  }

  async removeEntities(ids: readonly string[]): Promise<void> {
    for (const part of batches(ids))
      await this.write(`MATCH (n:${this.label}) WHERE n.id IN $ids DETACH DELETE n`, { ids: part });
  }

  async removeRelations(filter: { from: readonly string[]; kinds: readonly RelationKind[] }): Promise<void> {
    if (filter.kinds.length === 0) return;
    for (const from of batches(filter.from)) {
      await this.write(
        `MATCH (a:${this.label})-[r${typePattern(filter.kinds)}]->(:${this.label}) WHERE a.id IN $fromIds DELETE r`,
        { fromIds: from },
      );
    }
  }

  async findEntities(filter: EntityFilter): Promise<KnowledgeEntity[]> {
    const rows = await this.read<{ entity: Parameters<typeof entityOf>[0] }>(
      `MATCH (n:${this.label})
       WHERE ($ids IS NULL OR n.id IN $ids) AND ($names IS NULL OR n.name IN $names) AND ($kinds IS NULL OR n.kind IN $kinds) AND ($runId IS NULL OR n.runId = $runId)
       RETURN ${ENTITY} AS entity ORDER BY n.id ${filter.limit !== undefined ? 'LIMIT $limit' : ''}`,
      {
        ids: filter.ids ?? null,
        names: filter.names ?? null,
        kinds: filter.kinds ?? null,
        runId: filter.runId ?? null,
        limit: neo4j.int(filter.limit ?? 0),
      },
    );
    return rows.map((r) => entityOf(r.entity));
  }

  async findRelations(filter: RelationFilter): Promise<KnowledgeRelation[]> {
    const rows = await this.read<RelationRecord>(
      `MATCH (a:${this.label})-[r${typePattern(filter.kinds)}]->(b:${this.label})
       WHERE ($fromIds IS NULL OR a.id IN $fromIds) AND ($toIds IS NULL OR b.id IN $toIds) AND ($runId IS NULL OR r.runId = $runId)
       RETURN a.id AS fromId, type(r) AS relType, b.id AS toId, r.properties AS properties
       ORDER BY fromId, relType, toId ${filter.limit !== undefined ? 'LIMIT $limit' : ''}`,
      {
        fromIds: filter.from ?? null,
        toIds: filter.to ?? null,
        runId: filter.runId ?? null,
        limit: neo4j.int(filter.limit ?? 0),
      },
    );
    return rows.map(relationOf).sort(byRelationKey);
  }

  async neighbours(
    id: string,
    options: { direction?: Direction; kinds?: readonly RelationKind[]; limit?: number } = {},
  ): Promise<Subgraph> {
    const direction = options.direction ?? 'both';
    const types = typePattern(options.kinds);
    const parts: string[] = [];
    if (direction !== 'in')
      parts.push(
        `MATCH (s:${this.label} {id: $id})-[r${types}]->(n:${this.label}) RETURN s.id AS fromId, type(r) AS relType, n.id AS toId, r.properties AS properties, ${ENTITY} AS other`,
      );
    if (direction !== 'out')
      parts.push(
        `MATCH (s:${this.label} {id: $id})<-[r${types}]-(n:${this.label}) RETURN n.id AS fromId, type(r) AS relType, s.id AS toId, r.properties AS properties, ${ENTITY} AS other`,
      );
    const rows = await this.read<RelationRecord & { other: Parameters<typeof entityOf>[0] }>(
      parts.join(' UNION ALL '),
      { id },
    );
    // Ordered like the SQLite graph: by the other end, then kind.
    rows.sort((a, b) => compareIds(a.other.id, b.other.id) || compareIds(relKind(a.relType), relKind(b.relType)));
    const kept = options.limit !== undefined ? rows.slice(0, options.limit) : rows;
    const entities = new Map(kept.map((r) => [r.other.id, entityOf(r.other)]));
    return { entities: [...entities.values()].sort((a, b) => compareIds(a.id, b.id)), relations: kept.map(relationOf) };
  }

  async reach(id: string, options: ReachOptions): Promise<Reach> {
    const types = typePattern(options.kinds);
    if (!types) return { reached: [], total: 0, relations: [] };
    const walk = options.direction === 'out' ? `-[${types}*1..]->` : `<-[${types}*1..]-`;
    // DISTINCT end nodes let Neo4j prune the variable-length walk instead of listing every path.
    const { order, relations, complete } = await nearestFirst(id, options, (frontier) =>
      this.findRelations({
        ...(options.direction === 'out' ? { from: frontier } : { to: frontier }),
        kinds: options.kinds,
      }),
    );
    const [counted] = complete
      ? [{ total: order.length }]
      : await this.read<{ total: number }>(
          `MATCH (s:${this.label} {id: $id}) OPTIONAL MATCH (s)${walk}(d:${this.label}) WHERE d <> s RETURN count(DISTINCT d) AS total`,
          { id },
        );
    const byId = new Map((await this.findEntities({ ids: order.map((o) => o.id) })).map((e) => [e.id, e]));
    return {
      reached: order.map((o) => ({ entity: byId.get(o.id)!, depth: o.depth, via: o.via })),
      total: counted?.total ?? 0,
      relations,
    };
  }

  async path(
    from: string,
    to: string,
    options: { direction?: Direction; kinds?: readonly RelationKind[]; maxDepth?: number } = {},
  ): Promise<Subgraph | undefined> {
    const ends = await this.findEntities({ ids: [from, to] });
    const start = ends.find((e) => e.id === from);
    if (!start || !ends.some((e) => e.id === to)) return undefined;
    if (from === to) return { entities: [start], relations: [] };
    const maxDepth = Math.max(1, Math.floor(options.maxDepth ?? defaultPathDepth));
    const hops = `[${typePattern(options.kinds)}*..${maxDepth}]`;
    const direction = options.direction ?? 'out';
    const pattern = direction === 'out' ? `-${hops}->` : direction === 'in' ? `<-${hops}-` : `-${hops}-`;
    const [row] = await this.read<{ nodes: Array<Parameters<typeof entityOf>[0]>; rels: RelationRecord[] }>(
      `MATCH (a:${this.label} {id: $fromId}), (b:${this.label} {id: $toId})
       MATCH p = shortestPath((a)${pattern}(b))
       RETURN [n IN nodes(p) | ${ENTITY}] AS nodes,
              [r IN relationships(p) | {fromId: startNode(r).id, relType: type(r), toId: endNode(r).id, properties: r.properties}] AS rels`,
      { fromId: from, toId: to },
    );
    return row ? { entities: row.nodes.map(entityOf), relations: row.rels.map(relationOf) } : undefined;
  }

  async search(
    text: string,
    options: { kinds?: readonly EntityKind[]; limit?: number; anyWord?: boolean } = {},
  ): Promise<KnowledgeEntity[]> {
    const words = searchWords(text);
    if (words.length === 0) return [];
    const rows = await this.read<{ entity: Parameters<typeof entityOf>[0] }>(
      `MATCH (n:${this.label})
       WHERE ($kinds IS NULL OR n.kind IN $kinds) AND ${options.anyWord ? 'any' : 'all'}(w IN $words WHERE n.searchText CONTAINS w)
       RETURN ${ENTITY} AS entity ORDER BY size(n.searchText), n.id LIMIT $limit`,
      { kinds: options.kinds ?? null, words, limit: neo4j.int(options.limit ?? 20) },
    );
    return rows.map((r) => entityOf(r.entity));
  }

  async stats(): Promise<GraphStats> {
    const stats = emptyStats();
    for (const r of await this.read<{ kind: EntityKind; total: number }>(
      `MATCH (n:${this.label}) RETURN n.kind AS kind, count(*) AS total`,
    ))
      stats.entities[r.kind] = r.total;
    for (const r of await this.read<{ relType: string; total: number }>(
      `MATCH (:${this.label})-[r]->(:${this.label}) RETURN type(r) AS relType, count(*) AS total`,
    ))
      stats.relations[relKind(r.relType)] = r.total;
    return stats;
  }

  // Settings live on one node of a label of their own, so no entity query ever meets it.
  async buildRoot(): Promise<string | undefined> {
    const [row] = await this.read<{ value: string }>(`MATCH (s:${this.label}_Settings) RETURN s.buildRoot AS value`);
    return row?.value ?? undefined;
  }

  async setBuildRoot(dir: string): Promise<void> {
    await this.write(`MERGE (s:${this.label}_Settings) SET s.buildRoot = $dir`, { dir });
  }

  /** Deletes every entity with this graph's label (for tests that gave the graph a label of its own). */
  async drop(): Promise<void> {
    await this.write(`MATCH (n:${this.label}) DETACH DELETE n`);
    await this.write(`MATCH (s:${this.label}_Settings) DELETE s`);
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}

function connect(options: Neo4jGraphOptions): Driver {
  return neo4j.driver(options.url, neo4j.auth.basic(options.user ?? 'neo4j', options.password ?? ''), {
    // Counts and limits come back as plain numbers; the graph never holds integers beyond 2^53.
    disableLosslessIntegers: true,
    connectionTimeout: options.connectionTimeoutMs ?? 5000,
  });
}

/** Whether a Neo4j server answers at `url`, and if not, why: for tests and `baton kg stats`. */
export async function probeNeo4j(
  options: Neo4jGraphOptions,
): Promise<{ reachable: true } | { reachable: false; reason: string }> {
  const driver = connect({ ...options, connectionTimeoutMs: options.connectionTimeoutMs ?? 2000 });
  try {
    await driver.verifyConnectivity();
    return { reachable: true };
  } catch (error) {
    return { reachable: false, reason: error instanceof Error ? error.message.split('\n')[0]! : String(error) };
  } finally {
    await driver.close();
  }
}
