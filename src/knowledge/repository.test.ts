import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KnowledgeGraph } from './graph.js';
import { addKnowledge } from './context.js';
import { answerQuestion } from './questions.js';
import { buildFromRepository } from './repository.js';
import { openSqliteKnowledgeGraph } from './sqlite-graph.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * This repository's relative imports, found the blunt way — a regular expression over each file's
 * text, not a parser — so the graph's answer is checked against something computed differently.
 */
function importersByGrep(root: string): Map<string, Set<string>> {
  const files = (readdirSync(root, { recursive: true }) as string[])
    .map((f) => f.split('\\').join('/'))
    .filter(
      (f) =>
        /\.(ts|tsx)$/.test(f) &&
        !f.endsWith('.d.ts') &&
        !f.split('/').some((part) => part === 'node_modules' || part === 'dist' || part.startsWith('.')),
    );
  const known = new Set(files);
  const importers = new Map<string, Set<string>>();
  const importLine =
    /\b(?:import|export)\b[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;
  for (const file of files) {
    for (const m of readFileSync(join(root, file), 'utf8').matchAll(importLine)) {
      const specifier = m[1] ?? m[2] ?? m[3]!;
      if (!specifier.startsWith('.')) continue;
      const base = posix.join(posix.dirname(file), specifier);
      const target = [
        base.replace(/\.js$/, '.ts'),
        base.replace(/\.js$/, '.tsx'),
        `${base}.ts`,
        `${base}/index.ts`,
      ].find((c) => known.has(c));
      if (!target) continue;
      if (!importers.has(target)) importers.set(target, new Set());
      importers.get(target)!.add(file);
    }
  }
  return importers;
}

function transitiveImporters(importers: Map<string, Set<string>>, file: string): Set<string> {
  const found = new Set<string>();
  const queue = [file];
  while (queue.length > 0) {
    for (const importer of importers.get(queue.shift()!) ?? []) {
      if (importer !== file && !found.has(importer)) {
        found.add(importer);
        queue.push(importer);
      }
    }
  }
  return found;
}

describe('the knowledge graph of this repository', () => {
  let dir: string;
  let graph: KnowledgeGraph;
  let importers: Map<string, Set<string>>;
  const snapshot = (m: Map<string, Set<string>>): string =>
    JSON.stringify([...m].map(([k, v]) => [k, [...v].sort()]).sort());
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'baton-kg-repo-'));
    graph = openSqliteKnowledgeGraph({ dataDir: dir });
    // The tree may change while the test runs (people work in it): build until the imports were
    // the same before and after the build, so the graph and the expectation saw the same code.
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = importersByGrep(repoRoot);
      await buildFromRepository(graph, repoRoot);
      importers = importersByGrep(repoRoot);
      if (snapshot(before) === snapshot(importers)) break;
    }
  });
  afterAll(async () => {
    await graph.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers an import-impact query: every file that imports src/core/errors.ts, directly or not, and nothing else', async () => {
    const expected = transitiveImporters(importers, 'src/core/errors.ts');
    const answer = await answerQuestion(graph, 'What depends on src/core/errors.ts?', { limit: 100_000 });
    expect(answer.interpretation).toMatch(/^impact/);
    const [subject, ...dependents] = answer.entities;
    expect(subject!.id).toBe('src/core/errors.ts');
    expect(dependents.map((e) => e.id).sort()).toEqual([...expected].sort());
    // Landmarks: the barrel and validate.ts import it directly, the CLI through the barrel;
    // events.ts is in the same folder and depends on nothing of Baton's.
    expect(answer.text).toMatch(/^- src\/core\/index\.ts — imports it$/m);
    expect(answer.text).toMatch(/^- src\/core\/validate\.ts — imports it$/m);
    expect(answer.text).toMatch(/^- src\/cli\/main\.ts — through \S+ \(\d steps\)$/m);
    expect(expected.has('src/cli/main.ts')).toBe(true);
    expect(dependents.map((e) => e.id)).not.toContain('src/core/events.ts');
    expect(dependents.map((e) => e.id)).not.toContain('src/core/errors.ts');
  });

  it('knows what a file defines and who calls a symbol through the core barrel', async () => {
    const defines = await answerQuestion(graph, 'what does src/core/errors.ts define');
    expect(defines.entities.map((e) => e.id)).toEqual(
      expect.arrayContaining(['src/core/errors.ts#BatonError', 'src/core/errors.ts#ErrorCodes']),
    );
    // sqlite-graph.ts (its class's constructor) imports BatonError from '../core/index.js', which re-exports it from errors.ts.
    // Over a hundred places call it, more than an answer lists by default.
    const callers = await answerQuestion(graph, 'who calls BatonError', { limit: 100_000 });
    expect(callers.entities.map((e) => e.id)).toContain('src/knowledge/sqlite-graph.ts#SqliteKnowledgeGraph');
  });
});

