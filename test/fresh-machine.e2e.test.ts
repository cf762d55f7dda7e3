import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lexer, type Tokens } from 'marked';
import { afterAll, describe, expect, it } from 'vitest';
import { findProgram } from './support/programs.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const absent = new Set(['redis-server', 'nvim', 'chromium']);

/** A PATH with everything of this machine's PATH except redis-server, nvim and chromium (symlinks in one dir). */
function pathWithout(): string {
  const bin = mkdtempSync(join(tmpdir(), 'baton-fresh-path-'));
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (absent.has(name)) continue;
      try {
        symlinkSync(join(dir, name), join(bin, name));
      } catch {
        // an earlier PATH entry already provides it
      }
    }
  }
  return bin;
}

const bin = pathWithout();
afterAll(() => rmSync(bin, { recursive: true, force: true }));

// One suite per program the simulated machine lacks, and one that needs nothing but Node.
const subset = [
  'src/store/migrate.test.ts',
  'test/bridge-nvim.e2e.test.ts',
  'test/web-dashboard.e2e.test.ts',
  'src/observability/redact.test.ts',
];

function vitestOnFreshMachine(extraEnv: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin };
  delete env.BATON_TEST_REQUIRE_ALL; // CI sets it for the outer run
  delete env.FORCE_COLOR;
  env.NO_COLOR = '1';
  Object.assign(env, extraEnv);
  const child = spawn(process.execPath, [vitest, 'run', ...subset], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

describe('npm test on a machine with only Node and npm (PATH without redis-server, nvim, chromium)', () => {
  it('the simulated PATH really lacks them', () => {
    for (const program of ['redis-server', 'nvim', 'chromium'] as const)
      expect(findProgram(program, bin)).toBeUndefined();
    expect(findProgram('git', bin)).toBeDefined();
  });

  it('passes, and lists each suite NOT RUN with the command that installs its program, together at the end', async () => {
    const { code, output } = await vitestOnFreshMachine({});
    expect(code, output).toBe(0);
    const lines = output.trimEnd().split('\n');
    const notRun = lines.filter((line) => line.startsWith('NOT RUN '));
    expect(notRun.sort()).toEqual([
      'NOT RUN  src/store/migrate.test.ts: needs redis-server. Install it: sudo apt-get install -y redis-server',
      'NOT RUN  test/bridge-nvim.e2e.test.ts: needs nvim. Install it: sudo apt-get install -y neovim',
      'NOT RUN  test/web-dashboard.e2e.test.ts: needs chromium. Install it: sudo apt-get install -y chromium',
    ]);
    // Together, as the last lines of the run, after vitest's summary.
    expect(lines.slice(-3).sort()).toEqual(notRun);
    expect(lines.findIndex((line) => line.startsWith('NOT RUN '))).toBeGreaterThan(
      lines.findIndex((line) => /Test Files/.test(line)),
    );
    expect(output).toMatch(/Tests\s+\d+ passed/);
  }, 120_000);

  it('fails with BATON_TEST_REQUIRE_ALL=1 (as .ci/run sets it), naming each missing program', async () => {
    const { code, output } = await vitestOnFreshMachine({ BATON_TEST_REQUIRE_ALL: '1' });
    expect(code).not.toBe(0);
    for (const program of absent)
      expect(output).toContain(`needs ${program}, which is not on PATH (BATON_TEST_REQUIRE_ALL=1)`);
    expect(output).toMatch(/Test Files\s+3 failed \| 1 passed/);
  }, 120_000);
});

/** What in a test file starts each program (the helpers of test/support, or the program by name). */
const startsProgram = {
  'redis-server': /\b(useRedisStore|useRedisServer|startRedisServer)\(/,
  chromium: /\blaunchChromium\(/,
  nvim: /\b(run|spawn|spawnSync|execFile|execFileSync)\(\s*['"]nvim['"]/,
} as const;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'support' ? [] : testFiles(path);
    return /\.(test|e2e\.test)\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

// The run above samples one suite per program; this covers every suite, so a new one that starts a
// program outside `requireProgram` fails here instead of failing on a machine without it.
describe('every suite that starts a system program asks for it first', () => {
  it.each(Object.entries(startsProgram))('%s', (program, starts) => {
    const unguarded = [...testFiles(join(root, 'src')), ...testFiles(join(root, 'test'))]
      .filter((file) => !file.endsWith('fresh-machine.e2e.test.ts'))
      .filter((file) => {
        const text = readFileSync(file, 'utf8');
        return starts.test(text) && !text.includes(`requireProgram('${program}')`);
      })
      .map((file) => relative(root, file));
    expect(unguarded).toEqual([]);
  });
});

/** README's table of suites by the program they need: program → the suites it names. */
function readmeSuites(): Map<string, Set<string>> {
  const table = new Lexer()
    .lex(readFileSync(join(root, 'README.md'), 'utf8'))
    .filter((token): token is Tokens.Table => token.type === 'table')
    .find((token) => token.header[0]?.text === 'Program');
  if (!table) throw new Error('README.md has no table of programs');
  return new Map(
    table.rows.map((row) => [
      row[0]!.text.replaceAll('`', ''),
      new Set([...row[2]!.text.matchAll(/`([^`]+\.test\.tsx?)`/g)].map((m) => m[1]!)),
    ]),
  );
}

describe('README says which suites need which programs', () => {
  it.each(['redis-server', 'nvim', 'chromium', 'git'])(
    '%s: every suite that asks for it is in the table',
    (program) => {
      const asking = [...testFiles(join(root, 'src')), ...testFiles(join(root, 'test'))]
        .filter((file) => readFileSync(file, 'utf8').includes(`requireProgram('${program}')`))
        .filter((file) => !file.endsWith('fresh-machine.e2e.test.ts'))
        .map((file) => relative(root, file))
        .sort();
      expect([...(readmeSuites().get(program) ?? [])].sort()).toEqual(asking);
    },
  );
});
