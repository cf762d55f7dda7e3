// Merging a worktree phase's branches back (merge:), with real git and real claude agents on the
// scripted model: verify after each merge, a resolver agent for a conflict, a branch that breaks
// verify left out, the next phase built on the merge, resume after SIGKILL, and the user's checkout
// byte-for-byte unchanged throughout.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scriptSchema } from '../src/model-server/index.js';
import type { PhaseSummary, RunSummary } from '../src/orchestrator/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { runCli, startCli, waitFor, type CliResult } from './support/cli.js';
import { checkoutFingerprint, dirtyCheckout, makeRepo } from './support/git-repo.js';
import { requireProgram } from './support/programs.js';
import { useScriptedModel } from './support/scripted-model.js';

const slowResolver = '/stopped on conflicts in[\\s\\S]*slow line/';
const bash = (command: string) => ({ toolUse: { name: 'Bash', input: { command, description: 'edit' } } });
const model = useScriptedModel(
  scriptSchema.parse({
    rules: [
      // The resolver first: its prompt quotes the other agents' prompts. The slow resolver edits, then
      // takes long to answer (the orchestrator is killed then); resumed, it finishes at once.
      { match: { prompt: slowResolver, turn: 1 }, reply: bash("printf 'slow A\\nslow B\\n' > slow.txt") },
      { match: { prompt: slowResolver, last: 'previous attempt' }, reply: { text: 'Kept both slow lines.' } },
      { match: { prompt: slowResolver }, reply: { text: 'Kept both slow lines.', delayMs: 120_000 } },
      { match: { prompt: 'Claim the slow line as A', turn: 1 }, reply: bash("echo 'slow A' > slow.txt") },
      { match: { prompt: 'Claim the slow line as B', turn: 1 }, reply: bash("echo 'slow B' > slow.txt") },
      {
        match: { prompt: 'stopped on conflicts in', turn: 1 },
        reply: bash("printf 'shared by A\\nshared by B\\n' > shared.txt"),
      },
      { match: { prompt: 'stopped on conflicts in' }, reply: { text: 'Kept both lines in shared.txt.' } },
      { match: { prompt: 'Write alpha', turn: 1 }, reply: bash('echo alpha > a.txt') },
      { match: { prompt: 'Write alpha' }, reply: { text: 'Wrote alpha to a.txt.' } },
      { match: { prompt: 'Write beta', turn: 1 }, reply: bash('echo beta > b.txt') },
      { match: { prompt: 'Write beta' }, reply: { text: 'Wrote beta to b.txt.' } },
      { match: { prompt: 'Write gamma', turn: 1 }, reply: bash('echo gamma > c.txt') },
      { match: { prompt: 'Write gamma' }, reply: { text: 'Wrote gamma to c.txt.' } },
      { match: { prompt: 'Break the check', turn: 1 }, reply: bash('echo BROKEN > d.txt') },
      { match: { prompt: 'Break the check' }, reply: { text: 'Wrote d.txt.' } },
      { match: { prompt: 'Claim the shared line as A', turn: 1 }, reply: bash("echo 'shared by A' > shared.txt") },
      { match: { prompt: 'Claim the shared line as A' }, reply: { text: 'shared.txt now says A.' } },
      { match: { prompt: 'Claim the shared line as B', turn: 1 }, reply: bash("echo 'shared by B' > shared.txt") },
      { match: { prompt: 'Claim the shared line as B' }, reply: { text: 'shared.txt now says B.' } },
      { match: { prompt: 'Add the logo', turn: 1 }, reply: bash("printf '\\211PNG\\000\\001\\377' > logo.bin") },
      { match: { prompt: 'Add the logo' }, reply: { text: 'Added logo.bin.' } },
      { match: { prompt: 'Rename the notes', turn: 1 }, reply: bash('git mv notes.txt NOTES.md') },
      { match: { prompt: 'Rename the notes' }, reply: { text: 'Renamed.' } },
      { match: { prompt: 'Remove the shared file', turn: 1 }, reply: bash('rm shared.txt') },
      { match: { prompt: 'Remove the shared file' }, reply: { text: 'Removed.' } },
      {
        // The user's own checkout, found from the agent's worktree: a commit on main, then another branch.
        match: { prompt: 'Move the user checkout', turn: 1 },
        reply: bash(
          'cd "$(git rev-parse --path-format=absolute --git-common-dir)/.." && echo user > user.txt && git add user.txt && git -c user.name=u -c user.email=u@u commit -qm "user work" && git checkout -q -b elsewhere',
        ),
      },
      {
        match: { prompt: 'Commit your own work', turn: 1 },
        reply: bash(
          'echo self > self.txt && git add self.txt && git -c user.name=a -c user.email=a@a commit -qm "agent commit" && echo extra > extra.txt',
        ),
      },
      { match: { prompt: 'Take your time' }, reply: { text: 'Done at last.', delayMs: 120_000 } },
      { match: { prompt: 'Read what was merged', turn: 1 }, reply: bash('cat a.txt b.txt') },
      { match: { prompt: 'Read what was merged' }, reply: { text: 'Both files are there.' } },
    ],
    default: { text: 'OK' },
  }),
  'baton-merge-e2e-',
);

