import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marked, type Tokens } from 'marked';
import { afterAll, describe, expect, it } from 'vitest';
import { isolatedHome } from './support/agent-env.js';
import { processesWithEnv } from './support/processes.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const doc = readFileSync(join(root, 'docs', 'api.md'), 'utf8');
/** The TypeScript examples of docs/api.md, in order. */
const examples = marked
  .lexer(doc)
  .filter((token): token is Tokens.Code => token.type === 'code' && token.lang === 'ts')
  .map((token) => token.text)
  .filter((code) => !/^import [^;]+;\s*$/.test(code)); // the one-line import overview

const home = isolatedHome('baton-api-doc-');
const dir = mkdtempSync(join(tmpdir(), 'baton-api-doc-'));
afterAll(() => {
  home.remove();
  rmSync(dir, { recursive: true, force: true });
});
// `import … from 'baton'` resolves to this checkout's source, as the installed package's exports would.
writeFileSync(
  join(dir, 'tsconfig.json'),
  JSON.stringify({ compilerOptions: { module: 'NodeNext', paths: { baton: [join(root, 'src', 'index.ts')] } } }),
);

/** Runs one example as its own Node process (through tsx), in the shared directory. */
function runExample(index: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(dir, `example-${index}.mts`);
  writeFileSync(file, examples[index]!);
  const env = { ...home.cliEnv('http://127.0.0.1:9'), TSX_TSCONFIG_PATH: join(dir, 'tsconfig.json') };
  delete (env as Record<string, string | undefined>).ANTHROPIC_BASE_URL; // each example starts its own model
  const child = spawn(process.execPath, ['--import', join(root, 'node_modules/tsx/dist/esm/index.mjs'), file], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('docs/api.md: its examples run as written (real claude agents, scripted model)', () => {
  it('has the three examples this test knows', () => {
    expect(examples).toHaveLength(3);
  });

  it('defines a workflow in code and runs it; its events arrive in order', async () => {
    const { code, stdout, stderr } = await runExample(0);
    expect(code, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    const events = lines.filter((line) => line.startsWith('event ')).map((line) => line.slice('event '.length));
    expect(events[0]).toBe('run.started');
    expect(events.at(-1)).toBe('run.finished');
    const at = (event: string): number => {
      const index = events.indexOf(event);
      expect(index, `${event} in ${events.join(', ')}`).toBeGreaterThanOrEqual(0);
      return index;
    };
    const order = [
      'phase.started draft',
      'agent.started draft writer',
      'agent.finished draft writer',
      'phase.finished draft',
      'phase.started review',
      'phase.finished review',
    ].map(at);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    for (const reviewer of ['reviewer.0', 'reviewer.1']) {
      expect(at(`agent.started review ${reviewer}`)).toBeLessThan(at(`agent.finished review ${reviewer}`));
      expect(at(`agent.finished review ${reviewer}`)).toBeLessThan(at('phase.finished review'));
    }
    // Every event about an agent names its phase too: its attempts, turns and context as well.
    const writers = events.filter((event) => event.endsWith(' writer'));
    expect(writers.filter((event) => !event.endsWith(' draft writer'))).toEqual([]);
    for (const type of ['agent.attempt', 'agent.turn', 'agent.attempt.finished']) at(`${type} draft writer`);
    expect(lines.at(-1)).toBe('status succeeded, 2 phases');
  }, 180_000);

  it('cancels a run with an AbortSignal, leaving no agent process behind', async () => {
    const { code, stdout, stderr } = await runExample(1);
    expect(code, stderr).toBe(0);
    expect(stdout.trim()).toBe('status cancelled');
    expect(processesWithEnv(home.dir)).toEqual([]);
  }, 180_000);

  it('resumes the cancelled run to success, then reads it and the usage back', async () => {
    const { code, stdout, stderr } = await runExample(2);
    expect(code, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'latest long-review cancelled',
      'resumed succeeded',
      'stored succeeded Reviewed.',
    ]);
    expect(lines.slice(3).sort()).toEqual(['usage greeting 3 agents', 'usage long-review 1 agents']);
    expect(processesWithEnv(home.dir)).toEqual([]);
  }, 180_000);
});
