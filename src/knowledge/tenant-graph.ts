import { emptyStats } from './graph.js';
import type { KnowledgeEntity, KnowledgeGraph, KnowledgeRelation, Reach, Subgraph } from './graph.js';

/** Who an agent works for: set by Baton in the environment of the `baton` MCP server it gives the agent. */
export interface AgentScope {
  runId: string;
  agentId?: string;
  tenant: string;
}

/** The tenant of a run (undefined when there is no such run). */
export type RunTenant = (runId: string) => Promise<string | undefined>;

const runOf = (properties: Record<string, unknown> | undefined): string | undefined =>
  typeof properties?.runId === 'string' ? properties.runId : undefined;

/** A file the repository does not have, made because a decision, finding or changed-file entry named it. */
const onlyNamedByFacts = (entity: KnowledgeEntity): boolean =>
  entity.kind === 'file' && entity.properties.source === 'context';

/**
 * The knowledge graph as one tenant may see it: code is shared, but facts, sessions and the relations
 * recorded by a run are visible only when that run is the tenant's, and so are the files that exist in
 * the graph only because a run's fact named them. Writes pass through (the MCP server
 * stamps them with the agent's own run).
 */
export function tenantGraph(graph: KnowledgeGraph, tenant: string, runTenant: RunTenant): KnowledgeGraph {
  const tenants = new Map<string, Promise<string | undefined>>();
  const visibleRun = async (runId: string | undefined): Promise<boolean> => {
    if (runId === undefined) return true;
    if (!tenants.has(runId)) tenants.set(runId, runTenant(runId));
    return (await tenants.get(runId)) === tenant;
  };
  const keep = async <T>(items: readonly T[], runIdOf: (item: T) => string | undefined): Promise<T[]> => {
    const visible = await Promise.all(items.map((item) => visibleRun(runIdOf(item))));
    return items.filter((_, i) => visible[i]);
  };
  const relations = (list: readonly KnowledgeRelation[]) => keep(list, (r) => runOf(r.properties));
  const entities = async (list: readonly KnowledgeEntity[]): Promise<KnowledgeEntity[]> => {
    const own = await keep(list, (e) => runOf(e.properties));
    const named = own.filter(onlyNamedByFacts).map((e) => e.id);
    if (named.length === 0) return own;
    // A path that only agents named says what they worked on: it is seen by the tenants whose facts name it.
    const seen = new Set((await relations(await graph.findRelations({ to: named }))).map((r) => r.to));
    return own.filter((e) => !onlyNamedByFacts(e) || seen.has(e.id));
  };
  const subgraph = async (found: Subgraph): Promise<Subgraph> => ({
    entities: await entities(found.entities),
    relations: await relations(found.relations),
  });
  /** An entity of another tenant's run: nothing is reached from it. */
  const hidden = async (id: string): Promise<boolean> => {
    const found = await graph.findEntities({ ids: [id] });
    return found.length > 0 && (await entities(found)).length === 0;
  };

  return {
    backend: graph.backend,
    location: graph.location,
    upsertEntities: (list) => graph.upsertEntities(list),
    ensureEntities: (list) => graph.ensureEntities(list),
    upsertRelations: (list) => graph.upsertRelations(list),
    removeEntities: (ids) => graph.removeEntities(ids),
    removeRelations: (filter) => graph.removeRelations(filter),
    findEntities: async (filter) => entities(await graph.findEntities(filter)),
    findRelations: async (filter) => relations(await graph.findRelations(filter)),
    neighbours: async (id, options) =>
      (await hidden(id)) ? { entities: [], relations: [] } : subgraph(await graph.neighbours(id, options)),
    reach: async (id, options): Promise<Reach> => {
      if (await hidden(id)) return { reached: [], total: 0, relations: [] };
      const found = await graph.reach(id, options);
      const reached = await keep(found.reached, (r) => runOf(r.entity.properties));
      const total = found.total - (found.reached.length - reached.length);
      return { reached, total, relations: await relations(found.relations) };
    },
    path: async (from, to, options) => {
      const found = await graph.path(from, to, options);
      if (!found) return undefined;
      const seen = await subgraph(found);
      // A path through another tenant's fact is no path for this one.
      const complete =
        seen.entities.length === found.entities.length && seen.relations.length === found.relations.length;
      return complete ? found : undefined;
    },
    search: async (text, options) => entities(await graph.search(text, options)),
    // Counted over what this tenant sees: every tenant's totals would tell how much the others stored.
    stats: async () => {
      const stats = emptyStats();
      for (const entity of await entities(await graph.findEntities({}))) stats.entities[entity.kind] += 1;
      for (const relation of await relations(await graph.findRelations({}))) stats.relations[relation.kind] += 1;
      return stats;
    },
    buildRoot: () => graph.buildRoot(),
    setBuildRoot: (dir) => graph.setBuildRoot(dir),
    close: () => graph.close(),
  };
}