describe('buildFromRepository', () => {
  let root: string;
  let graph: KnowledgeGraph;
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const relationsOf = async (from: string) =>
    (await graph.findRelations({ from: [from] })).map((r) => `${r.kind} ${r.to}`);

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'baton-kg-project-'));
  });
  afterEach(async () => {
    await graph?.close();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('resolves ESM specifiers as TypeScript does and records packages, definitions and calls', async () => {
    write(
      'src/util/index.ts',
      `export function slug(s: string) { return s.toLowerCase(); }\nexport const VERSION = 1;\n`,
    );
    write('src/model.ts', `export interface Item { id: string }\nexport * from './util/index.js';\n`);
    write(
      'src/view.tsx',
      `import { slug } from './model.js';\nexport default function Card() { return <b>{slug('A')}</b>; }\n`,
    );
    write(
      'src/app.ts',
      [
        `import type { Item } from './model.js';`,
        `import * as util from './util';`,
        `import { z } from 'zod';`,
        `import { readFileSync } from 'node:fs';`,
        `import pkg from '@scope/pkg/sub/path';`,
        `import { missing } from './nowhere.js';`,
        `export async function main(item: Item) {`,
        `  const view = await import('./view.jsx');`,
        `  return util.slug(item.id) + helper();`,
        `}`,
        `function helper() { return String(z ?? readFileSync ?? pkg ?? missing); }`,
      ].join('\n'),
    );
    write('scripts/legacy.cjs', `const app = require('../src/app.js');\nmodule.exports = app;\n`);
    write('src/types.d.ts', `declare const x: number;\n`);
    write('node_modules/zod/index.js', `export const z = 1;\n`);
    write('dist/app.js', `import './nothing.js';\n`);
    write('.hidden/secret.ts', `export const s = 1;\n`);

    graph = openSqliteKnowledgeGraph({ dataDir: join(root, '.baton') });
    const result = await buildFromRepository(graph, root);
    // Declaration files, dependencies, build output and hidden folders are not the project's code.
    expect(result.files).toBe(5);
    expect(await graph.buildRoot()).toBe(root);
    expect((await graph.findEntities({ kinds: ['file'] })).map((e) => e.id)).toEqual([
      'scripts/legacy.cjs',
      'src/app.ts',
      'src/model.ts',
      'src/util/index.ts',
      'src/view.tsx',
    ]);
    expect((await graph.findEntities({ kinds: ['module'] })).map((e) => [e.name, e.properties.builtin])).toEqual([
      ['@scope/pkg', false],
      ['node:fs', true],
      ['zod', false],
    ]);
    expect(await relationsOf('src/app.ts')).toEqual([
      'defines src/app.ts#helper',
      'defines src/app.ts#main',
      'imports module:@scope/pkg',
      'imports module:node:fs',
      'imports module:zod',
      'imports src/model.ts',
      'imports src/util/index.ts',
      'imports src/view.tsx',
    ]);
    const [typeImport] = await graph.findRelations({ from: ['src/app.ts'], to: ['src/model.ts'] });
    expect(typeImport!.properties).toMatchObject({ names: ['Item'], typeOnly: true, dynamic: false });
    const [dynamicImport] = await graph.findRelations({ from: ['src/app.ts'], to: ['src/view.tsx'] });
    expect(dynamicImport!.properties).toMatchObject({ dynamic: true });
    expect(await relationsOf('scripts/legacy.cjs')).toContain('imports src/app.ts');
    // Calls resolve through a namespace import, a re-export (model.ts → util/index.ts) and JSX.
    expect(await relationsOf('src/app.ts#main')).toEqual(['calls src/app.ts#helper', 'calls src/util/index.ts#slug']);
    expect(await relationsOf('src/view.tsx#Card')).toEqual(['calls src/util/index.ts#slug']);
    expect(
      (await graph.findEntities({ ids: ['src/app.ts#helper', 'src/app.ts#main', 'src/view.tsx#Card'] })).map((e) => [
        e.id,
        e.properties.exported,
        e.properties.line,
      ]),
    ).toEqual([
      ['src/app.ts#helper', false, 11],
      ['src/app.ts#main', true, 7],
      ['src/view.tsx#Card', true, 2],
    ]);
    // The impact of util/index.ts reaches app.ts both directly and through model.ts, and legacy.cjs through app.ts.
    const impact = await graph.reach('src/util/index.ts', { direction: 'in', kinds: ['imports'] });
    expect(impact.reached.map((r) => [r.entity.id, r.depth])).toEqual([
      ['src/app.ts', 1],
      ['src/model.ts', 1],
      ['scripts/legacy.cjs', 2],
      ['src/view.tsx', 2],
    ]);
  });

  it('a rebuild drops what was deleted and keeps what agents said about what is left', async () => {
    graph = openSqliteKnowledgeGraph({ dataDir: join(root, '.baton') });
    await addKnowledge(graph, {
      kind: 'decision',
      text: 'Slugs are lower-case',
      about: ['src/util/index.ts', 'src/view.tsx'],
    });
    unlinkSync(join(root, 'src/view.tsx'));
    write('src/app.ts', `import { slug } from './util/index.js';\nexport const main = () => slug('x');\n`);
    await buildFromRepository(graph, root);
    expect(await graph.findEntities({ ids: ['src/view.tsx', 'src/view.tsx#Card', 'src/app.ts#helper'] })).toEqual([]);
    expect(await relationsOf('src/app.ts')).toEqual(['defines src/app.ts#main', 'imports src/util/index.ts']);
    const decision = await answerQuestion(graph, 'what did agents decide about src/util/index.ts');
    expect(decision.text).toContain('Slugs are lower-case');
    expect(decision.relations).toEqual([expect.objectContaining({ kind: 'touches', to: 'src/util/index.ts' })]);
  });

  it("follows the project's tsconfig paths and package exports, as tsc resolves them", async () => {
    const project = join(root, 'aliased');
    const put = (path: string, text: string): void => write(posix.join('aliased', path), text);
    put(
      'tsconfig.json',
      JSON.stringify({
        // tsconfig allows comments: the project's own parser reads it, not JSON.parse.
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', paths: { '@app/*': ['./src/*'] } },
      }).replace('{', '{ // paths alias\n'),
    );
    put('package.json', JSON.stringify({ name: 'app', type: 'module', exports: { './api': './src/api/v2.ts' } }));
    put('src/util.ts', `export function helper() { return 1; }\n`);
    put('src/api/v2.ts', `export const api = 2;\n`);
    // A workspace package, linked into node_modules as npm workspaces do; its `exports` name files nothing else would find.
    put(
      'packages/lib/package.json',
      JSON.stringify({
        name: '@acme/lib',
        type: 'module',
        exports: { '.': './src/main.ts', './extra': './src/impl/extra.ts' },
      }),
    );
    put('packages/lib/src/main.ts', `export const main = 1;\n`);
    put('packages/lib/src/impl/extra.ts', `export function extra() { return 2; }\n`);
    mkdirSync(join(project, 'node_modules/@acme'), { recursive: true });
    symlinkSync(join(project, 'packages/lib'), join(project, 'node_modules/@acme/lib'), 'dir');
    // An installed package with `exports`: still a package, not files of the project.
    put('node_modules/ext/package.json', JSON.stringify({ name: 'ext', exports: { './feature': './lib/feature.js' } }));
    put('node_modules/ext/lib/feature.js', `export const feature = 1;\n`);
    put(
      'src/app.ts',
      [
        `import { helper } from '@app/util.js';`,
        `import { api } from 'app/api';`,
        `import { main } from '@acme/lib';`,
        `import { extra } from '@acme/lib/extra';`,
        `import { feature } from 'ext/feature';`,
        `export const run = () => helper() + extra() + api + main + feature;`,
      ].join('\n'),
    );

    graph = openSqliteKnowledgeGraph({ dataDir: join(project, '.baton') });
    await buildFromRepository(graph, project);
    expect(await relationsOf('src/app.ts')).toEqual([
      'defines src/app.ts#run',
      'imports module:ext',
      'imports packages/lib/src/impl/extra.ts',
      'imports packages/lib/src/main.ts',
      'imports src/api/v2.ts',
      'imports src/util.ts',
    ]);
    expect(await relationsOf('src/app.ts#run')).toEqual([
      'calls packages/lib/src/impl/extra.ts#extra',
      'calls src/util.ts#helper',
    ]);
  });

  it('under NodeNext, follows path aliases written without an extension; an alias to nothing is no package', async () => {
    const project = join(root, 'nodenext-aliases');
    const put = (path: string, text: string): void => write(posix.join('nodenext-aliases', path), text);
    put(
      'tsconfig.json',
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          baseUrl: '.',
          paths: { '~/*': ['src/*'], '@core/*': ['src/core/*'] },
        },
      }),
    );
    put('package.json', JSON.stringify({ name: 'app', type: 'module' }));
    put('src/core/index.ts', `export const a = 1;\n`);
    put('src/core/base.ts', `export const b = 2;\n`);
    put(
      'src/app.ts',
      [
        `import { a } from '~/core/index';`,
        `import { b } from '@core/base';`,
        `import { gone } from '@core/missing';`,
        `import { z } from 'zod';`,
        `export const all = [a, b, gone, z];`,
      ].join('\n'),
    );

    graph = openSqliteKnowledgeGraph({ dataDir: join(project, '.baton') });
    await buildFromRepository(graph, project);
    expect(await relationsOf('src/app.ts')).toEqual([
      'defines src/app.ts#all',
      'imports module:zod',
      'imports src/core/base.ts',
      'imports src/core/index.ts',
    ]);
    expect(await graph.findEntities({ kinds: ['module'] })).toEqual([expect.objectContaining({ name: 'zod' })]);
  });

  it('keeps no secret of an import specifier, and reads a URL import as a URL module, not a package', async () => {
    const project = join(root, 'secrets');
    write(
      'secrets/src/app.ts',
      [
        `const pkg = require('https://deploy:s3cr3tPassw0rd@registry.example.com/pkg.js');`,
        `import tok from 'ghp_abcdefghijklmnopqrstuvwxyz123456';`,
        `export const x = [pkg, tok];`,
      ].join('\n'),
    );
    graph = openSqliteKnowledgeGraph({ dataDir: join(project, '.baton') });
    await buildFromRepository(graph, project);
    const stored = JSON.stringify([await graph.findEntities({}), await graph.findRelations({})]);
    expect(stored).not.toContain('s3cr3tPassw0rd');
    expect(stored).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz123456');
    expect(await relationsOf('src/app.ts')).toEqual([
      'defines src/app.ts#pkg',
      'defines src/app.ts#x',
      'imports module:[REDACTED]',
      'imports module:https://deploy:***@registry.example.com/pkg.js',
    ]);
    const answer = await answerQuestion(graph, 'what does src/app.ts import');
    expect(answer.text).toContain('URL module https://deploy:***@registry.example.com/pkg.js');
  });

  it('refuses a directory that does not exist, naming it', async () => {
    graph = openSqliteKnowledgeGraph({ dataDir: join(root, '.baton') });
    await expect(buildFromRepository(graph, join(root, 'no-such-dir'))).rejects.toMatchObject({
      code: 'BATON_KNOWLEDGE_INVALID',
      message: expect.stringContaining(join(root, 'no-such-dir')),
    });
  });
});
