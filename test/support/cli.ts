import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { getCurrentTest } from 'vitest/suite';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** The test build of the executable (test/support/cli-build.ts builds it from src/ before the tests run). */
export const batonBin = fileURLToPath(new URL('../../.test-dist/cli/bin.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `baton <args>` as a real child process: the test build of the CLI, bundled from src/ as `npm run build` bundles it. */
export function startCli(
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string },
): ChildProcess & { output: Promise<CliResult>; stdoutSoFar: () => string; stderrSoFar: () => string } {
  const child = spawn(process.execPath, [batonBin, ...args], {
    cwd: options.cwd ?? root,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A test that times out runs on in the background: a CLI it started must not run on into the next
  // test (a run's leftovers there, or its clean-up killing the next test's servers). SIGKILL, so its
  // watchdog stops what it started. One started by a hook is that hook's to stop.
  if (getCurrentTest())
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const output = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return Object.assign(child, { output, stdoutSoFar: () => stdout, stderrSoFar: () => stderr });
}

export function runCli(args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string }): Promise<CliResult> {
  return startCli(args, options).output;
}

/**
 * Polls until `check` returns a value, or fails after `timeoutMs`; the failure ends with what
 * `explain` says then (the state that never came, for a failure seen once in a full suite).
 */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
  explain?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${explain ? `\n${explain()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The id of the run of the workflow named `workflow`, once `baton runs` lists it (a run started in the background). */
export function runIdOnceListed(workflow: string, env: NodeJS.ProcessEnv): Promise<string> {
  return waitFor(
    async () => {
      const runs = JSON.parse((await runCli(['runs', '--json'], { env })).stdout) as Array<{
        runId: string;
        workflow: string;
      }>;
      return runs.find((r) => r.workflow === workflow)?.runId;
    },
    60_000,
    `the run of ${workflow}`,
  );
}
