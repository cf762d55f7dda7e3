import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { writeOfflineInstallLock } from './support/offline-install.js';
import { processesWithEnv } from './support/processes.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'baton-package-'));
// Asynchronously: an installed prefix is large, and a synchronous delete would stall vitest's worker.
afterAll(() => rm(dir, { recursive: true, force: true }), 300_000);

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

/** `npm pack` as a user's `npm publish` would build it (prepare compiles dist/ first). */
async function pack(): Promise<PackResult> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  return (JSON.parse(stdout) as PackResult[])[0]!;
}

describe('the npm package', () => {
  let packed: PackResult;

  it('ships dist, docs, examples, editors, deploy, config and the LICENSE, and no sources, tests or benchmarks', async () => {
    packed = await pack();
    const files = packed.files.map((f) => f.path);
    const tops = new Set(files.map((f) => f.split('/')[0]));
    expect([...tops].sort()).toEqual(
      ['LICENSE', 'README.md', 'config', 'deploy', 'dist', 'docs', 'editors', 'examples', 'package.json'].sort(),
    );
    for (const needed of [
      'dist/cli/main.js',
      'dist/index.js',
      'dist/index.d.ts',
      'docs/api.md',
      'examples/demo/workflow.yaml',
      'editors/nvim/lua/baton/init.lua',
      'deploy/docker-compose.yml',
      'config/production.yaml',
    ])
      expect(files).toContain(needed);
    expect(files.filter((f) => /\.test\.js$|\.map$/.test(f))).toEqual([]);
  }, 300_000);

  const prefix = join(dir, 'prefix');
  const home = join(dir, 'home');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, BATON_TEST_HOME: home };

  it('installs into an empty prefix without the network, and `baton demo` runs from it', async () => {
    mkdirSync(prefix);
    writeOfflineInstallLock(root, join(dir, packed.filename), prefix);
    // Offline there is no prebuilt better-sqlite3 to download, and compiling it from source takes
    // 5–10 minutes on a 2-core machine: install without scripts and take the native module this
    // checkout built for the same Node (its one install script; the tarball ships a built dist/).
    await run('npm', ['ci', '--offline', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: prefix,
      maxBuffer: 64 * 1024 * 1024,
    });
    cpSync(join(root, 'node_modules/better-sqlite3/build'), join(prefix, 'node_modules/better-sqlite3/build'), {
      recursive: true,
    });
    const baton = join(prefix, 'node_modules', '.bin', 'baton');
    const version = await run(baton, ['--version']);
    expect(version.stdout.trim()).toBe(
      (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version,
    );

    mkdirSync(home);
    const demo = await run(baton, ['demo', '--json', '--data-dir', join(home, 'data')], { cwd: home, env });
    const summary = JSON.parse(demo.stdout) as { status: string; phases: Array<{ id: string; status: string }> };
    expect(summary.status).toBe('succeeded');
    expect(summary.phases.map((p) => `${p.id}:${p.status}`)).toEqual([
      'survey:succeeded',
      'plan:succeeded',
      'report:succeeded',
    ]);
    expect(processesWithEnv(home)).toEqual([]);

    // A TypeScript user's import type-checks against the installed package's `exports` and `types`,
    // with the resolutions Node and bundler projects use. Once without skipLibCheck, under the strictest
    // resolution: Baton's .d.ts files may name only types the install brings (the user brings
    // @types/node, as any Node project). That check reads every installed .d.ts (≈ 10 CPU-s), so the
    // other resolutions check the user's file only; its @ts-expect-error fails if the types became `any`.
    writeFileSync(
      join(prefix, 'use.mts'),
      [
        "import { defineWorkflow, run, type BatonEvent, type RunSummary, type Store } from 'baton';",
        "const workflow = defineWorkflow({ version: 1, name: 'typed', phases: [{ id: 'p', agents: [{ id: 'a', prompt: 'hi' }] }] });",
        'const handle = run(workflow, { onEvent: (event: BatonEvent) => void event.type });',
        'export const summary: Promise<RunSummary> = handle.result;',
        'export type Stores = Store;',
        '// @ts-expect-error: a phase needs an id',
        "defineWorkflow({ version: 1, name: 'bad', phases: [{ agents: [] }] });",
        '',
      ].join('\n'),
    );
    cpSync(join(root, 'node_modules/@types/node'), join(prefix, 'node_modules/@types/node'), { recursive: true });
    cpSync(join(root, 'node_modules/undici-types'), join(prefix, 'node_modules/undici-types'), { recursive: true });
    const tsc = join(prefix, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const [module, resolution, libCheck] of [
      ['nodenext', 'nodenext', true],
      ['node16', 'node16', false],
      ['esnext', 'bundler', false],
    ] as const) {
      // A target any Node 20 project has: below ES2015 the SDK's own .d.ts (private #fields) do not compile.
      const flags = ['--noEmit', '--strict', '--target', 'es2022', '--types', 'node'];
      flags.push('--module', module, '--moduleResolution', resolution, ...(libCheck ? [] : ['--skipLibCheck']));
      const typecheck = await run(process.execPath, [tsc, ...flags, 'use.mts'], { cwd: prefix }).catch(
        (error: Error & { stdout?: string }) => ({ stdout: error.stdout ?? error.message }),
      );
      expect(typecheck.stdout, `moduleResolution ${resolution}`).toBe('');
    }
  }, 300_000);

  it('from the install: `baton init` elsewhere, its "Next:" lines run as printed, and a script imports and runs Baton', async () => {
    const project = join(home, 'my project');
    mkdirSync(project);
    const init = await run(join(prefix, 'node_modules', '.bin', 'baton'), ['init', 'starter'], { cwd: project, env });
    const next = init.stdout.split('\n').filter((line) => line.includes(' workflow.yaml'));
    expect(next, init.stdout).toHaveLength(3);
    for (const line of next.slice(0, 2)) {
      const shown = await run('sh', ['-c', line.split('#')[0]!], { cwd: project, env });
      expect(shown.stdout, line).toMatch(/is valid|succeeded/);
    }

    // A user's own module next to the install imports the package by name and runs real agents offline.
    writeFileSync(
      join(prefix, 'use.mjs'),
      [
        "import { defineWorkflow, listRuns, run, startModelServer } from 'baton';",
        "const workflow = defineWorkflow({ version: 1, name: 'from-code', phases: [{ id: 'p', agents: [{ id: 'a', prompt: 'hi' }] }] });",
        "const model = await startModelServer({ script: { rules: [], default: { text: 'Hi from the package' } } });",
        'try {',
        "  const config = { data_dir: 'api-data' };",
        '  const handle = run(workflow, { config, env: { ANTHROPIC_BASE_URL: model.url, ANTHROPIC_API_KEY: model.apiKey } });',
        '  const types = [];',
        '  for await (const event of handle) types.push(event.type);',
        '  const summary = await handle.result;',
        "  const runs = await listRuns({ dataDir: 'api-data' });",
        '  console.log(JSON.stringify({ status: summary.status, text: summary.phases[0].output?.text, types, runs: runs.length }));',
        '} finally {',
        '  await model.server.close();',
        '}',
        '',
      ].join('\n'),
    );
    const used = await run(process.execPath, ['use.mjs'], { cwd: prefix, env });
    const result = JSON.parse(used.stdout) as { status: string; text: string; types: string[]; runs: number };
    expect(result).toMatchObject({ status: 'succeeded', text: 'Hi from the package', runs: 1 });
    expect(result.types[0]).toBe('run.started');
    expect(result.types.at(-1)).toBe('run.finished');
    expect(processesWithEnv(home)).toEqual([]);
  }, 300_000);
});
