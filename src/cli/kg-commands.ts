import { resolve } from 'node:path';
import type { BatonConfig } from '../config/index.js';
// The knowledge graph (neo4j-driver, the TypeScript compiler) is loaded only by the kg commands: every other command starts without it.
import type { KnowledgeGraph } from '../knowledge/index.js';
import { checkTenantName, SecretRedactor } from '../core/index.js';
import { type Output } from './commands.js';
import { effectiveConfig, openConfiguredStore, withStore, type StoreOptions } from '../api/index.js';

/** Opens the configured knowledge graph (Neo4j when neo4j_url is set, else data_dir/knowledge.db) for one command. */
async function withKnowledgeGraph<T>(config: BatonConfig, fn: (graph: KnowledgeGraph) => Promise<T>): Promise<T> {
  const { openKnowledgeGraph } = await import('../knowledge/index.js');
  const graph = await openKnowledgeGraph({
    dataDir: config.data_dir,
    neo4jUrl: config.neo4j_url,
    neo4jUser: config.neo4j_user,
    neo4jPassword: config.neo4j_password,
  });
  try {
    return await fn(graph);
  } finally {
    await graph.close();
  }
}

/** `baton kg build [dir]`: the code of a repository, then what agents recorded in the store (unless --no-context). */
export async function kgBuildCommand(
  dir: string | undefined,
  options: StoreOptions & { context?: boolean; json?: boolean },
  output: Output,
): Promise<number> {
  const root = resolve(dir ?? process.cwd());
  return withStore(options, (store, config) =>
    withKnowledgeGraph(config, async (graph) => {
      const { buildFromRepository, ingestContext } = await import('../knowledge/index.js');
      const started = performance.now();
      // The one redaction rule, with the secrets of this environment: an import specifier can carry a credential.
      const redactor = SecretRedactor.fromEnvironment(process.env);
      const code = await buildFromRepository(graph, root, { redact: (text) => redactor.redact(text) });
      const context = options.context === false ? undefined : await ingestContext(graph, store);
      const ms = Math.round(performance.now() - started);
      if (options.json) {
        output.stdout.write(
          `${JSON.stringify({ root, graph: { backend: graph.backend, location: graph.location }, code, context: context ?? null, ms })}\n`,
        );
      } else {
        output.stdout.write(`Knowledge graph of ${root} (${graph.backend}: ${graph.location}):\n`);
        output.stdout.write(`  code: ${code.files} files, ${code.symbols} symbols, ${code.relations} relations\n`);
        if (context)
          output.stdout.write(
            `  context: ${context.entities} entities, ${context.relations} relations from agents' decisions, findings and changed files\n`,
          );
        output.stdout.write(`  built in ${ms} ms. Ask it: baton kg query "what depends on <file>"\n`);
      }
      return 0;
    }),
  );
}

/**
 * The graph as `--tenant` may see it (facts of other tenants' runs left out, as for that tenant's
 * agents), or whole without one; `fn` runs on it with the store open.
 */
async function withTenantGraph<T>(
  config: BatonConfig,
  given: string | undefined,
  fn: (graph: KnowledgeGraph) => Promise<T>,
): Promise<T> {
  // Checked as every command checks it: an empty or malformed name is refused, never read as "no tenant".
  const tenant = given === undefined ? undefined : checkTenantName(given, '--tenant');
  return withKnowledgeGraph(config, async (whole) => {
    if (tenant === undefined) return fn(whole);
    const { tenantGraph } = await import('../knowledge/index.js');
    const store = await openConfiguredStore(config, { create: false });
    try {
      return await fn(tenantGraph(whole, tenant, async (id) => (await store.getRun(id))?.tenant));
    } finally {
      await store.close();
    }
  });
}

/** `baton kg query "<question>"`: answers from the graph, as text or JSON. */
export async function kgQueryCommand(
  question: string,
  options: StoreOptions & { run?: string; limit?: number; json?: boolean; tenant?: string },
  output: Output,
): Promise<number> {
  return withTenantGraph(effectiveConfig(options), options.tenant, async (graph) => {
    const { answerQuestion } = await import('../knowledge/index.js');
    const answer = await answerQuestion(graph, question, {
      ...(options.run ? { runId: options.run } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
    });
    output.stdout.write(options.json ? `${JSON.stringify(answer)}\n` : `(${answer.interpretation})\n${answer.text}\n`);
    return 0;
  });
}

/** `baton kg stats`: how many entities and relations of each kind, and where the graph is. */
export async function kgStatsCommand(
  options: StoreOptions & { json?: boolean; tenant?: string },
  output: Output,
): Promise<number> {
  return withTenantGraph(effectiveConfig(options), options.tenant, async (graph) => {
    const stats = await graph.stats();
    if (options.json) {
      output.stdout.write(`${JSON.stringify({ backend: graph.backend, location: graph.location, ...stats })}\n`);
      return 0;
    }
    const counts = (record: Record<string, number>): string =>
      Object.entries(record)
        .map(([kind, n]) => `${kind} ${n}`)
        .join(', ');
    output.stdout.write(
      `Knowledge graph (${graph.backend}: ${graph.location})\n  entities: ${counts(stats.entities)}\n  relations: ${counts(stats.relations)}\n`,
    );
    return 0;
  });
}
