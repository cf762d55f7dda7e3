import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lexer, type Tokens } from 'marked';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScript, startModelServer } from '../src/model-server/index.js';
import { isolatedHome, TEST_API_KEY } from './support/agent-env.js';
import { batonBin, waitFor } from './support/cli.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const example = join(root, 'examples/quick-start');

/** The code blocks of docs/quick-start.md, by the heading they sit under. */
function blocks(): Array<{ section: string; lang: string; text: string }> {
  let section = '';
  const found: Array<{ section: string; lang: string; text: string }> = [];
  for (const token of new Lexer().lex(readFileSync(join(root, 'docs/quick-start.md'), 'utf8'))) {
    if (token.type === 'heading') section = (token as Tokens.Heading).text;
    if (token.type === 'code')
      found.push({ section, lang: (token as Tokens.Code).lang ?? '', text: (token as Tokens.Code).text });
  }
  return found;
}
const shellBlock = (prefix: string): string => {
  const block = blocks().find((b) => b.lang === 'sh' && b.section.startsWith(prefix));
  if (!block) throw new Error(`no shell block under "${prefix}"`);
  return block.text;
};

const home = isolatedHome('baton-quick-start-');
const work = mkdtempSync(join(tmpdir(), 'baton-quick-start-work-'));
cpSync(example, work, { recursive: true });
afterAll(() => {
  home.remove();
  rmSync(work, { recursive: true, force: true });
});

/** `npx baton …` as the docs write it, run by this checkout's CLI (its test build). */
const npxShim = `npx() { if [ "$1" = baton ]; then shift; node "${batonBin}" "$@"; else command npx "$@"; fi; }`;

/** Runs one line in bash; asynchronously, so that a model server in this process keeps answering. */
function shell(
  line: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `${npxShim}\n${line}`], { cwd: work, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('docs/quick-start.md, run as written', () => {
  it('the hello.yaml it shows is the one shipped in examples/quick-start/', () => {
    const yaml = blocks().find((b) => b.lang === 'yaml' && b.text.startsWith('# hello.yaml'));
    expect(yaml?.text.trim()).toBe(readFileSync(join(example, 'hello.yaml'), 'utf8').trim());
  });

  it('2. Start a project: init, plan and the offline run succeed in one shell, as written', async () => {
    // The last line runs on Claude and needs ANTHROPIC_API_KEY: the same run offline is the line before it.
    const lines = shellBlock('2.')
      .split('\n')
      .filter((l) => l.trim() && !l.includes('on Claude'));
    expect(lines.map((l) => l.split('#')[0]!.trim())).toEqual([
      'npx baton init my-project',
      'cd my-project',
      'npx baton plan workflow.yaml',
      'npx baton run workflow.yaml --model-script model-script.yaml',
    ]);
    const result = await shell(['set -e', ...lines].join('\n'), home.cliEnv('http://127.0.0.1:9'));
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.status, result.stderr).toBe(0);
  }, 300_000);

  it('3. Your first workflow: both commands succeed; --json prints exactly one JSON object', async () => {
    const { server, url } = await startModelServer({
      script: loadScript(join(example, 'my-script.yaml')),
      apiKey: TEST_API_KEY,
    });
    try {
      const env = home.cliEnv(url);
      for (const line of shellBlock('3.')
        .split('\n')
        .filter((l) => l.trim())) {
        const result = await shell(line, env);
        expect(result.stderr).not.toMatch(/\n\s+at /);
        expect(result.status, `${line}\n${result.stderr}`).toBe(0);
        if (line.includes('--json')) expect(JSON.parse(result.stdout)).toMatchObject({ status: 'succeeded' });
      }
    } finally {
      await server.close();
    }
  }, 300_000);

  it('4. Offline, against your own script: the model server from my-script.yaml serves the run', async () => {
    const [serveLine, , runLine] = shellBlock('4.').split('\n');
    const env = home.cliEnv('http://127.0.0.1:9'); // overridden by the line itself
    const modelServer = spawn('bash', ['-c', `${npxShim}\n${serveLine}`], { cwd: work, env, detached: true });
    let served = '';
    modelServer.stderr.on('data', (chunk: Buffer) => (served += chunk.toString()));
    modelServer.stdout.on('data', (chunk: Buffer) => (served += chunk.toString()));
    try {
      await waitFor(() => /127\.0\.0\.1:8123/.test(served) || undefined, 60_000, 'the model server to listen');
      const result = await shell(runLine!, env);
      expect(result.status, result.stderr).toBe(0);
      expect(readFileSync(join(work, 'requests.jsonl'), 'utf8')).toMatch(/lister-answers/);
    } finally {
      if (modelServer.exitCode === null) process.kill(-modelServer.pid!, 'SIGTERM');
    }
  }, 300_000);

  it('5. Looking at runs: every command that ends by itself succeeds as written', async () => {
    // Long-running servers and commands needing another system (Redis, a live run) are covered by their own tests.
    const elsewhere = [
      'baton cancel',
      'baton dashboard',
      'baton serve',
      '--resume',
      'baton worker',
      'baton migrate',
      'baton bridge',
      'baton kg',
    ];
    const env = home.cliEnv('http://127.0.0.1:9');
    const lines = shellBlock('5.')
      .split('\n')
      .filter((l) => l.trim());
    const command = (line: string): string => line.split('#')[0]!;
    const run = lines.filter((line) => !elsewhere.some((word) => command(line).includes(word)));
    expect(run.length).toBeGreaterThanOrEqual(8);
    // <runId> and <id> stand for the run of section 3 and its first agent.
    const latest = JSON.parse((await shell('npx baton status --json', env)).stdout) as {
      runId: string;
      phases: Array<{ agents: Array<{ id: string }> }>;
    };
    const filled = (line: string): string =>
      line.replace(' [runId]', '').replace('<runId>', latest.runId).replace('<id>', latest.phases[0]!.agents[0]!.id);
    for (const line of run) {
      const result = await shell(filled(line), env);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.status, `${line}\n${result.stderr}`).toBe(0);
    }
  }, 300_000);
});
