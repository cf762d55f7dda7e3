import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startModelServer, type Script } from '../src/model-server/index.js';

export { random } from '../test/support/random.js';

export const root = fileURLToPath(new URL('../', import.meta.url));
export const resultsDir = join(root, 'bench', 'results');
/** The built CLI, as users run it (`npm run bench` builds first). */
export const batonBin = join(root, 'dist', 'cli', 'bin.js');
/** The claude binary the Agent SDK ships, for the raw baseline. */
export const claudeBin = fileURLToPath(import.meta.resolve('@anthropic-ai/claude-agent-sdk-linux-x64/claude'));

export interface BenchResult {
  name: string;
  goal?: string;
  /** Rows for the printed table: one per measurement. */
  rows: Array<Record<string, string | number>>;
  /** Headline numbers. */
  metrics: Record<string, number>;
}

export interface Lab {
  url: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  write(name: string, text: string): string;
  close(): Promise<void>;
}

/** A scripted model plus a throwaway HOME, shared by the commands one benchmark compares. */
export async function openLab(script: Script): Promise<Lab> {
  const { server, url, apiKey } = await startModelServer({ script });
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-'));
  mkdirSync(join(dir, 'work'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    CLAUDE_CONFIG_DIR: join(dir, '.claude'),
    ANTHROPIC_BASE_URL: url,
    ANTHROPIC_API_KEY: apiKey,
    CLAUDE_CODE_MAX_RETRIES: '0',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    BATON_DATA_DIR: join(dir, 'data'),
  };
  return {
    url,
    dir,
    env,
    write: (name, text) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a command to completion; rejects on a non-zero exit. Returns wall time in ms. */
export function timeCommand(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string },
): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) =>
      code === 0
        ? resolve(performance.now() - started)
        : reject(new Error(`${command} exited ${code}: ${stderr.slice(-500)}`)),
    );
  });
}

/**
 * CPU-seconds (user + system) of every child process this benchmark has started and waited for,
 * their own waited-for children included (Linux /proc; NaN elsewhere). The difference around a
 * command is what the command cost the machine, which other work on it changes far less than its
 * wall time. Counted in ticks of 10 ms.
 */
export function childrenCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name: state is field 3; cutime and cstime are fields 16 and 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return NaN;
  }
}

/** Runs `tasks` with at most `limit` at once. */
export async function withConcurrency<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const lanes = Array.from({ length: limit }, async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  });
  await Promise.all(lanes);
  return results;
}

export const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/** The p-th percentile (nearest rank) of `values`. */
export const percentile = (values: number[], p: number): number =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)]!;

export function printTable(result: BenchResult): void {
  console.log(`\n## ${result.name}${result.goal ? `  (goal: ${result.goal})` : ''}`);
  const columns = [...new Set(result.rows.flatMap((r) => Object.keys(r)))];
  const widths = columns.map((c) => Math.max(c.length, ...result.rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(columns));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of result.rows) console.log(line(columns.map((c) => String(row[c] ?? ''))));
  console.log(
    Object.entries(result.metrics)
      .map(([k, v]) => `${k}: ${v}`)
      .join(' · '),
  );
}
