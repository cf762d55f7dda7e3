// The merge loop against real git repositories, with agent branches made by hand and a resolver
// that edits files directly: the policies, ordering, branch safety and resumability.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import { checkoutFingerprint, gitIn, makeRepo } from '../../test/support/git-repo.js';
import { agentRecord } from '../../test/support/records.js';
import { requireProgram } from '../../test/support/programs.js';
import { type AgentRecord, type AgentStatus } from '../store/index.js';
import { mergeSchema, type PhaseSpec } from '../workflow/index.js';
import { checkIntegrationBranches, mergePhase, phaseAfterMerge, type MergePhaseOptions } from './index.js';

const RUN = '0123456789abcdef';
const temp = useTempStore('baton-merge-');

/** An agent of the phase that committed `files` on its own branch, as a finished worktree agent does. */
function agentBranch(
  git: (...a: string[]) => string,
  repo: string,
  id: string,
  files: Record<string, string>,
  change?: (worktree: string) => void,
): AgentRecord {
  const base = git('rev-parse', 'HEAD');
  const branch = `baton/${RUN.slice(0, 8)}/${id}`;
  git('branch', branch, base);
  const path = join(repo, '..', `wt-${id}`);
  git('worktree', 'add', '-q', path, branch);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(path, file), text);
  change?.(path);
  const inWt = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: path, encoding: 'utf8' }).trim();
  inWt('add', '-A');
  inWt('commit', '-q', '-m', `agent ${id}`);
  const commit = inWt('rev-parse', 'HEAD');
  git('worktree', 'remove', '--force', path);
  const lines = Object.values(files).join('').split('\n').length - 1;
  return agentRecord({
    runId: RUN,
    phaseId: 'edit',
    id,
    status: 'succeeded',
    prompt: `task of ${id}`,
    turns: 1,
    durationMs: 1,
    role: 'worker',
    output: { text: `result of ${id}` },
    workspace: { branch, path, baseCommit: base, commit, diffStat: { files: 1, insertions: lines, deletions: 0 } },
  });
}

/** A resolver that settles the conflict by writing `file` with `content`. */
function resolverWriting(file: string, content: string): MergePhaseOptions['resolve'] {
  return async ({ cwd }) => {
    writeFileSync(join(cwd, file), content);
    return { status: 'succeeded' };
  };
}

function setup(name: string) {
  const repo = join(temp.dir, name, 'repo');
  const git = makeRepo(repo, {
    'check.sh': 'if grep -rq BROKEN --exclude=check.sh --exclude-dir=.git .; then echo broken; exit 1; fi\n',
    'shared.txt': 'original\n',
  });
  return { repo, git };
}

async function merge(
  repo: string,
  agents: AgentRecord[],
  merge: Record<string, unknown>,
  extra: Partial<MergePhaseOptions> = {},
) {
  await temp.store.saveRun({
    id: RUN,
    workflowName: 'w',
    tenant: 'default',
    workflow: {},
    status: 'running',
    createdAt: 1,
  });
  const phase = {
    id: 'edit',
    workspace: 'worktree',
    merge: mergeSchema.parse(merge),
    agents: [],
  } as unknown as PhaseSpec;
  return mergePhase({
    store: temp.store,
    runId: RUN,
    phase,
    repo,
    dataDir: join(temp.dir, 'data'),
    agents,
    resolve: () => Promise.reject(new Error('no resolver in this test')),
    signal: new AbortController().signal,
    ...extra,
  });
}

