import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KnowledgeAnswer } from '../src/knowledge/index.js';
import { openSqliteStore, type ContextEntry } from '../src/store/index.js';
import { runCli } from './support/cli.js';

let home: string;
let project: string;
let env: NodeJS.ProcessEnv;
/** `baton <args>` from the repository root (tsx resolves from there); its data dir is this test's own. */
const baton = (...args: string[]) => runCli(args, { env });

const entry = (id: string, type: ContextEntry['type'], content: string, agentId: string): ContextEntry => ({
  id,
  runId: 'r1',
  sessionId: `session-${agentId}`,
  agentId,
  phaseId: 'p1',
  type,
  content,
  tags: [],
  tokens: 8,
  level: 0,
  checksum: '',
  version: 0,
  createdAt: 1,
  updatedAt: 1,
});

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'baton-kg-e2e-'));
  project = join(home, 'project');
  mkdirSync(join(project, 'src'), { recursive: true });
  // app → service → db; tools is on its own.
  writeFileSync(join(project, 'src', 'app.ts'), `import { serve } from './service.js';\nserve();\n`);
  writeFileSync(
    join(project, 'src', 'service.ts'),
    `import { query } from './db.js';\nexport function serve() { return query('select 1'); }\n`,
  );
  writeFileSync(join(project, 'src', 'db.ts'), `export function query(sql: string) { return sql; }\n`);
  writeFileSync(join(project, 'src', 'tools.ts'), `export const version = '1';\n`);
  env = { PATH: process.env.PATH, HOME: home, BATON_DATA_DIR: join(home, 'data') };
  // What agents of run r1 recorded, as a run would have left it in the store.
  const store = openSqliteStore({ dataDir: join(home, 'data') });
  await store.saveContextEntry(
    entry('e1', 'decision', 'All SQL goes through `query` in src/db.ts, parameterised', 'architect'),
  );
  await store.saveContextEntry(entry('e2', 'file_changed', 'src/service.ts', 'builder'));
  await store.close();
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('baton kg', () => {
  it('build reads the repository and the context store; query answers impact, decisions and changed files', async () => {
    const build = await baton('kg', 'build', project, '--json');
    expect(build.stderr).toBe('');
    expect(build.code).toBe(0);
    expect(JSON.parse(build.stdout)).toMatchObject({
      root: project,
      graph: { backend: 'sqlite', location: join(home, 'data', 'knowledge.db') },
      code: { files: 4, symbols: 3 },
      context: { entities: 3, relations: 4 },
    });

    const impact = await baton('kg', 'query', 'what depends on src/db.ts', '--json');
    expect(impact.code).toBe(0);
    const answer = JSON.parse(impact.stdout) as KnowledgeAnswer;
    expect(answer.entities.map((e) => e.id)).toEqual(['src/db.ts', 'src/service.ts', 'src/app.ts']);
    expect(answer.relations).toEqual(
      expect.arrayContaining([expect.objectContaining({ from: 'src/app.ts', to: 'src/service.ts', kind: 'imports' })]),
    );

    const decided = await baton('kg', 'query', 'What did agents decide about src/db.ts?');
    expect(decided.code).toBe(0);
    expect(decided.stdout).toContain(
      '- [decision] All SQL goes through `query` in src/db.ts, parameterised (agent architect, run r1)',
    );

    const changed = await baton('kg', 'query', 'which files changed in this run', '--run', 'r1');
    expect(changed.stdout).toBe(
      '(files changed in run r1 (file_changed context entries))\n1 file changed in run r1:\n- src/service.ts — by builder\n',
    );

    const stats = await baton('kg', 'stats', '--json');
    expect(JSON.parse(stats.stdout)).toMatchObject({
      backend: 'sqlite',
      entities: { file: 4, symbol: 3, decision: 1, session: 2 },
      relations: { imports: 2, defines: 3, calls: 2, decided_by: 1, touches: 3 },
    });
  });

  it('bad input exits 2 with a code and a message naming what is wrong, and no stack', async () => {
    const noRun = await baton('kg', 'query', 'which files changed in this run');
    expect(noRun.code).toBe(2);
    expect(noRun.stderr).toMatch(/^error BATON_KNOWLEDGE_INVALID: run: name the run/);
    expect(noRun.stderr).not.toMatch(/\n\s+at /);

    const missing = await baton('kg', 'build', join(home, 'no-such-project'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      `error BATON_KNOWLEDGE_INVALID: dir: ${join(home, 'no-such-project')} is not a directory; give the root of the repository to build the knowledge graph from.\n`,
    );

    const badNeo4j = await runCli(['kg', 'stats'], { env: { ...env, BATON_NEO4J_URL: 'http://localhost:7474' } });
    expect(badNeo4j.code).toBe(2);
    expect(badNeo4j.stderr).toMatch(/BATON_CONFIG_INVALID[\s\S]*neo4j_url[\s\S]*bolt:\/\//);
  });

  it('a Neo4j server that does not answer is a clear error, not a fallback', async () => {
    const unreachable = await runCli(['kg', 'query', 'what depends on src/db.ts'], {
      env: { ...env, BATON_NEO4J_URL: 'bolt://127.0.0.1:9' },
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(
      /^error BATON_KNOWLEDGE_GRAPH: Cannot use Neo4j at bolt:\/\/127\.0\.0\.1:9 \(neo4j_url, neo4j_user, neo4j_password\): /,
    );
    expect(unreachable.stderr).not.toMatch(/\n\s+at /);
  });
});
