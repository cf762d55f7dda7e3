import { spawn } from 'node:child_process';
import { agentReaper, ProcessTreeMark } from '../agents/index.js';
import { signalProcessGroup, type Clock } from '../core/index.js';
import type { VerifyResult } from '../store/index.js';
import type { VerifySpec } from '../workflow/index.js';

/** How much of a verify command's output the report keeps: its end, where test runners say what failed. */
const OUTPUT_TAIL_CHARS = 4000;

/**
 * Runs `verify` with `sh -c` in `cwd`. Past its timeout, when `signal` aborts, or once the command
 * exits, the whole process group is killed (a test runner's children too), and so is every process
 * carrying this run's `BATON_VERIFY_ID` in its environment (one that left the group: `setsid`, a
 * daemon's double fork); when this process dies, the watchdog kills both. A timeout counts as a
 * failure, an abort throws.
 */
export async function runVerify(
  spec: VerifySpec,
  cwd: string,
  signal: AbortSignal,
  clock: Clock,
): Promise<VerifyResult> {
  signal.throwIfAborted();
  const started = clock.now();
  agentReaper.ready();
  // Its own process group outlives a SIGKILLed Baton (a test suite running on for minutes); the
  // watchdog ends it, and what left the group (setsid) by its mark.
  const mark = new ProcessTreeMark('BATON_VERIFY_ID');
  const child = spawn('sh', ['-c', spec.command], {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...mark.env },
  });
  if (child.pid !== undefined) agentReaper.watch(child.pid);
  let output = '';
  const keep = (chunk: string): void => {
    output = (output + chunk).slice(-OUTPUT_TAIL_CHARS);
  };
  // Decoded per stream, so a character whose bytes arrive in two chunks is kept whole.
  for (const stream of [child.stdout, child.stderr]) stream.setEncoding('utf8').on('data', keep);
  const timeout = AbortSignal.timeout(spec.timeoutMs);
  const stop = AbortSignal.any([signal, timeout]);
  const killCommand = (): void => {
    if (child.pid !== undefined) signalProcessGroup(child.pid, 'SIGKILL');
    mark.kill();
  };
  stop.addEventListener('abort', killCommand, { once: true });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  }).finally(() => stop.removeEventListener('abort', killCommand));
  // What the command left running (a server started in the background) would hold its output open
  // and the merge with it: the command is over when it exits.
  killCommand();
  if (child.pid !== undefined) agentReaper.release(child.pid);
  mark.release();
  await closed;
  signal.throwIfAborted();
  return {
    command: spec.command,
    exitCode,
    outputTail: output,
    durationMs: clock.now() - started,
    ...(timeout.aborted ? { timedOut: true } : {}),
  };
}

export const verifyPassed = (result: VerifyResult | undefined): boolean =>
  result === undefined || result.exitCode === 0;

/** How a failed verify ended, for a message: timed out, killed by a signal, or its exit code. */
export function verifyFailure(result: VerifyResult, spec: VerifySpec): string {
  if (result.timedOut)
    return `timed out after ${spec.timeoutMs} ms; to give it longer, raise the phase's merge.verify.timeoutMs`;
  return result.exitCode === null ? 'killed by a signal' : `exit ${result.exitCode}`;
}

/**
 * The line of a failed verify's output that says most: the last one naming a failure (`# fail 1`,
 * `Tests: 1 failed`, `FAIL pkg`, `test result: FAILED`), else its last error (a crash: `Error: Cannot find
 * module …`, `command not found`), else its last line — test runners end with
 * timings, which say nothing. The whole tail is in `baton status --json`.
 */
export function verifyFailureLine(outputTail: string): string {
  const lines = outputTail
    .trim()
    .split('\n')
    .filter((line) => line.trim());
  const last = (pattern: RegExp): string | undefined => [...lines].reverse().find((line) => pattern.test(line));
  // A crash names no failure but its error (`Error: Cannot find module 'leftpad'`, `command not found`).
  return last(/fail/i) ?? last(/\b\w*(Error|Exception)\b|not found|No such file/) ?? lines.at(-1) ?? '';
}
