import { z } from 'zod';

/** What the knowledge graph knows about: code (file, symbol, module) and what agents learned (decision, finding, session). */
export const entityKinds = ['file', 'symbol', 'module', 'decision', 'finding', 'session'] as const;
export type EntityKind = (typeof entityKinds)[number];

/**
 * How entities relate, always read "from <kind> to":
 * file imports file|module, file defines symbol, symbol|file calls symbol,
 * decision|finding decided_by session, session|decision|finding touches file|symbol.
 */
export const relationKinds = ['imports', 'defines', 'calls', 'decided_by', 'touches'] as const;
export type RelationKind = (typeof relationKinds)[number];

export const knowledgeEntitySchema = z.object({
  /** Files: the repo-relative path. Others: `<kind>:<key>` or `<file>#<symbol>`. */
  id: z.string().min(1),
  kind: z.enum(entityKinds),
  name: z.string(),
  properties: z.record(z.string(), z.unknown()),
});

export const knowledgeRelationSchema = z.object({
  from: z.string().min(1),
  to: z.string().min(1),
  kind: z.enum(relationKinds),
  properties: z.record(z.string(), z.unknown()).optional(),
});

export interface KnowledgeEntity {
  id: string;
  kind: EntityKind;
  name: string;
  properties: Record<string, unknown>;
}

export interface KnowledgeRelation {
  from: string;
  to: string;
  kind: RelationKind;
  properties?: Record<string, unknown>;
}

export interface KnowledgeAnswer {
  question: string;
  /** How the question was read, e.g. `impact: what imports src/x.ts, directly or transitively`. */
  interpretation: string;
  entities: KnowledgeEntity[];
  relations: KnowledgeRelation[];
  /** The answer for a person or an agent to read. */
  text: string;
}

export type Direction = 'out' | 'in' | 'both';

/** Some entities and the relations between them. */
export interface Subgraph {
  entities: KnowledgeEntity[];
  relations: KnowledgeRelation[];
}

export interface ReachedEntity {
  entity: KnowledgeEntity;
  /** Fewest relations between the start and this entity (1 = directly related). */
  depth: number;
  /** The entity one step closer to the start on a shortest way there (the start itself at depth 1). */
  via: string;
}

export interface ReachOptions {
  direction: 'in' | 'out';
  kinds: readonly RelationKind[];
  limit?: number;
}

export interface Reach {
  /** Nearest first; ties in the order of the entity they were reached from, then by id. */
  reached: ReachedEntity[];
  /** Everything reachable, however many were returned. */
  total: number;
  relations: KnowledgeRelation[];
}

export interface EntityFilter {
  ids?: readonly string[];
  /** Exact names. */
  names?: readonly string[];
  kinds?: readonly EntityKind[];
  /** Entities whose `properties.runId` is this. */
  runId?: string;
  limit?: number;
}

export interface RelationFilter {
  from?: readonly string[];
  to?: readonly string[];
  kinds?: readonly RelationKind[];
  /** Relations whose `properties.runId` is this. */
  runId?: string;
  limit?: number;
}

export interface GraphStats {
  entities: Record<EntityKind, number>;
  relations: Record<RelationKind, number>;
}

/**
 * One graph of code and agent knowledge, the same behaviour whichever database holds it (SQLite
 * embedded, or Neo4j): `src/knowledge/graph.contract.ts` runs against both.
 */
export interface KnowledgeGraph {
  readonly backend: 'sqlite' | 'neo4j';
  /** Where it is stored, for people: a file path or a server URL. */
  readonly location: string;

  /** Creates entities, or replaces the name and properties of existing ones (by id). */
  upsertEntities(entities: readonly KnowledgeEntity[]): Promise<void>;
  /** Creates the entities that do not exist yet and leaves existing ones as they are. */
  ensureEntities(entities: readonly KnowledgeEntity[]): Promise<void>;
  /**
   * Creates relations, or replaces the properties of existing ones (by from, kind, to). A relation
   * whose ends do not both exist is skipped; returns how many were stored.
   */
  upsertRelations(relations: readonly KnowledgeRelation[]): Promise<number>;
  /** Removes entities and every relation to or from them. */
  removeEntities(ids: readonly string[]): Promise<void>;
  /** Removes the relations of these kinds that start at these entities. */
  removeRelations(filter: { from: readonly string[]; kinds: readonly RelationKind[] }): Promise<void>;