describe.runIf(requireProgram('git'))('mergePhase with real git', () => {
  it('makes the integration branch at the base commit also when no branch reaches a merge', async () => {
    const { repo, git } = setup('none-merged');
    const base = git('rev-parse', 'HEAD');
    const failed = { ...agentBranch(git, repo, 'a', { 'a.txt': 'A\n' }), status: 'failed' as const };
    const report = await merge(repo, [failed], {});
    expect(report.steps.map((s) => s.reason)).toEqual(['agent-failed']);
    expect(report).toMatchObject({ createdBranch: true, head: base });
    expect(git('rev-parse', report.into)).toBe(base);
  });

  it('onConflict: skip leaves the conflicting branch out and merges the rest; the checkout is untouched', async () => {
    const { repo, git } = setup('skip');
    const before = checkoutFingerprint(repo);
    const agents = [
      agentBranch(git, repo, 'a', { 'shared.txt': 'A\n' }),
      agentBranch(git, repo, 'b', { 'shared.txt': 'B\n' }),
      agentBranch(git, repo, 'c', { 'c.txt': 'C\n' }),
    ];
    const report = await merge(repo, agents, { onConflict: 'skip' });
    expect(report.status).toBe('partial');
    expect(report.steps.map((s) => [s.agentId, s.outcome, s.reason ?? '', s.conflictFiles ?? []])).toEqual([
      ['a', 'merged', '', []],
      ['b', 'skipped', 'conflict', ['shared.txt']],
      ['c', 'merged', '', []],
    ]);
    expect(git('show', `${report.into}:shared.txt`)).toBe('A');
    expect(git('rev-parse', report.into)).toBe(report.head);
    expect(checkoutFingerprint(repo)).toEqual(before);
    expect(await temp.store.listMergeReports(RUN)).toEqual([report]);
  });

  it('onConflict: fail stops the merge and fails the phase; what merged before stays on the branch', async () => {
    const { repo, git } = setup('fail');
    const agents = [
      agentBranch(git, repo, 'a', { 'shared.txt': 'A\n' }),
      agentBranch(git, repo, 'b', { 'shared.txt': 'B\n' }),
    ];
    const report = await merge(repo, agents, { onConflict: 'fail' });
    expect(report.status).toBe('failed');
    expect(report.error).toEqual({
      code: 'BATON_MERGE_FAILED',
      message: `merging ${agents[1]!.workspace!.branch} conflicts in shared.txt`,
    });
    expect(git('show', `${report.into}:shared.txt`)).toBe('A');
    expect(phaseAfterMerge({ status: 'succeeded' as const }, report)).toEqual({
      status: 'failed',
      error: report.error,
    });
  });

  it('onVerifyFailure: fail names a verify that timed out as timed out, not as an exit code', async () => {
    const { repo, git } = setup('timeout');
    const agents = [agentBranch(git, repo, 'a', { 'a.txt': 'A\n' })];
    const report = await merge(repo, agents, {
      verify: { command: 'sleep 30', timeoutMs: 300 },
      onVerifyFailure: 'fail',
    });
    expect(report.steps[0]!.verify).toMatchObject({ exitCode: null, timedOut: true });
    expect(report.error).toEqual({
      code: 'BATON_MERGE_FAILED',
      message: `verify failed after merging ${agents[0]!.workspace!.branch} (timed out after 300 ms; to give it longer, raise the phase's merge.verify.timeoutMs)`,
    });
  });

  it('a verify that fails on the base commit itself fails the merge, naming the command, not a partial merge', async () => {
    // A typo in verify (npm tset) skipped every branch as verify-failed and the run still succeeded with
    // nothing merged; checked on the base once no branch has passed, it is named for what it is.
    const { repo, git } = setup('broken-verify');
    const agents = [agentBranch(git, repo, 'a', { 'a.txt': 'A\n' }), agentBranch(git, repo, 'b', { 'b.txt': 'B\n' })];
    const report = await merge(repo, agents, { verify: 'sh no-such-check.sh' });
    expect(report.steps.map((s) => `${s.agentId}:${s.reason ?? ''}`)).toEqual(['a:verify-failed', 'b:verify-failed']);
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('BATON_MERGE_FAILED');
    expect(report.error?.message).toContain(
      `verify (sh no-such-check.sh) fails on the base commit ${report.baseCommit.slice(0, 10)} itself`,
    );
    expect(report.error?.message).toContain(`baton merge ${RUN}`);
    expect(phaseAfterMerge({ status: 'succeeded' as const }, report).status).toBe('failed');
  });

  it('branches that break a verify the base passes are skipped, and the merge is partial', async () => {
    const ok = setup('agents-broke-it');
    const broken = [agentBranch(ok.git, ok.repo, 'x', { 'x.txt': 'BROKEN\n' })];
    const partial = await merge(ok.repo, broken, { verify: 'sh check.sh' });
    expect(partial).toMatchObject({ status: 'partial' });
    expect(partial.error).toBeUndefined();
  });

  describe('verifyBatch: verify once, bisect on failure', () => {
    /** A verify command that also counts its runs, in a file outside every worktree. */
    const countedVerify = (name: string): { command: string; runs: () => number } => {
      const log = join(temp.dir, `${name}.verify-runs`);
      return {
        command: `echo run >> '${log}'; sh check.sh`,
        runs: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0),
      };
    };
    const branches = (git: (...a: string[]) => string, repo: string, broken: number[], count = 8): AgentRecord[] =>
      Array.from({ length: count }, (_, i) =>
        agentBranch(git, repo, `f${i}`, { [`f${i}.txt`]: broken.includes(i) ? 'BROKEN\n' : `feature ${i}\n` }),
      );

    it('merges every branch and runs verify once when the result passes', async () => {
      const { repo, git } = setup('batch-pass');
      const verify = countedVerify('batch-pass');
      const report = await merge(repo, branches(git, repo, []), { verify: verify.command, verifyBatch: true });
      expect(report.status).toBe('succeeded');
      expect(report.steps.map((s) => s.outcome)).toEqual(Array(8).fill('merged'));
      expect(report.steps.every((s) => s.verify === undefined)).toBe(true);
      expect(report.verified).toMatchObject({ head: report.head, verify: { exitCode: 0 } });
      expect(verify.runs()).toBe(1);
      expect(git('rev-parse', report.into)).toBe(report.head);
    });

    it('finds the branch that broke verify by bisection, leaves it out and keeps the rest', async () => {
      const { repo, git } = setup('batch-one');
      const verify = countedVerify('batch-one');
      const report = await merge(repo, branches(git, repo, [5]), { verify: verify.command, verifyBatch: true });
      expect(report.status).toBe('partial');
      expect(report.steps.map((s) => `${s.agentId}:${s.outcome}:${s.reason ?? ''}`)).toEqual([
        ...[0, 1, 2, 3, 4].map((i) => `f${i}:merged:`),
        'f5:skipped:verify-failed',
        'f6:merged:',
        'f7:merged:',
      ]);
      expect(report.steps[5]!.verify).toMatchObject({ exitCode: 1, outputTail: 'broken\n' });
      // The whole result, then heads 3, 5 and 4 of the 8 merges, then the result without f5: 5 runs, not 8.
      expect(verify.runs()).toBe(5);
      expect(report.rebuilds).toBe(1);
      expect(report.verified).toMatchObject({ head: report.head, verify: { exitCode: 0 } });
      const files = git('ls-tree', '--name-only', report.into).split('\n');
      expect(files).toEqual(expect.arrayContaining(['f0.txt', 'f4.txt', 'f6.txt', 'f7.txt']));
      expect(files).not.toContain('f5.txt');
    });

    it('leaves out each of several branches that break verify', async () => {
      const { repo, git } = setup('batch-two');
      const report = await merge(repo, branches(git, repo, [1, 6]), { verify: 'sh check.sh', verifyBatch: true });
      const skipped = report.steps.filter((s) => s.outcome === 'skipped').map((s) => `${s.agentId}:${s.reason}`);
      expect(skipped).toEqual(['f1:verify-failed', 'f6:verify-failed']);
      expect(report.steps.filter((s) => s.outcome === 'merged')).toHaveLength(6);
      expect(report.rebuilds).toBe(2);
      expect(git('ls-tree', '--name-only', report.into).split('\n')).not.toContain('f6.txt');
    });

    it('with onVerifyFailure: fail, stops at the branch that broke verify, naming it', async () => {
      const { repo, git } = setup('batch-fail');
      const agents = branches(git, repo, [2], 4);
      const report = await merge(repo, agents, { verify: 'sh check.sh', verifyBatch: true, onVerifyFailure: 'fail' });
      expect(report.status).toBe('failed');
      expect(report.error?.message).toBe(
        `verify failed after merging ${agents[2]!.workspace!.branch}, found by bisection (exit 1)`,
      );
      expect(report.steps.map((s) => `${s.agentId}:${s.outcome}`)).toEqual(['f0:merged', 'f1:merged', 'f2:skipped']);
      expect(git('rev-parse', report.into)).toBe(report.steps[1]!.head);
    });

    it('a verify that fails on the base commit too fails the merge instead of blaming a branch', async () => {
      const { repo, git } = setup('batch-broken-verify');
      const report = await merge(repo, branches(git, repo, [], 3), {
        verify: 'sh no-such-check.sh',
        verifyBatch: true,
      });
      expect(report.status).toBe('failed');
      expect(report.error?.message).toContain('fails on the base commit');
      expect(report.steps.some((s) => s.reason === 'verify-failed')).toBe(false);
    });

    it('an orchestrator stopped after the merges, before verify, verifies and bisects on resume', async () => {
      const { repo, git } = setup('batch-resume');
      const agents = branches(git, repo, [3], 5);
      // As if killed once every merge was recorded: the stored report is still running, nothing verified.
      const merged = await merge(repo, agents, {});
      await temp.store.saveMergeReport({ ...merged, status: 'running', finishedAt: undefined });
      const resumed = await merge(repo, agents, { verify: 'sh check.sh', verifyBatch: true });
      expect(resumed.steps.map((s) => `${s.agentId}:${s.outcome}`)).toEqual([
        'f0:merged',
        'f1:merged',
        'f2:merged',
        'f3:skipped',
        'f4:merged',
      ]);
      expect(resumed.verified?.head).toBe(resumed.head);
      expect(git('rev-parse', resumed.into)).toBe(resumed.head);
      expect(git('ls-tree', '--name-only', resumed.into).split('\n')).not.toContain('f3.txt');
    });

    it('needs a verify command', () => {
      const parsed = mergeSchema.safeParse({ verifyBatch: true });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]).toMatchObject({ path: ['verifyBatch'] });
    });
  });

  it('never overwrites an `into` branch the run did not create', async () => {
    const { repo, git } = setup('exists');
    git('branch', 'release', 'main');
    const agents = [agentBranch(git, repo, 'a', { 'a.txt': 'A\n' })];
    const report = await merge(repo, agents, { into: 'release' });
    expect(report).toMatchObject({
      status: 'failed',
      createdBranch: false,
      error: { code: 'BATON_MERGE_BRANCH_EXISTS' },
    });
    expect(git('rev-parse', 'release')).toBe(git('rev-parse', 'main'));
  });

  it('smallest-first with verifyEach: a branch failing verify on its own is never merged', async () => {
    const { repo, git } = setup('order');
    const agents = [
      agentBranch(git, repo, 'big', { 'big.txt': '1\n2\n3\n' }),
      agentBranch(git, repo, 'broken', { 'x.txt': 'BROKEN\n1\n' }),
      agentBranch(git, repo, 'small', { 'small.txt': '1\n' }),
    ];
    const report = await merge(repo, agents, { order: 'smallest-first', verify: 'sh check.sh', verifyEach: true });
    expect(report.steps.map((s) => `${s.agentId}:${s.outcome}:${s.reason ?? ''}`)).toEqual([
      'small:merged:',
      'broken:skipped:branch-verify-failed',
      'big:merged:',
    ]);
    expect(report.steps[1]!.branchVerify).toMatchObject({ exitCode: 1, outputTail: 'broken\n' });
    expect(report.steps[1]!.verify).toBeUndefined();
  });

  it("a resolver's edits are committed when they leave no conflict, and skipped as unresolved when markers remain", async () => {
    const { repo, git } = setup('resolve');
    const agents = [
      agentBranch(git, repo, 'a', { 'shared.txt': 'A\n' }),
      agentBranch(git, repo, 'b', { 'shared.txt': 'B\n' }),
      agentBranch(git, repo, 'c', { 'shared.txt': 'C\n' }),
    ];
    const asked: string[] = [];
    const resolve: MergePhaseOptions['resolve'] = async ({ agentId, cwd, prompt }) => {
      asked.push(`${agentId}: ${prompt.split('\n')[0]}`);
      // b's conflict is resolved; c's resolver gives up and leaves the markers.
      if (agentId.endsWith('.b')) writeFileSync(join(cwd, 'shared.txt'), 'A\nB\n');
      return { status: 'succeeded' as AgentStatus };
    };
    const report = await merge(repo, agents, { onConflict: 'agent', verify: 'sh check.sh' }, { resolve });
    expect(report.steps.map((s) => `${s.agentId}:${s.outcome}:${s.reason ?? ''}`)).toEqual([
      'a:merged:',
      'b:resolved:',
      'c:skipped:unresolved',
    ]);
    expect(asked).toEqual([
      `edit.resolve.b: Merging branch ${agents[1]!.workspace!.branch} into ${report.into} stopped on conflicts in: shared.txt.`,
      `edit.resolve.c: Merging branch ${agents[2]!.workspace!.branch} into ${report.into} stopped on conflicts in: shared.txt.`,
    ]);
    expect(git('show', `${report.into}:shared.txt`)).toBe('A\nB');
  });

  it('a resolver that aborts the merge or commits its markers is unresolved; one that commits a clean resolution is merged once', async () => {
    const { repo, git } = setup('disobey');
    const agents = ['a', 'b', 'c', 'd'].map((id) =>
      agentBranch(git, repo, id, { 'shared.txt': `${id.toUpperCase()}\n` }),
    );
    const inWt = (cwd: string, ...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=r', '-c', 'user.email=r@r', ...args], { cwd, encoding: 'utf8' });
    // Told not to commit or abort, real agents sometimes do anyway.
    const resolve: MergePhaseOptions['resolve'] = async ({ agentId, cwd }) => {
      if (agentId.endsWith('.b')) inWt(cwd, 'merge', '--abort');
      if (agentId.endsWith('.c')) inWt(cwd, 'commit', '-q', '-am', 'resolved (not really)');
      if (agentId.endsWith('.d')) {
        writeFileSync(join(cwd, 'shared.txt'), 'A\nD\n');
        inWt(cwd, 'commit', '-q', '-am', 'resolved');
      }
      return { status: 'succeeded' as AgentStatus };
    };
    const report = await merge(repo, agents, { onConflict: 'agent' }, { resolve });
    expect(report.steps.map((s) => `${s.agentId}:${s.outcome}:${s.reason ?? ''}`)).toEqual([
      'a:merged:',
      'b:skipped:unresolved',
      'c:skipped:unresolved',
      'd:resolved:',
    ]);
    expect(git('show', `${report.into}:shared.txt`)).toBe('A\nD');
    // d's merge is one merge commit with both parents, as for any other branch.
    expect(git('rev-list', '--parents', '-n', '1', report.into).split(' ').slice(1)).toEqual([
      report.steps[2]!.head,
      agents[3]!.workspace!.commit,
    ]);
  });

  it('markers left in a file git does not diff are unresolved; what the resolver built stays out of the merge', async () => {
    const { repo, git } = setup('undiffed');
    writeFileSync(join(repo, '.gitattributes'), 'lock.json -diff\n');
    writeFileSync(join(repo, 'lock.json'), '{ "version": "1.0.0" }\n');
    writeFileSync(join(repo, '.gitignore'), 'node_modules/\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'lockfile');
    const agents = ['a', 'b', 'c'].map((id) => agentBranch(git, repo, id, { 'lock.json': `{ "version": "${id}" }\n` }));
    // b's resolver leaves git's markers; c's settles the file and runs the checks, which write a log.
    const resolve: MergePhaseOptions['resolve'] = async ({ agentId, cwd }) => {
      if (agentId.endsWith('.c')) {
        writeFileSync(join(cwd, 'lock.json'), '{ "version": "c" }\n');
        writeFileSync(join(cwd, 'build.log'), 'checks passed at 12:00\n');
      }
      return { status: 'succeeded' as AgentStatus };
    };
    const report = await merge(repo, agents, { onConflict: 'agent' }, { resolve });
    expect(report.steps.map((s) => `${s.agentId}:${s.outcome}:${s.reason ?? ''}`)).toEqual([
      'a:merged:',
      'b:skipped:unresolved',
      'c:resolved:',
    ]);
    expect(git('show', `${report.into}:lock.json`)).toBe('{ "version": "c" }');
    expect(git('ls-tree', '-r', '--name-only', report.into).split('\n')).not.toContain('build.log');
  });

  it('merges renames, deletions and binary files, and names conflicted files as they are spelled', async () => {
    const { repo, git } = setup('shapes');
    writeFileSync(join(repo, 'naïve notes.txt'), 'original\n');
    writeFileSync(join(repo, 'old.txt'), 'moved\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'more files');
    const binary = Buffer.from([0, 1, 2, 255, 254, 0, 10]);
    const moved = agentBranch(git, repo, 'moved', {}, (wt) => {
      renameSync(join(wt, 'old.txt'), join(wt, 'new.txt'));
      rmSync(join(wt, 'check.sh'));
      writeFileSync(join(wt, 'logo.bin'), binary);
    });
    const agents = [
      moved,
      agentBranch(git, repo, 'a', { 'naïve notes.txt': 'A\n' }),
      agentBranch(git, repo, 'b', { 'naïve notes.txt': 'B\n' }),
    ];
    const report = await merge(repo, agents, { onConflict: 'skip' });
    expect(report.steps.map((s) => [s.agentId, s.outcome, s.conflictFiles ?? []])).toEqual([
      ['moved', 'merged', []],
      ['a', 'merged', []],
      ['b', 'skipped', ['naïve notes.txt']],
    ]);
    const files = git('-c', 'core.quotePath=false', 'ls-tree', '--name-only', report.into).split('\n');
    expect(files.sort()).toEqual(['logo.bin', 'naïve notes.txt', 'new.txt', 'shared.txt']);
    const blob = execFileSync('git', ['show', `${report.into}:logo.bin`], { cwd: repo });
    expect(Buffer.compare(blob, binary)).toBe(0);
  });

  /** Merges three agents' branches, then stores the report as if the orchestrator died after `steps` of them. */
  async function mergedThenCutBack(name: string, steps: number) {
    const { repo, git } = setup(name);
    const agents = ['a', 'b', 'c'].map((id) => agentBranch(git, repo, id, { [`${id}.txt`]: `${id}\n` }));
    const whole = await merge(repo, agents, {});
    const { finishedAt: _finishedAt, ...unfinished } = whole;
    await temp.store.saveMergeReport({
      ...unfinished,
      status: 'running',
      steps: whole.steps.slice(0, steps),
      head: whole.steps[steps - 1]!.head,
    });
    return { repo, git, agents, whole };
  }

  it('a merge stopped after its first step continues to the same head as an uninterrupted one', async () => {
    // As if the orchestrator died after recording the first step: the branch is ahead of the record.
    const { repo, git, agents, whole } = await mergedThenCutBack('resume', 1);
    const resumed = await merge(repo, agents, {});
    expect(resumed.status).toBe('succeeded');
    expect(resumed.head).toBe(whole.head);
    expect(resumed.steps).toEqual(whole.steps);
    expect(git('rev-parse', resumed.into)).toBe(whole.head);
  });

  it('a merge committed but not recorded before the orchestrator died is kept, not made again', async () => {
    // The branch holds c's merge on top of the recorded head: the step died between commit and record.
    const { repo, git, agents, whole } = await mergedThenCutBack('committed', 2);
    const moves = git('reflog', 'show', '--format=%H', whole.into).split('\n').length;
    const resumed = await merge(repo, agents, {});
    expect(resumed).toMatchObject({ status: 'succeeded', head: whole.head, steps: whole.steps });
    // The branch never moved: no reset, no second commit.
    expect(git('reflog', 'show', '--format=%H', whole.into).split('\n')).toHaveLength(moves);
  });

  it('a resolved merge committed but not recorded before the orchestrator died is recorded as resolved', async () => {
    const { repo, git } = setup('resolved-unrecorded');
    const agents = [
      agentBranch(git, repo, 'a', { 'shared.txt': 'A\n' }),
      agentBranch(git, repo, 'b', { 'shared.txt': 'B\n' }),
    ];
    const resolve = resolverWriting('shared.txt', 'A\nB\n');
    const whole = await merge(repo, agents, { onConflict: 'agent' }, { resolve });
    const { finishedAt: _finishedAt, ...unfinished } = whole;
    await temp.store.saveMergeReport({
      ...unfinished,
      status: 'running',
      steps: whole.steps.slice(0, 1),
      head: whole.steps[0]!.head,
    });
    // No resolver runs again: the resolution is on the branch already.
    const resumed = await merge(repo, agents, { onConflict: 'agent' });
    expect(resumed).toMatchObject({ status: 'succeeded', head: whole.head });
    expect(resumed.steps).toEqual(whole.steps);
  });

  it('git locks left by a git process killed with the orchestrator do not stop the resumed merge', async () => {
    // The orchestrator's whole process group SIGKILLed mid-commit: the integration worktree is still
    // there, with its index and branch locked.
    const { repo, git, agents, whole } = await mergedThenCutBack('locked', 1);
    const path = join(temp.dir, 'data', 'merges', RUN, 'edit');
    git('worktree', 'add', '-q', path, whole.into);
    const gitPath = (lock: string) => gitIn(path)('rev-parse', '--path-format=absolute', '--git-path', lock);
    for (const lock of ['index.lock', `refs/heads/${whole.into}.lock`]) writeFileSync(gitPath(lock), '');
    const resumed = await merge(repo, agents, {});
    expect(resumed).toMatchObject({ status: 'succeeded', head: whole.head });
    expect(git('rev-parse', whole.into)).toBe(whole.head);
  });

  it("the user's own worktree whose directory is missing (an unmounted drive) keeps its registration", async () => {
    // `git worktree prune` before each of Baton's worktrees forgot every missing one, the user's too: with
    // the drive back, theirs was no longer a worktree of the repository.
    const { repo, git } = setup('user-worktree');
    const drive = join(temp.dir, 'user-worktree', 'drive', 'feature');
    git('worktree', 'add', '-q', '-b', 'feature', drive);
    renameSync(join(drive, '..'), join(temp.dir, 'user-worktree', 'unmounted'));
    const agents = [agentBranch(git, repo, 'a', { 'a.txt': 'A\n' }), agentBranch(git, repo, 'b', { 'b.txt': 'B\n' })];
    const report = await merge(repo, agents, { verify: 'sh check.sh', verifyEach: true });
    expect(report.status).toBe('succeeded');
    expect(git('worktree', 'list', '--porcelain').split('\n')).toContain(`worktree ${drive}`);
    renameSync(join(temp.dir, 'user-worktree', 'unmounted'), join(drive, '..'));
    expect(gitIn(drive)('rev-parse', '--abbrev-ref', 'HEAD')).toBe('feature');
  });

  it('a run cancelled while a conflict waits for its resolver resumes from the half-done merge', async () => {
    const { repo, git } = setup('midmerge');
    const agents = [
      agentBranch(git, repo, 'a', { 'shared.txt': 'A\n' }),
      agentBranch(git, repo, 'b', { 'shared.txt': 'B\n' }),
    ];
    const cancel = new AbortController();
    const interrupted = await merge(
      repo,
      agents,
      { onConflict: 'agent' },
      {
        signal: cancel.signal,
        resolve: async () => {
          cancel.abort();
          throw new Error('the orchestrator stopped');
        },
      },
    );
    expect(interrupted).toMatchObject({ status: 'running', steps: [{ agentId: 'a', outcome: 'merged' }] });
    const resolve = resolverWriting('shared.txt', 'A\nB\n');
    const resumed = await merge(repo, agents, { onConflict: 'agent' }, { resolve });
    expect(resumed.status).toBe('succeeded');
    expect(resumed.steps[1]).toMatchObject({ agentId: 'b', outcome: 'resolved', conflictFiles: ['shared.txt'] });
    expect(git('show', `${resumed.into}:shared.txt`)).toBe('A\nB');
  });
});

/** Git shapes and repository setups a user's repository has and the merge must survive. */
describe.runIf(requireProgram('git'))('mergePhase on awkward repositories', () => {
  const hook = (repo: string, name: string): void => {
    writeFileSync(join(repo, '.git', 'hooks', name), `#!/bin/sh\necho ${name} refused >&2\nexit 1\n`);
    chmodSync(join(repo, '.git', 'hooks', name), 0o755);
  };

  it('a failing post-checkout or prepare-commit-msg hook does not stop the merge', async () => {
    const { repo, git } = setup('hooks');
    const agents = [agentBranch(git, repo, 'a', { 'a.txt': 'A\n' }), agentBranch(git, repo, 'b', { 'b.txt': 'B\n' })];
    for (const name of ['post-checkout', 'prepare-commit-msg', 'commit-msg', 'pre-merge-commit']) hook(repo, name);
    const report = await merge(repo, agents, { verify: 'sh check.sh', verifyEach: true });
    expect(report.status).toBe('succeeded');
    expect(git('show', `${report.into}:b.txt`)).toBe('B');
  });

  it("verify's own files and edits never reach the integration branch nor block the next merge", async () => {
    // A verify that writes a report and reformats a tracked file (an npm install writing a lockfile, a
    // formatter): the next branch adds the same report file, and a conflict after it is resolved.
    const { repo, git } = setup('verify-leftovers');
    const agents = [
      agentBranch(git, repo, 'a', { 'shared.txt': 'A\n' }),
      agentBranch(git, repo, 'b', { 'report.txt': 'from b\n' }),
      agentBranch(git, repo, 'c', { 'shared.txt': 'C\n' }),
    ];
    const resolve = resolverWriting('shared.txt', 'A\nC\n');
    const verify = 'sh check.sh && echo verified > report.txt && echo reformatted >> check.sh';
    const report = await merge(repo, agents, { verify, onConflict: 'agent' }, { resolve });
    expect(report.steps.map((s) => `${s.agentId}:${s.outcome}`)).toEqual(['a:merged', 'b:merged', 'c:resolved']);
    expect(git('show', `${report.into}:report.txt`)).toBe('from b');
    expect(git('show', `${report.into}:check.sh`)).toBe(git('show', 'main:check.sh'));
  });

  it('baton merge with an into changed to an existing branch of the user refuses it', async () => {
    const { repo, git } = setup('redo-into');
    git('branch', 'release', 'main');
    const agents = [agentBranch(git, repo, 'a', { 'a.txt': 'A\n' })];
    const first = await merge(repo, agents, {});
    expect(first.status).toBe('succeeded');
    const redone = await merge(repo, agents, { into: 'release' }, { redo: true });
    expect(redone).toMatchObject({ status: 'failed', error: { code: 'BATON_MERGE_BRANCH_EXISTS' } });
    expect(git('rev-parse', 'release')).toBe(git('rev-parse', 'main'));
    // into set back: the branch the run made is still its own.
    const again = await merge(repo, agents, {}, { redo: true });
    expect(again).toMatchObject({ status: 'succeeded', into: first.into, head: first.head });
  });

  it("baton merge refuses to reset an integration branch that holds someone's commits, and keeps its report", async () => {
    const { repo, git } = setup('redo-moved');
    const agents = [agentBranch(git, repo, 'a', { 'a.txt': 'A\n' })];
    const first = await merge(repo, agents, {});
    // A reviewer's fix committed on the integration branch after the run.
    git('worktree', 'add', '-q', join(repo, '..', 'review'), first.into);
    const review = gitIn(join(repo, '..', 'review'));
    writeFileSync(join(repo, '..', 'review', 'a.txt'), 'A, reviewed\n');
    review('commit', '-qam', 'review fix');
    const reviewed = review('rev-parse', 'HEAD');
    git('worktree', 'remove', join(repo, '..', 'review'));
    const redone = await merge(repo, agents, {}, { redo: true });
    expect(redone).toMatchObject({ status: 'failed', head: first.head, steps: first.steps });
    expect(redone.error).toMatchObject({ code: 'BATON_MERGE_BRANCH_EXISTS' });
    expect(redone.error!.message).toContain(`which has commits Baton did not make (${reviewed.slice(0, 7)}`);
    expect(git('rev-parse', first.into)).toBe(reviewed);

    // Deleted and made again by the user, with work of their own: still not Baton's to reset.
    git('branch', '-D', first.into);
    git('branch', first.into, 'main');
    git('commit', '-q', '--allow-empty', '-m', 'mine');
    git('branch', '-f', first.into, 'HEAD');
    const again = await merge(repo, agents, {}, { redo: true });
    expect(again.error).toMatchObject({ code: 'BATON_MERGE_BRANCH_EXISTS' });
    expect(git('rev-parse', first.into)).toBe(git('rev-parse', 'HEAD'));

    // Back where Baton left it: the redo runs.
    git('branch', '-f', first.into, first.head);
    expect(await merge(repo, agents, {}, { redo: true })).toMatchObject({ status: 'succeeded', head: first.head });
  });

  it('merges in a repository that asks for signed merges, though agents commit unsigned', async () => {
    const { repo, git } = setup('verify-signatures');
    git('config', 'merge.verifySignatures', 'true');
    const report = await merge(repo, [agentBranch(git, repo, 'a', { 'a.txt': 'A\n' })], {});
    expect(report).toMatchObject({ status: 'succeeded' });
    expect(git('show', `${report.into}:a.txt`)).toBe('A');
  });

  it('baton merge while the user has the integration branch checked out names the branch and how to free it', async () => {
    // Refused by git's own words ("fatal: '<into>' is already checked out at ..."), naming no way out.
    const { repo, git } = setup('redo-checked-out');
    const agents = [agentBranch(git, repo, 'a', { 'a.txt': 'A\n' })];
    const first = await merge(repo, agents, {});
    git('checkout', '-q', first.into);
    const redone = await merge(repo, agents, {}, { redo: true });
    expect(redone).toMatchObject({ status: 'failed', error: { code: 'BATON_MERGE_FAILED' } });
    expect(redone.error!.message).toBe(
      `merge.into of phase edit is branch ${first.into}, which is checked out at ${repo} (Baton merges in a worktree of its own), and git checks a branch out in one place only: switch that checkout to another branch, or keep its files as they are with git -C ${repo} switch --detach, then run baton merge ${RUN} again`,
    );
    expect(git('rev-parse', first.into)).toBe(first.head);
    // The refused round keeps what the branch holds on record: the earlier round's head and steps.
    expect(redone).toMatchObject({ head: first.head, steps: first.steps, round: 2 });
    git('switch', '-q', '--detach');
    const again = await merge(repo, agents, {}, { redo: true });
    expect(again).toMatchObject({ status: 'succeeded', head: first.head });
  });

  it('a rename merges with an edit of the same file; a deletion against an edit and two different new files of one name conflict', async () => {
    const { repo, git } = setup('rename-delete');
    writeFileSync(join(repo, 'lib.txt'), 'one\ntwo\nthree\nfour\nfive\n');
    writeFileSync(join(repo, 'gone.txt'), 'keep me\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'more');
    const agents = [
      agentBranch(git, repo, 'mover', {}, (wt) => renameSync(join(wt, 'lib.txt'), join(wt, 'src-lib.txt'))),
      agentBranch(git, repo, 'editor', { 'lib.txt': 'one\ntwo\nTHREE\nfour\nfive\n' }),
      agentBranch(git, repo, 'deleter', {}, (wt) => rmSync(join(wt, 'gone.txt'))),
      agentBranch(git, repo, 'keeper', { 'gone.txt': 'keep me, edited\n' }),
      agentBranch(git, repo, 'same1', { 'new.txt': 'same\n' }),
      agentBranch(git, repo, 'same2', { 'new.txt': 'same\n' }),
      agentBranch(git, repo, 'other', { 'new.txt': 'different\n' }),
    ];
    const report = await merge(repo, agents, {});
    expect(report.steps.map((s) => [s.agentId, s.outcome, s.conflictFiles ?? []])).toEqual([
      ['mover', 'merged', []],
      ['editor', 'merged', []],
      ['deleter', 'merged', []],
      ['keeper', 'skipped', ['gone.txt']],
      ['same1', 'merged', []],
      ['same2', 'merged', []],
      ['other', 'skipped', ['new.txt']],
    ]);
    expect(git('show', `${report.into}:src-lib.txt`)).toBe('one\ntwo\nTHREE\nfour\nfive');
    expect(git('ls-tree', '--name-only', report.into).split('\n')).not.toContain('gone.txt');
  });

  it('a resolver that leaves a binary or delete conflict as it found it has resolved nothing', async () => {
    const { repo, git } = setup('binary-conflict');
    writeFileSync(join(repo, 'logo.bin'), Buffer.from([0, 1, 2, 3]));
    writeFileSync(join(repo, 'gone.txt'), 'keep me\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'more');
    const agents = [
      agentBranch(git, repo, 'a', {}, (wt) => {
        writeFileSync(join(wt, 'logo.bin'), Buffer.from([0, 9, 9, 9]));
        rmSync(join(wt, 'gone.txt'));
      }),
      agentBranch(git, repo, 'b', {}, (wt) => writeFileSync(join(wt, 'logo.bin'), Buffer.from([0, 7, 7, 7]))),
      agentBranch(git, repo, 'c', { 'gone.txt': 'edited\n' }),
      agentBranch(git, repo, 'd', {}, (wt) => writeFileSync(join(wt, 'logo.bin'), Buffer.from([0, 5, 5, 5]))),
    ];
    const prompts: string[] = [];
    const resolve: MergePhaseOptions['resolve'] = async ({ agentId, cwd, prompt }) => {
      prompts.push(prompt);
      // d's resolver takes the incoming side, as git checkout --theirs would.
      if (agentId.endsWith('.d')) execFileSync('git', ['checkout', '--theirs', 'logo.bin'], { cwd });
      return { status: 'succeeded' };
    };
    const report = await merge(repo, agents, { onConflict: 'agent' }, { resolve });
    expect(report.steps.map((s) => `${s.agentId}:${s.outcome}:${s.reason ?? ''}`)).toEqual([
      'a:merged:',
      'b:skipped:unresolved',
      'c:skipped:unresolved',
      'd:resolved:',
    ]);
    expect([...execFileSync('git', ['show', `${report.into}:logo.bin`], { cwd: repo })]).toEqual([0, 5, 5, 5]);
    expect(prompts[0]).toContain('logo.bin');
  });

  it('CRLF files and files without a final newline merge and resolve byte for byte', async () => {
    const { repo, git } = setup('crlf');
    writeFileSync(join(repo, 'win.txt'), 'one\r\ntwo\r\nthree\r\nfour\r\nfive\r\n');
    writeFileSync(join(repo, 'tail.txt'), 'first\nlast');
    git('add', '-A');
    git('commit', '-q', '-m', 'more');
    const agents = [
      agentBranch(git, repo, 'top', { 'win.txt': 'ONE\r\ntwo\r\nthree\r\nfour\r\nfive\r\n', 'tail.txt': 'last' }),
      agentBranch(git, repo, 'bottom', { 'win.txt': 'one\r\ntwo\r\nthree\r\nfour\r\nFIVE\r\n' }),
      agentBranch(git, repo, 'tail', { 'tail.txt': 'first\nlast\nafter' }),
    ];
    const resolve = resolverWriting('tail.txt', 'last\nafter');
    const report = await merge(repo, agents, { onConflict: 'agent' }, { resolve });
    expect(report.steps.map((s) => `${s.agentId}:${s.outcome}`)).toEqual([
      'top:merged',
      'bottom:merged',
      'tail:resolved',
    ]);
    const show = (file: string) =>
      execFileSync('git', ['show', `${report.into}:${file}`], { cwd: repo, encoding: 'utf8' });
    expect(show('win.txt')).toBe('ONE\r\ntwo\r\nthree\r\nfour\r\nFIVE\r\n');
    expect(show('tail.txt')).toBe('last\nafter');
  });

  it('a repository whose branch is not main, and an into with slashes', async () => {
    const repo = join(temp.dir, 'trunk', 'repo');
    const git = makeRepo(repo, { 'check.sh': 'exit 0\n', 'shared.txt': 'original\n' });
    git('branch', '-m', 'main', 'trunk');
    const agents = [agentBranch(git, repo, 'a', { 'a.txt': 'A\n' })];
    const before = checkoutFingerprint(repo);
    const report = await merge(repo, agents, { into: 'team/integration/{{phase}}/{{run8}}', verify: 'sh check.sh' });
    expect(report).toMatchObject({ status: 'succeeded', into: `team/integration/edit/${RUN.slice(0, 8)}` });
    expect(git('show', `${report.into}:a.txt`)).toBe('A');
    expect(checkoutFingerprint(repo)).toEqual(before);
  });

  it("an into that is, holds or sits inside an agent's branch or another phase's into is refused before anything runs", async () => {
    const { repo, git } = setup('clash');
    const phase = (id: string, agents: string[], spec: Record<string, unknown>) =>
      ({
        id,
        workspace: 'worktree',
        agents: agents.map((agentId) => ({ id: agentId, prompt: 'p' })),
        merge: mergeSchema.parse(spec),
      }) as unknown as PhaseSpec;
    // The default into of a one-agent phase named like its agent is that agent's own branch.
    await expect(checkIntegrationBranches([phase('writer', ['writer'], {})], repo)).rejects.toThrow(
      'merge.into of phase writer gives "baton/<run8>/writer", which clashes with the branch "baton/<run8>/writer" of agent writer',
    );
    await expect(checkIntegrationBranches([phase('edit', ['a'], { into: 'baton/{{run8}}' })], repo)).rejects.toThrow(
      'clashes with the branch "baton/<run8>/a" of agent a',
    );
    const nested = [phase('one', ['a'], { into: 'team/x' }), phase('two', ['b'], { into: 'team/x/{{phase}}' })];
    await expect(checkIntegrationBranches(nested, repo)).rejects.toThrow('of phase one (its merge.into)');
    const fine = [phase('edit', ['a', 'b'], {}), phase('more', ['c'], { into: 'team/{{phase}}' })];
    await expect(checkIntegrationBranches(fine, repo)).resolves.toBeUndefined();
    // A new run's fixed into beside a branch the repository has: refused before any agent runs.
    git('branch', 'release');
    git('branch', 'team/more');
    for (const [into, taken] of [
      ['release/{{phase}}', 'release'],
      ['team/{{phase}}', 'team/more'],
    ] as const)
      await expect(checkIntegrationBranches([phase('more', ['c'], { into })], repo, { newRun: true })).rejects.toThrow(
        `phases[0].merge.into: gives "${into.replace('{{phase}}', 'more')}", but the repository has a branch "${taken}"`,
      );
    // With the run's id in it, or resumed (the branch may be its own), it is not the check's to refuse.
    await expect(
      checkIntegrationBranches([phase('more', ['c'], { into: 'release/{{run8}}' })], repo, { newRun: true }),
    ).resolves.toBeUndefined();
    await expect(
      checkIntegrationBranches([phase('more', ['c'], { into: 'team/{{phase}}' })], repo),
    ).resolves.toBeUndefined();
  });
});