/** The repository every test starts from: a check that fails when any file says BROKEN. */
const baseFiles = {
  'check.sh':
    'if grep -rl BROKEN --exclude=check.sh --exclude-dir=.git .; then echo "check failed: BROKEN found"; exit 1; fi\necho check passed\n',
  'shared.txt': 'original\n',
  'notes.txt': 'notes\n',
};

interface Scenario {
  repo: string;
  git: (...args: string[]) => string;
  dataDir: string;
  run: (args: string[], extraEnv?: Record<string, string>) => Promise<CliResult>;
  workflow: (yaml: string) => string;
}

function scenario(name: string): Scenario {
  const dir = join(model.home.dir, name);
  const repo = join(dir, 'repo');
  const git = makeRepo(repo, baseFiles);
  const dataDir = join(dir, 'data');
  const env = (extra: Record<string, string> = {}) => model.home.cliEnv(model.url, extra);
  return {
    repo,
    git,
    dataDir,
    run: async (args, extraEnv) => {
      const result = await runCli([...args, '--data-dir', dataDir], { env: env(extraEnv) });
      expect(result.stderr).not.toMatch(/\n\s+at /);
      return result;
    },
    workflow: (yaml) => {
      const path = join(dir, 'workflow.yaml');
      writeFileSync(path, yaml.replaceAll('REPO', repo));
      return path;
    },
  };
}

/** Two agents claiming one line and one breaking verify, in a worktree phase merged with `merge`'s settings. */
const claimsAndBreaker = (name: string, merge: string): string => `version: 1
name: ${name}
phases:
  - id: edit
    workspace: worktree
    repo: REPO
    merge: { ${merge} }
    agents:
      - { id: claim-a, allowedTools: [Bash], prompt: Claim the shared line as A in shared.txt. }
      - { id: breaker, allowedTools: [Bash], prompt: Break the check with d.txt. }
      - { id: claim-b, allowedTools: [Bash], prompt: Claim the shared line as B in shared.txt. }
`;

const phaseOf = (summary: RunSummary, id: string): PhaseSummary => summary.phases.find((p) => p.id === id)!;

/** A `gh` on PATH that answers with a pull request's URL and keeps its last call's arguments, one a line. */
function ghStub(name: string, url: string): { env: Record<string, string>; argsFile: string } {
  const stubDir = join(model.home.dir, name, 'bin');
  mkdirSync(stubDir, { recursive: true });
  writeFileSync(join(stubDir, 'gh'), `#!/bin/sh\nprintf '%s\\n' "$@" > "$GH_ARGS_FILE"\necho ${url}\n`);
  chmodSync(join(stubDir, 'gh'), 0o755);
  const argsFile = join(model.home.dir, name, 'gh-args.txt');
  return { env: { PATH: `${stubDir}:${process.env.PATH}`, GH_ARGS_FILE: argsFile }, argsFile };
}
const steps = (phase: PhaseSummary): string[] =>
  phase.merge!.steps.map((s) => `${s.agentId}:${s.outcome}${s.reason ? `:${s.reason}` : ''}`);

