import { randomUUID } from 'node:crypto';
import { describeKnowledgeGraphContract } from './graph.contract.js';
import { Neo4jKnowledgeGraph, probeNeo4j } from './neo4j-graph.js';

/**
 * The contract on a real Neo4j server, when one is reachable: set BATON_TEST_NEO4J_URL (and
 * BATON_TEST_NEO4J_USER / BATON_TEST_NEO4J_PASSWORD). Each test graph has a label of its own and
 * is deleted afterwards, so a shared server is safe to use.
 */
const url = process.env.BATON_TEST_NEO4J_URL ?? process.env.BATON_NEO4J_URL;
const user = process.env.BATON_TEST_NEO4J_USER ?? process.env.BATON_NEO4J_USER ?? 'neo4j';
const password = process.env.BATON_TEST_NEO4J_PASSWORD ?? process.env.BATON_NEO4J_PASSWORD;
const server = url
  ? await probeNeo4j({ url, user, password })
  : { reachable: false as const, reason: 'BATON_TEST_NEO4J_URL is not set' };
if (!server.reachable)
  console.warn(`KnowledgeGraph contract: neo4j NOT RUN — ${server.reason}${url ? ` (${url})` : ''}.`);

describeKnowledgeGraphContract(
  'neo4j',
  async () => {
    const graph = await Neo4jKnowledgeGraph.open({
      url: url!,
      user,
      password,
      label: `BatonTest_${randomUUID().replace(/-/g, '')}`,
    });
    return {
      graph,
      cleanup: async () => {
        await graph.drop();
        await graph.close();
      },
    };
  },
  { skip: !server.reachable },
);
