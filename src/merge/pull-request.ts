import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tryGit } from '../git/index.js';
import type { MergeReport, VerifyResult } from '../store/index.js';

const exec = promisify(execFile);
const TAIL = 2000;

const verifyCell = (verify: VerifyResult | undefined): string => {
  if (!verify) return '-';
  return verify.timedOut ? 'timed out' : `exit ${verify.exitCode ?? 'killed'}`;
};

const bodyOf = (report: MergeReport): string =>
  [
    `Baton merged phase \`${report.phaseId}\` of run \`${report.runId}\`.`,
    '',
    '| Agent | Outcome | Verify |',
    '|---|---|---|',
    ...report.steps.map(
      (s) => `| ${s.agentId} | ${s.outcome}${s.reason ? ` (${s.reason})` : ''} | ${verifyCell(s.verify)} |`,
    ),
  ].join('\n');

/** Whether `gh` can be started here; any answer but "no such program" counts as yes (gh reports the rest). */
async function ghFound(repo: string, signal: AbortSignal): Promise<boolean> {
  try {
    await exec('gh', ['--version'], { cwd: repo, signal });
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code !== 'ENOENT';
  }
}

/**
 * `pr: true`: pushes the integration branch to `origin` when the repository has one, then runs
 * `gh pr create` for it against the branch the checkout is on. Without gh on PATH nothing happens
 * and the report says so; gh's failure is recorded, never the run's.
 */
export async function openPullRequest(
  repo: string,
  report: MergeReport,
  signal: AbortSignal,
): Promise<MergeReport['pr']> {
  // gh first: without it nothing is pushed either (no branch on origin with no pull request for it).
  if (!(await ghFound(repo, signal))) return { skipped: 'gh is not on PATH' };
  const remotes = (await tryGit(repo, ['remote'])).stdout.split('\n');
  if (remotes.includes('origin')) {
    const pushed = await tryGit(repo, ['push', '-q', 'origin', `${report.into}:${report.into}`], { signal });
    if (pushed.code !== 0) return { exitCode: pushed.code, outputTail: pushed.stderr.slice(-TAIL) };
  }
  const current = await tryGit(repo, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
  const args = [
    'pr',
    'create',
    '--head',
    report.into,
    ...(current.code === 0 ? ['--base', current.stdout] : []),
    '--title',
    `Baton: merge of phase ${report.phaseId} (run ${report.runId.slice(0, 8)})`,
    '--body',
    bodyOf(report),
  ];
  try {
    const { stdout } = await exec('gh', args, { cwd: repo, signal });
    return { url: stdout.trim().split('\n').at(-1) ?? '', exitCode: 0 };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (failed.code === 'ENOENT') return { skipped: 'gh is not on PATH' };
    if (signal.aborted) throw error;
    return {
      exitCode: typeof failed.code === 'number' ? failed.code : null,
      outputTail: `${failed.stdout ?? ''}${failed.stderr ?? ''}`.slice(-TAIL),
    };
  }
}