describe.runIf(requireProgram('git'))(
  'merge: worktree branches merged back with real git and real claude agents',
  () => {
    it("pr: true under an after gate: no pull request before a person passes the phase's output, then one", async () => {
      const s = scenario('gated-pr');
      const { env: extraEnv, argsFile: ghArgs } = ghStub('gated-pr', 'https://github.com/acme/repo/pull/8');
      const workflow = s.workflow(`version: 1
name: gated-pr
phases:
  - id: edit
    workspace: worktree
    repo: REPO
    merge: { pr: true }
    approval: { after: true }
    agents:
      - { id: writer-a, allowedTools: [Bash], prompt: Write alpha into a.txt. }
`);
      const detached = await s.run(['run', workflow, '--json', '--detach-on-wait'], extraEnv);
      expect(detached.code).toBe(3);
      const { runId } = JSON.parse(detached.stdout) as RunSummary;
      expect(existsSync(ghArgs)).toBe(false); // merged, waiting for a person: nothing published
      const [gate] = JSON.parse((await s.run(['approvals', '--json'])).stdout) as Array<{ id: string; kind: string }>;
      expect(gate?.kind).toBe('phase.after');
      expect((await s.run(['approve', gate!.id])).code).toBe(0);
      const resumed = await s.run(['run', '--resume', runId, '--json'], extraEnv);
      expect(resumed.code).toBe(0);
      const merge = phaseOf(JSON.parse(resumed.stdout) as RunSummary, 'edit').merge!;
      expect(merge.pr).toEqual({ url: 'https://github.com/acme/repo/pull/8', exitCode: 0 });
      expect(readFileSync(ghArgs, 'utf8').split('\n').slice(0, 6)).toEqual([
        'pr',
        'create',
        '--head',
        merge.into,
        '--base',
        'main',
      ]);
    });

    it('merges three branches with verify passing after each; the next phase starts from the merge; gh opens a PR; the checkout is untouched', async () => {
      const s = scenario('three');
      dirtyCheckout(s.repo, 'notes.txt');
      const before = checkoutFingerprint(s.repo);
      const { env: ghEnv, argsFile: ghArgs } = ghStub('three', 'https://github.com/acme/repo/pull/7');
      const workflow = s.workflow(`version: 1
name: merge-three
phases:
  - id: edit
    workspace: worktree
    repo: REPO
    merge: { verify: sh check.sh, pr: true }
    agents:
      - { id: writer-a, allowedTools: [Bash], prompt: Write alpha into a.txt. }
      - { id: writer-b, allowedTools: [Bash], prompt: Write beta into b.txt. }
      - { id: writer-c, allowedTools: [Bash], prompt: Write gamma into c.txt. }
  - id: read
    dependsOn: [edit]
    workspace: worktree
    repo: REPO
    agents:
      - { id: reader, allowedTools: [Bash], prompt: Read what was merged into a.txt and b.txt. }
`);
      const result = await s.run(['run', workflow, '--json'], ghEnv);
      expect(result.code).toBe(0);
      const summary = JSON.parse(result.stdout) as RunSummary;
      const edit = phaseOf(summary, 'edit');
      const merge = edit.merge!;
      const into = `baton/${summary.runId.slice(0, 8)}/edit`;
      expect(merge).toMatchObject({ status: 'succeeded', into, createdBranch: true, round: 1 });
      expect(steps(edit)).toEqual(['writer-a:merged', 'writer-b:merged', 'writer-c:merged']);
      for (const step of merge.steps) {
        expect(step.verify).toMatchObject({ command: 'sh check.sh', exitCode: 0 });
        expect(step.verify!.outputTail).toContain('check passed');
      }
      // Real merge commits, --no-ff, one per agent, named after agent and run, on top of the base.
      expect(s.git('rev-parse', into)).toBe(merge.head);
      expect(merge.baseCommit).toBe(s.git('rev-parse', 'main'));
      const merges = s.git('log', '--merges', '--format=%s', `${merge.baseCommit}..${into}`).split('\n');
      expect(merges).toEqual(
        ['writer-c', 'writer-b', 'writer-a'].map((id) => `baton: merge agent ${id} of run ${summary.runId}`),
      );
      expect(s.git('show', `${into}:a.txt`)).toBe('alpha');
      expect(s.git('show', `${into}:c.txt`)).toBe('gamma');
      // The dependent phase's worktree started at the integration head and its agent read both files.
      const reader = phaseOf(summary, 'read').agents[0]!;
      expect(reader.workspace!.baseCommit).toBe(merge.head);
      const readerTurn2 = model.server.messageRequests(reader.sessionId).at(-1)!.view!.last;
      expect(readerTurn2).toContain('alpha');
      expect(readerTurn2).toContain('beta');
      // gh pr create for the integration branch, against the branch the checkout is on.
      expect(merge.pr).toEqual({ url: 'https://github.com/acme/repo/pull/7', exitCode: 0 });
      const args = readFileSync(ghArgs, 'utf8').split('\n');
      expect(args.slice(0, 6)).toEqual(['pr', 'create', '--head', into, '--base', 'main']);
      // baton status shows the merge under the phase.
      const status = await s.run(['status', summary.runId]);
      expect(status.stdout).toContain(
        `    ⇄ merge succeeded: ${into} at ${merge.head.slice(0, 10)} (3 merged, 0 resolved, 0 skipped)`,
      );
      expect(status.stdout).toContain('      merged   writer-b         verify exit 0');
      // The user's checkout: same branch, index, working tree and stash; no worktree left behind.
      expect(checkoutFingerprint(s.repo)).toEqual(before);
      expect(s.git('worktree', 'list').split('\n')).toHaveLength(1);
      // Nor the run's (now empty) folders under data_dir.
      for (const kind of ['worktrees', 'merges'])
        expect([kind, readdirSync(join(s.dataDir, kind))]).toEqual([kind, []]);
    });

    it('a conflict goes to a resolver agent whose resolution passes verify; a branch breaking verify is left out; baton merge redoes it to the same head', async () => {
      const s = scenario('conflict');
      const before = checkoutFingerprint(s.repo);
      const workflow = s.workflow(claimsAndBreaker('merge-conflict', 'verify: sh check.sh, onConflict: agent'));
      const result = await s.run(['run', workflow, '--json']);
      expect(result.code).toBe(0);
      const summary = JSON.parse(result.stdout) as RunSummary;
      const edit = phaseOf(summary, 'edit');
      expect(edit.status).toBe('succeeded');
      expect(edit.merge!.status).toBe('partial');
      expect(steps(edit)).toEqual(['claim-a:merged', 'breaker:skipped:verify-failed', 'claim-b:resolved']);
      const [, breaker, claimB] = edit.merge!.steps;
      expect(breaker!.verify!.exitCode).toBe(1);
      expect(breaker!.verify!.outputTail).toContain('check failed: BROKEN found');
      expect(claimB).toMatchObject({
        conflictFiles: ['shared.txt'],
        resolver: { agentId: 'edit.resolve.claim-b', status: 'succeeded' },
        verify: { exitCode: 0 },
      });
      const into = edit.merge!.into;
      expect(s.git('show', `${into}:shared.txt`)).toBe('shared by A\nshared by B');
      expect(s.git('ls-tree', '--name-only', into).split('\n')).toEqual(['check.sh', 'notes.txt', 'shared.txt']);
      // The resolver, a real claude agent of the phase, was told the file and both sides' prompts and results.
      const resolver = edit.agents.find((a) => a.id === 'edit.resolve.claim-b')!;
      expect(resolver.role).toBe('resolver');
      const prompt = model.server.messageRequests(resolver.sessionId)[0]!.view!.prompt;
      expect(prompt).toContain('stopped on conflicts in: shared.txt');
      expect(prompt).toContain('<incoming agent="claim-b"');
      expect(prompt).toContain('Task: Claim the shared line as B in shared.txt.\nResult: shared.txt now says B.');
      expect(prompt).toContain('<merged agent="claim-a"');
      expect(prompt).toContain('Task: Claim the shared line as A in shared.txt.\nResult: shared.txt now says A.');
      expect(prompt).not.toContain('breaker');

      // baton merge: from the base again, without rerunning the agents; a new resolver; the same head.
      const workerRequests = edit.agents.map((a) => model.server.messageRequests(a.sessionId).length);
      writeFileSync(join(s.repo, 'notes.txt'), 'edited since the run\n'); // says nothing to a merge
      const redo = await s.run(['merge', summary.runId, '--json']);
      expect(redo.code).toBe(0);
      expect(redo.stderr).not.toContain('uncommitted');
      writeFileSync(join(s.repo, 'notes.txt'), baseFiles['notes.txt']);
      const redone = phaseOf(JSON.parse(redo.stdout) as RunSummary, 'edit');
      expect(redone.merge).toMatchObject({ round: 2, head: edit.merge!.head, status: 'partial' });
      expect(redone.merge!.steps[2]!.resolver!.agentId).toBe('edit.resolve.claim-b.2');
      expect(edit.agents.map((a) => model.server.messageRequests(a.sessionId).length)).toEqual(workerRequests);
      const wrongPhase = await s.run(['merge', summary.runId, '--phase', 'nope']);
      expect(wrongPhase.code).toBe(2);
      expect(wrongPhase.stderr).toContain(
        `error BATON_USAGE: --phase nope is not a merged phase of run ${summary.runId}; merged phases: edit`,
      );
      expect(checkoutFingerprint(s.repo)).toEqual(before);
    });

    it('verifyBatch: verify once on the merged result; bisection leaves the breaking branch out, and a conflict after it is resolved again', async () => {
      const s = scenario('batch');
      const workflow = s.workflow(
        claimsAndBreaker('merge-batch', 'verify: sh check.sh, verifyBatch: true, onConflict: agent'),
      );
      const result = await s.run(['run', workflow, '--json']);
      expect(result.code).toBe(0);
      const edit = phaseOf(JSON.parse(result.stdout) as RunSummary, 'edit');
      expect(steps(edit)).toEqual(['claim-a:merged', 'breaker:skipped:verify-failed', 'claim-b:resolved']);
      const merge = edit.merge!;
      expect(merge.steps[1]!.verify!.outputTail).toContain('check failed: BROKEN found');
      // claim-b conflicted twice: before bisection (merged after the breaker) and merged again without it.
      expect(merge.steps[2]!.resolver).toEqual({ agentId: 'edit.resolve.claim-b.r1', status: 'succeeded' });
      expect(edit.agents.map((a) => a.id)).toEqual(
        expect.arrayContaining(['edit.resolve.claim-b', 'edit.resolve.claim-b.r1']),
      );
      expect(merge).toMatchObject({ rebuilds: 1, verified: { head: merge.head, verify: { exitCode: 0 } } });
      expect(s.git('show', `${merge.into}:shared.txt`)).toBe('shared by A\nshared by B');
      expect(s.git('ls-tree', '--name-only', merge.into).split('\n')).not.toContain('d.txt');
      const status = await s.run(['status', (JSON.parse(result.stdout) as RunSummary).runId]);
      expect(status.stdout).toContain(
        `verified ${merge.head.slice(0, 10)} verify exit 0 (after leaving out 1 branch(es) by bisection)`,
      );
    });

    it('a run SIGKILLed while merging resumes the merge where it stopped and ends at the same integration head', async () => {
      const s = scenario('killed');
      const before = checkoutFingerprint(s.repo);
      const slow = join(model.home.dir, 'killed', 'slow');
      writeFileSync(slow, '');
      const workflow = s.workflow(`version: 1
name: merge-killed
phases:
  - id: edit
    workspace: worktree
    repo: REPO
    merge: { verify: "sh check.sh && if [ -f ${slow} ]; then sleep 3; fi" }
    agents:
      - { id: writer-a, allowedTools: [Bash], prompt: Write alpha into a.txt. }
      - { id: writer-b, allowedTools: [Bash], prompt: Write beta into b.txt. }
      - { id: writer-c, allowedTools: [Bash], prompt: Write gamma into c.txt. }
`);
      const orchestrator = startCli(['run', workflow, '--data-dir', s.dataDir], {
        env: model.home.cliEnv(model.url),
      });
      const store = openSqliteStore({ dataDir: s.dataDir });
      try {
        const runId = await waitFor(
          async () => {
            const [run] = await store.listRuns({ limit: 1 });
            const [report] = run ? await store.listMergeReports(run.id) : [];
            return report && report.steps.length === 1 ? run!.id : undefined;
          },
          120_000,
          'the first branch to be merged',
        );
        orchestrator.kill('SIGKILL');
        await orchestrator.output;
        rmSync(slow);
        const [interrupted] = await store.listMergeReports(runId);
        expect(interrupted!.status).toBe('running');
        const agents = (await store.listAgents(runId)).filter((a) => a.role === 'worker');
        const requests = agents.map((a) => model.server.messageRequests(a.sessionId).length);

        const resumed = await s.run(['run', '--resume', runId, '--json']);
        expect(resumed.code).toBe(0);
        const merge = phaseOf(JSON.parse(resumed.stdout) as RunSummary, 'edit').merge!;
        expect(merge.status).toBe('succeeded');
        expect(merge.steps.map((step) => step.agentId)).toEqual(['writer-a', 'writer-b', 'writer-c']);
        expect(merge.steps[0]).toEqual(interrupted!.steps[0]);
        expect(s.git('rev-list', '--merges', '--count', `${merge.baseCommit}..${merge.into}`)).toBe('3');
        expect(agents.map((a) => model.server.messageRequests(a.sessionId).length)).toEqual(requests);

        // Merging everything again from the base gives the very same integration head.
        const redo = await s.run(['merge', runId, '--phase', 'edit', '--json']);
        expect(redo.code).toBe(0);
        expect(phaseOf(JSON.parse(redo.stdout) as RunSummary, 'edit').merge).toMatchObject({
          round: 2,
          head: merge.head,
        });
        expect(s.git('rev-parse', merge.into)).toBe(merge.head);
        expect(checkoutFingerprint(s.repo)).toEqual(before);
      } finally {
        orchestrator.kill('SIGKILL');
        await store.close();
      }
    });

    it("binary files, renames and deletions merge; an agent that changed nothing is skipped; the repo's hooks and signing do not stop Baton's commits", async () => {
      const s = scenario('shapes');
      // A user whose commits are signed and checked by a hook that refuses everything Baton would commit.
      s.git('config', 'commit.gpgSign', 'true');
      s.git('config', 'gpg.program', 'false');
      writeFileSync(join(s.repo, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\necho hook refused >&2\nexit 1\n');
      chmodSync(join(s.repo, '.git', 'hooks', 'pre-commit'), 0o755);
      dirtyCheckout(s.repo, 'notes.txt');
      const before = checkoutFingerprint(s.repo);
      const workflow = s.workflow(`version: 1
name: merge-shapes
phases:
  - id: edit
    workspace: worktree
    repo: REPO
    merge: { verify: sh check.sh }
    agents:
      - { id: logo, allowedTools: [Bash], prompt: Add the logo as logo.bin. }
      - { id: idle, prompt: Look around and change nothing. }
      - { id: renamer, allowedTools: [Bash], prompt: Rename the notes to NOTES.md. }
      - { id: remover, allowedTools: [Bash], prompt: Remove the shared file. }
`);
      const result = await s.run(['run', workflow, '--json']);
      expect(result.code).toBe(0);
      const edit = phaseOf(JSON.parse(result.stdout) as RunSummary, 'edit');
      expect(steps(edit)).toEqual(['logo:merged', 'idle:skipped:no-changes', 'renamer:merged', 'remover:merged']);
      expect(edit.merge!.status).toBe('succeeded');
      const into = edit.merge!.into;
      expect(s.git('ls-tree', '--name-only', into).split('\n')).toEqual(['NOTES.md', 'check.sh', 'logo.bin']);
      const logo = execFileSync('git', ['cat-file', 'blob', `${into}:logo.bin`], { cwd: s.repo });
      expect([...logo]).toEqual([0o211, 0x50, 0x4e, 0x47, 0, 1, 0o377]);
      expect(s.git('show', `${into}:NOTES.md`)).toBe('notes');
      expect(checkoutFingerprint(s.repo)).toEqual(before);
    });

    it('a run SIGKILLed while its resolver agent works resumes with the resolution kept, no worker agent run again', async () => {
      const s = scenario('killed-resolver');
      writeFileSync(join(s.repo, 'slow.txt'), 'slow\n');
      s.git('add', 'slow.txt');
      s.git('commit', '-q', '-m', 'slow');
      const before = checkoutFingerprint(s.repo);
      const workflow = s.workflow(`version: 1
name: merge-killed-resolver
phases:
  - id: edit
    workspace: worktree
    repo: REPO
    merge: { verify: sh check.sh, onConflict: agent }
    agents:
      - { id: slow-a, allowedTools: [Bash], prompt: Claim the slow line as A in slow.txt. }
      - { id: slow-b, allowedTools: [Bash], prompt: Claim the slow line as B in slow.txt. }
`);
      const orchestrator = startCli(['run', workflow, '--data-dir', s.dataDir], { env: model.home.cliEnv(model.url) });
      const store = openSqliteStore({ dataDir: s.dataDir });
      try {
        const runId = await waitFor(
          async () => {
            const [run] = await store.listRuns({ limit: 1 });
            if (!run) return undefined;
            const resolved = join(s.dataDir, 'merges', run.id, 'edit', 'slow.txt');
            return existsSync(resolved) && readFileSync(resolved, 'utf8') === 'slow A\nslow B\n' ? run.id : undefined;
          },
          120_000,
          'the resolver to write its resolution',
        );
        orchestrator.kill('SIGKILL');
        await orchestrator.output;
        const workers = (await store.listAgents(runId)).filter((a) => a.role === 'worker');
        const requests = workers.map((a) => model.server.messageRequests(a.sessionId).length);

        const resumed = await s.run(['run', '--resume', runId, '--json']);
        expect(resumed.code).toBe(0);
        const summary = JSON.parse(resumed.stdout) as RunSummary;
        expect(summary.status).toBe('succeeded');
        const edit = phaseOf(summary, 'edit');
        expect(steps(edit)).toEqual(['slow-a:merged', 'slow-b:resolved']);
        expect(edit.merge!.steps[1]).toMatchObject({ verify: { exitCode: 0 }, resolver: { status: 'succeeded' } });
        expect(s.git('show', `${edit.merge!.into}:slow.txt`)).toBe('slow A\nslow B');
        expect(edit.agents.filter((a) => a.role === 'resolver')).toHaveLength(1);
        expect(workers.map((a) => model.server.messageRequests(a.sessionId).length)).toEqual(requests);
        expect(checkoutFingerprint(s.repo)).toEqual(before);
      } finally {
        orchestrator.kill('SIGKILL');
        await store.close();
      }
    });

    it('baton merge uses the merge: of the workflow file as it is now, so a fixed verify applies', async () => {
      const s = scenario('fixed-verify');
      const yaml = (verify: string) => `version: 1
name: merge-fixed-verify
phases:
  - id: edit
    workspace: worktree
    repo: REPO
    merge: { verify: ${verify} }
    agents:
      - { id: writer-a, allowedTools: [Bash], prompt: Write alpha into a.txt. }
`;
      const workflow = s.workflow(yaml('sh chek.sh'));
      const first = await s.run(['run', workflow, '--json']);
      // The typo fails on the base commit too: the phase fails naming the command, not "succeeded, nothing merged".
      expect(first.code).toBe(1);
      const summary = JSON.parse(first.stdout) as RunSummary;
      expect(steps(phaseOf(summary, 'edit'))).toEqual(['writer-a:skipped:verify-failed']);
      expect(phaseOf(summary, 'edit')).toMatchObject({ status: 'failed', error: { code: 'BATON_MERGE_FAILED' } });
      expect(phaseOf(summary, 'edit').error?.message).toContain('verify (sh chek.sh) fails on the base commit');

      // A file that no longer parses is refused, naming the field, not passed over for the stored merge:.
      s.workflow(
        `${yaml('sh check.sh')}    bogus: 1\n`.replace('merge: { verify', 'merge: { onConflict: agentt, verify'),
      );
      const refused = await s.run(['merge', summary.runId, '--json']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/BATON_WORKFLOW_INVALID[\s\S]*merge\.onConflict/);

      s.workflow(yaml('sh check.sh')); // the typo fixed
      const redo = await s.run(['merge', summary.runId, '--json']);
      expect(redo.code).toBe(0);
      const edit = phaseOf(JSON.parse(redo.stdout) as RunSummary, 'edit');
      expect(steps(edit)).toEqual(['writer-a:merged']);
      expect(edit.merge!.steps[0]!.verify).toMatchObject({ command: 'sh check.sh', exitCode: 0 });
      expect(s.git('show', `${edit.merge!.into}:a.txt`)).toBe('alpha');
    });

    it("agents started after the user moved their checkout branch from the run's base; an agent's own commit and what it left uncommitted both merge", async () => {
      const s = scenario('moved-base');
      const base = s.git('rev-parse', 'HEAD');
      const workflow = s.workflow(`version: 1
name: merge-moved-base
phases:
  - id: edit
    workspace: worktree
    repo: REPO
    merge: { verify: sh check.sh }
    agents:
      - { id: mover, allowedTools: [Bash], prompt: Move the user checkout. }
      - { id: committer, allowedTools: [Bash], prompt: Commit your own work. }
      - { id: writer-b, allowedTools: [Bash], prompt: Write beta into b.txt. }
`);
      // One agent at a time: the later two start once the user's checkout has moved.
      const result = await s.run(['run', workflow, '--json'], { BATON_PARALLEL_LIMIT: '1' });
      expect(result.code).toBe(0);
      const edit = phaseOf(JSON.parse(result.stdout) as RunSummary, 'edit');
      expect(s.git('rev-parse', '--abbrev-ref', 'HEAD')).toBe('elsewhere');
      expect(s.git('log', '-1', '--format=%s', 'main')).toBe('user work');
      expect(steps(edit)).toEqual(['mover:skipped:no-changes', 'committer:merged', 'writer-b:merged']);
      expect(edit.agents.map((a) => a.workspace?.baseCommit)).toEqual([base, base, base]);
      expect(edit.merge!.baseCommit).toBe(base);
      const into = edit.merge!.into;
      expect(s.git('ls-tree', '--name-only', into).split('\n')).toEqual([
        'b.txt',
        'check.sh',
        'extra.txt',
        'notes.txt',
        'self.txt',
        'shared.txt',
      ]);
      expect(s.git('log', '--format=%s', `${base}..${into}`).split('\n')).toContain('agent commit');
      expect(s.git('rev-parse', 'main')).not.toBe(base);
    });

    it('two runs at once on one repository each get their worktrees and merge; no worktree or lock is left', async () => {
      // Each process ordered its own worktree changes only: one's prune or add ran into the other's.
      const s = scenario('two-runs');
      const before = checkoutFingerprint(s.repo);
      const workflow = s.workflow(`version: 1
name: merge-two-runs
phases:
  - id: edit
    workspace: worktree
    repo: REPO
    merge: { verify: sh check.sh, verifyEach: true }
    agents:
      - { id: writer-a, allowedTools: [Bash], prompt: Write alpha into a.txt. }
      - { id: writer-b, allowedTools: [Bash], prompt: Write beta into b.txt. }
      - { id: writer-c, allowedTools: [Bash], prompt: Write gamma into c.txt. }
`);
      const results = await Promise.all([s.run(['run', workflow, '--json']), s.run(['run', workflow, '--json'])]);
      const runIds = new Set<string>();
      for (const result of results) {
        expect(result.code).toBe(0);
        const summary = JSON.parse(result.stdout) as RunSummary;
        runIds.add(summary.runId);
        const edit = phaseOf(summary, 'edit');
        expect(edit.merge!.status).toBe('succeeded');
        expect(steps(edit)).toEqual(['writer-a:merged', 'writer-b:merged', 'writer-c:merged']);
        expect(s.git('ls-tree', '--name-only', edit.merge!.into).split('\n')).toEqual([
          'a.txt',
          'b.txt',
          'c.txt',
          'check.sh',
          'notes.txt',
          'shared.txt',
        ]);
      }
      expect(runIds.size).toBe(2);
      expect(s.git('worktree', 'list').split('\n')).toHaveLength(1);
      expect(existsSync(join(s.repo, '.git', 'baton-worktrees.lock'))).toBe(false);
      expect(checkoutFingerprint(s.repo)).toEqual(before);
    });

    it('an into that git refuses as a branch name stops the run before any agent starts', async () => {
      const s = scenario('bad-into');
      const workflow = s.workflow(`version: 1
name: merge-bad-into
phases:
  - id: edit
    workspace: worktree
    repo: REPO
    merge: { into: "release..{{phase}}" }
    agents:
      - { id: writer-a, allowedTools: [Bash], prompt: Write alpha into a.txt for the bad branch. }
`);
      const result = await s.run(['run', workflow]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('BATON_WORKFLOW_INVALID');
      expect(result.stderr).toContain('merge.into');
      expect(model.server.messageRequests().filter((r) => r.view!.prompt.includes('bad branch'))).toEqual([]);
    });

    it('a run cancelled while an agent waits for a slot with its worktree prepared (session pool) leaves no worktree; its branch is kept', async () => {
      const s = scenario('cancel-prepared');
      const workflow = s.workflow(`version: 1
name: cancel-prepared
phases:
  - id: edit
    workspace: worktree
    repo: REPO
    agents:
      - { id: slow, prompt: Take your time. }
      - { id: waiting, allowedTools: [Bash], prompt: Write alpha to a.txt. }
`);
      const env = model.home.cliEnv(model.url, { BATON_PARALLEL_LIMIT: '1', BATON_SESSION_POOL_SIZE: '1' });
      const orchestrator = startCli(['run', workflow, '--data-dir', s.dataDir], { env });
      try {
        // Both agents have a worktree: the slow one works, the waiting one is prepared by the pool.
        await waitFor(() => s.git('worktree', 'list').split('\n').length === 3 || undefined, 90_000, 'both worktrees');
        orchestrator.kill('SIGINT');
        expect((await orchestrator.output).code).toBe(1);
      } finally {
        orchestrator.kill('SIGKILL');
      }
      expect(s.git('worktree', 'list').split('\n')).toHaveLength(1);
      const store = openSqliteStore({ dataDir: s.dataDir });
      try {
        const [run] = await store.listRuns({ limit: 1 });
        const waiting = (await store.listAgents(run!.id)).find((a) => a.id === 'waiting')!;
        expect(waiting).toMatchObject({
          status: 'cancelled',
          workspace: { branch: expect.stringMatching(/waiting$/) },
        });
        expect(s.git('branch', '--list', waiting.workspace!.branch)).toContain(waiting.workspace!.branch);
      } finally {
        await store.close();
      }
    });
  },
);
