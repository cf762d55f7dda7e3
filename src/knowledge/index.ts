import type { KnowledgeGraph } from './graph.js';
import { Neo4jKnowledgeGraph } from './neo4j-graph.js';
import { openSqliteKnowledgeGraph } from './sqlite-graph.js';

export * from './graph.js';
export { addKnowledge, ingestContext } from './context.js';
export { answerQuestion } from './questions.js';
export { buildFromRepository } from './repository.js';
export { openSqliteKnowledgeGraph } from './sqlite-graph.js';

export interface OpenKnowledgeGraphOptions {
  /** Where the embedded graph lives: `dataDir/knowledge.db`. */
  dataDir: string;
  /** A Neo4j server (`neo4j_url`); when set, the graph lives there instead. */
  neo4jUrl?: string;
  neo4jUser?: string;
  neo4jPassword?: string;
}

/** Opens the configured knowledge graph: Neo4j when `neo4jUrl` is set, else SQLite in `dataDir`. */
export async function openKnowledgeGraph(options: OpenKnowledgeGraphOptions): Promise<KnowledgeGraph> {
  if (options.neo4jUrl)
    return Neo4jKnowledgeGraph.open({
      url: options.neo4jUrl,
      user: options.neo4jUser,
      password: options.neo4jPassword,
    });
  return openSqliteKnowledgeGraph({ dataDir: options.dataDir });
}
export { tenantGraph } from './tenant-graph.js';
export type { RunTenant } from './tenant-graph.js';