  /** Entities matching every given criterion, ordered by id. */
  findEntities(filter: EntityFilter): Promise<KnowledgeEntity[]>;
  /** Relations matching every given criterion, ordered by from, kind, to. */
  findRelations(filter: RelationFilter): Promise<KnowledgeRelation[]>;
  /** The entities one relation away from `id`, and those relations. */
  neighbours(
    id: string,
    options?: { direction?: Direction; kinds?: readonly RelationKind[]; limit?: number },
  ): Promise<Subgraph>;
  /**
   * What is reachable from `id` following relations of `kinds` (against their direction for `in`):
   * the nearest `limit` entities (all by default), how many there are in all, and the relations
   * walked between them. The impact of changing a file is
   * `reach(file, { direction: 'in', kinds: ['imports'] })`.
   */
  reach(id: string, options: ReachOptions): Promise<Reach>;
  /**
   * A shortest path from one entity to another: its entities in order, and the relation of each
   * step. `direction: 'out'` follows relations forwards only; `both` ignores their direction.
   */
  path(
    from: string,
    to: string,
    options?: { direction?: Direction; kinds?: readonly RelationKind[]; maxDepth?: number },
  ): Promise<Subgraph | undefined>;
  /**
   * Entities whose name, id or text contain the words (whole words or their beginnings), best
   * first; `anyWord` finds those containing any of them.
   */
  search(
    text: string,
    options?: { kinds?: readonly EntityKind[]; limit?: number; anyWord?: boolean },
  ): Promise<KnowledgeEntity[]>;
  stats(): Promise<GraphStats>;
  /** The directory the code part was last built from (absolute), so absolute paths can be read as ids. */
  buildRoot(): Promise<string | undefined>;
  setBuildRoot(dir: string): Promise<void>;
  close(): Promise<void>;
}

/** How far `path` looks by default: beyond this, "how is A related to B" stops being an answer. */
export const defaultPathDepth = 6;

/** The words of a search, lower-cased; punctuation (path separators, dots) splits words. */
export function searchWords(text: string): string[] {
  return [...new Set(text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [])];
}

/** The text an entity is found by: its id, name and any `text` it carries. */
export function searchableText(entity: KnowledgeEntity): string {
  const text = typeof entity.properties.text === 'string' ? entity.properties.text : '';
  return `${entity.id} ${entity.name} ${text}`.toLowerCase();
}

/** `properties.runId`, which both backends index so "what happened in run R" stays fast. */
export const runIdOf = (properties: Record<string, unknown> | undefined): string | null =>
  typeof properties?.runId === 'string' ? properties.runId : null;

/**
 * The nearest-first part of `reach`, shared by both backends: breadth first from `start`, one
 * `expand` (the relations of a frontier, a single query) per level, stopping once `limit`
 * entities are found, so a short answer about a file thousands depend on stays cheap.
 */
export async function nearestFirst(
  start: string,
  options: ReachOptions,
  expand: (frontier: string[]) => Promise<KnowledgeRelation[]>,
): Promise<{
  order: Array<{ id: string; depth: number; via: string }>;
  relations: KnowledgeRelation[];
  complete: boolean;
}> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const ends = (r: KnowledgeRelation): [string, string] =>
    options.direction === 'out' ? [r.from, r.to] : [r.to, r.from];
  const seen = new Set([start]);
  const order: Array<{ id: string; depth: number; via: string }> = [];
  const walked: KnowledgeRelation[] = [];
  let frontier = [start];
  for (let depth = 1; frontier.length > 0 && order.length < limit; depth++) {
    const byNear = new Map<string, KnowledgeRelation[]>();
    for (const r of await expand(frontier)) {
      const near = ends(r)[0];
      const list = byNear.get(near);
      if (list) list.push(r);
      else byNear.set(near, [r]);
    }
    const following: string[] = [];
    for (const near of frontier) {
      for (const r of (byNear.get(near) ?? []).sort((a, b) => compareIds(ends(a)[1], ends(b)[1]))) {
        const far = ends(r)[1];
        walked.push(r);
        if (seen.has(far) || order.length >= limit) continue;
        seen.add(far);
        order.push({ id: far, depth, via: near });
        following.push(far);
      }
    }
    frontier = following;
  }
  const kept = new Set([start, ...order.map((o) => o.id)]);
  // `complete`: the walk ran out of entities before the limit, so `order` is all there is.
  return {
    order,
    relations: walked.filter((r) => kept.has(r.from) && kept.has(r.to)),
    complete: frontier.length === 0,
  };
}

/** Plain string order, as SQLite's and Neo4j's ORDER BY sort ids (localeCompare does not). */
export const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export const emptyStats = (): GraphStats => ({
  entities: Object.fromEntries(entityKinds.map((k) => [k, 0])) as Record<EntityKind, number>,
  relations: Object.fromEntries(relationKinds.map((k) => [k, 0])) as Record<RelationKind, number>,
});
