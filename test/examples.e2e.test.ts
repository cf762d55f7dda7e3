// Runs every workflow in examples/orchestration on the real `claude` binary against its own
// model-script.yaml, through the CLI, and checks what each example is there to show.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionTranscriptExists } from '../src/agents/index.js';
import { loadScript, startModelServer, type ModelServer } from '../src/model-server/index.js';
import { summarizeRun, type PhaseSummary, type RunSummary } from '../src/orchestrator/index.js';
import { openSqliteStore, type Store } from '../src/store/index.js';
import { isolatedHome, TEST_API_KEY, type IsolatedHome } from './support/agent-env.js';
import { checkoutFingerprint, makeRepo } from './support/git-repo.js';
import { runCli, startCli, waitFor, type CliResult } from './support/cli.js';
import { requireProgram } from './support/programs.js';

const examplesDir = fileURLToPath(new URL('../examples/orchestration/', import.meta.url));
const tested = ['aggregation', 'dag-when', 'merge', 'planning', 'quotas', 'resume', 'swarm-vote', 'worktree'];

let home: IsolatedHome;
beforeAll(() => {
  home = isolatedHome('baton-examples-e2e-');
});
afterAll(() => home?.remove());

/** One example's scripted model (its own model-script.yaml) and data dir, for the length of a test. */
interface Example {
  server: ModelServer;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  workflow: string;
  /** `baton <args> --data-dir <the example's>`, checked for stack traces. */
  run: (args: string[]) => Promise<CliResult>;
  /** Reads the example's store in this process. */
  withStore: <R>(fn: (store: Store) => Promise<R>) => Promise<R>;
}

async function useExample<T>(name: string, body: (ex: Example) => Promise<T>): Promise<T> {
  const { server, url } = await startModelServer({
    script: loadScript(join(examplesDir, name, 'model-script.yaml')),
    apiKey: TEST_API_KEY,
  });
  const dataDir = join(home.dir, `data-${name}`);
  const env = home.cliEnv(url);
  const run = async (args: string[]): Promise<CliResult> => {
    const result = await runCli([...args, '--data-dir', dataDir], { env });
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack traces
    return result;
  };
  const withStore = async <R>(fn: (store: Store) => Promise<R>): Promise<R> => {
    const store = openSqliteStore({ dataDir });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  };
  try {
    return await body({ server, dataDir, env, workflow: join(examplesDir, name, 'workflow.yaml'), run, withStore });
  } finally {
    await server.close();
  }
}

const summaryOf = (result: CliResult): RunSummary => JSON.parse(result.stdout) as RunSummary;
const phase = (summary: RunSummary, id: string): PhaseSummary => {
  const found = summary.phases.find((p) => p.id === id);
  if (!found) throw new Error(`no phase ${id} in ${summary.phases.map((p) => p.id).join(', ')}`);
  return found;
};
const hasGit = requireProgram('git');
const statuses = (summary: RunSummary): string[] => summary.phases.map((p) => `${p.id}:${p.status}`);

describe('examples/orchestration on real claude agents (scripted model)', () => {
  it('has a test below for every example folder', () => {
    const folders = readdirSync(examplesDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(folders).toEqual(tested);
  });

  it('dag-when: a false `when` skips fix, `exists` runs docs, and report still runs after both', () =>
    useExample('dag-when', async ({ server, workflow, run }) => {
      const result = await run(['run', workflow, '--json']);
      expect(result.code).toBe(0);
      const summary = summaryOf(result);
      expect(summary.status).toBe('succeeded');
      expect(statuses(summary)).toEqual(['review:succeeded', 'fix:skipped', 'docs:succeeded', 'report:succeeded']);
      const fixer = phase(summary, 'fix').agents[0]!;
      expect(fixer.error).toEqual({
        code: 'BATON_CONDITION_FALSE',
        message: 'not run: when: review.verdict is "approve", not "changes"',
      });
      expect(server.messageRequests(fixer.sessionId)).toHaveLength(0);
      // The reporter inherited what the docs phase decided.
      const reporter = phase(summary, 'report').agents[0]!;
      expect(server.messageRequests(reporter.sessionId)[0]!.view!.system).toContain('never wait longer than 30 s');
    }));

  it("swarm-vote: foreach over a phase's output with {{item.x}}/{{index}}/{{count}}, decided 2 to 1 by a vote", () =>
    useExample('swarm-vote', async ({ server, workflow, run, withStore }) => {
      const result = await run(['run', workflow]);
      expect(result.code).toBe(0);
      // The human-readable summary shows the verdict under the phase.
      expect(result.stdout).toContain('    ⇒ vote: decision = "ship" (2 of 3 votes)');
      const summary = await withStore(async (store) =>
        summarizeRun(store, (await store.listRuns({ limit: 1 }))[0]!.id),
      );
      const reviewers = phase(summary, 'review').agents;
      expect(reviewers.map((a) => server.messageRequests(a.sessionId)[0]!.view!.prompt)).toEqual([
        'Review src/queue.ts (owner ann) as reviewer 0 of 3: can it ship?',
        'Review src/store.ts (owner bob) as reviewer 1 of 3: can it ship?',
        'Review src/cli.ts (owner cy) as reviewer 2 of 3: can it ship?',
      ]);
      expect(phase(summary, 'review').output).toMatchObject({
        strategy: 'vote',
        text: 'decision = "ship" (2 of 3 votes)',
        structured: {
          decision: 'ship',
          votes: [
            { value: 'ship', votes: 2, agents: ['reviewer.0', 'reviewer.2'] },
            { value: 'hold', votes: 1, agents: ['reviewer.1'] },
          ],
        },
      });
    }));

  it('aggregation: merge lists its conflict, a judge picks, reduce folds 3 results in 2 levels', () =>
    useExample('aggregation', async ({ server, workflow, run }) => {
      const result = await run(['run', workflow, '--json']);
      expect(result.code).toBe(0);
      const summary = summaryOf(result);
      expect(phase(summary, 'inventory').output).toMatchObject({
        strategy: 'merge',
        structured: { dependencies: ['react', 'zod', 'better-sqlite3'], owner: 'ann', ci: { node: 20, redis: true } },
        details: {
          conflicts: [
            {
              path: 'owner',
              values: [
                { agentId: 'frontend-survey', value: 'ann' },
                { agentId: 'backend-survey', value: 'bob' },
              ],
            },
          ],
        },
      });
      const names = phase(summary, 'names');
      expect(names.output).toMatchObject({
        strategy: 'judge',
        text: expect.stringContaining('name it Relay'),
        details: { judge: 'names.judge', candidates: ['namer.0', 'namer.1'] },
      });
      const judge = names.agents.find((a) => a.id === 'names.judge')!;
      expect(judge.role).toBe('judge');
      const judgePrompt = server.messageRequests(judge.sessionId)[0]!.view!.prompt;
      expect(judgePrompt).toContain('Pick the clearest name');
      expect(judgePrompt).toContain('<result agent="namer.0">\nRelay');
      expect(names.agents.slice(0, 2).map((a) => server.messageRequests(a.sessionId)[0]!.view!.prompt)).toEqual([
        'Propose a short name for the new scheduler (proposal 0 of 2).',
        'Propose a descriptive name for the new scheduler (proposal 1 of 2).',
      ]);
      const notes = phase(summary, 'notes');
      expect(notes.agents.map((a) => `${a.id}${a.role ? `:${a.role}` : ''}`)).toEqual([
        'note-taker.0',
        'note-taker.1',
        'note-taker.2',
        'notes.reduce.1.0:reducer',
        'notes.reduce.2.0:reducer',
      ]);
      expect(notes.output).toMatchObject({ strategy: 'reduce', details: { levels: 2, inputs: 3 } });
      // The second level folds the first reducer's result with the result that passed through alone.
      const last = server.messageRequests(notes.agents[4]!.sessionId)[0]!.view!.prompt;
      expect(last).toContain('<result agent="notes.reduce.1.0">');
      expect(last).toContain('<result agent="note-taker.2">');
    }));

  it('planning: two generations of planned phases, then maxGenerations stops the planner', () =>
    useExample('planning', async ({ server, workflow, run }) => {
      const result = await run(['run', workflow, '--json']);
      expect(result.code).toBe(0);
      const summary = summaryOf(result);
      expect(summary.phases.map((p) => `${p.id}@${p.generation ?? '-'}:${p.status}`)).toEqual([
        'plan@-:succeeded',
        'plan.g1.changelog@1:succeeded',
        'plan.g1.tag@1:succeeded',
        'plan.g2.announce@2:succeeded',
      ]);
      const plan = phase(summary, 'plan');
      expect(plan.agents.map((a) => `${a.id}:${a.role}`)).toEqual(['planner.g1:planner', 'planner.g2:planner']);
      expect(plan.output).toMatchObject({
        strategy: 'plan',
        structured: { done: false },
        details: { generations: 2, reachedLimit: true },
      });
      expect(plan.output?.text).toBe(
        'Generation 1: changelog succeeded, tag succeeded\nGeneration 2: announce succeeded\nChangelog and tag are done; the announcement is next.\nStopped after plan.maxGenerations (2) before the planner said done.',
      );
      // Generation 2's planner saw generation 1's results; the tag task ran after the changelog and inherited its decision.
      expect(server.messageRequests(plan.agents[1]!.sessionId)[0]!.view!.prompt).toContain(
        '- changelog (succeeded): Decision: 2.0 ships the priority scheduler',
      );
      const tag = phase(summary, 'plan.g1.tag').agents[0]!;
      expect(server.messageRequests(tag.sessionId)[0]!.view!.system).toContain('2.0 ships the priority scheduler');
    }));

  it.runIf(hasGit)('worktree: each agent commits to its own branch baton/<run8>/<agent>; main is untouched', () =>
    useExample('worktree', async ({ run }) => {
      const repo = join(home.dir, 'worktree-repo');
      cpSync(join(examplesDir, 'worktree'), repo, { recursive: true });
      const git = (...args: string[]): string =>
        execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
          cwd: repo,
          encoding: 'utf8',
        }).trim();
      git('init', '-q', '-b', 'main');
      git('add', '.');
      git('commit', '-q', '-m', 'init');
      // `repo: .` is the workflow file's directory, wherever baton runs from.
      const result = await run(['run', join(repo, 'workflow.yaml'), '--json']);
      expect(result.code).toBe(0);
      const summary = summaryOf(result);
      const agents = phase(summary, 'edit').agents;
      for (const agent of agents) {
        expect(agent.workspace).toMatchObject({
          branch: `baton/${summary.runId.slice(0, 8)}/${agent.id}`,
          baseCommit: git('rev-parse', 'main'),
          commit: expect.stringMatching(/^[0-9a-f]{40}$/),
        });
        expect(git('rev-parse', agent.workspace!.branch)).toBe(agent.workspace!.commit);
      }
      const [writer, bumper] = agents;
      expect(writer!.workspace!.diffStat).toEqual({ files: 1, insertions: 3, deletions: 0 });
      expect(git('show', `${writer!.workspace!.branch}:CHANGELOG.md`)).toContain('## 2.0\n- Priority scheduler.');
      expect(bumper!.workspace!.diffStat).toEqual({ files: 1, insertions: 1, deletions: 1 });
      expect(git('show', `${bumper!.workspace!.branch}:VERSION`)).toBe('2.0.0');
      // The main checkout did not change, and the worktrees are gone (the branches stay).
      expect(git('status', '--porcelain')).toBe('');
      expect(readFileSync(join(repo, 'VERSION'), 'utf8')).toBe('1.9.0\n');
      expect(git('worktree', 'list').split('\n')).toHaveLength(1);
    }),
  );

  it.runIf(hasGit)(
    'merge: three branches merged into baton/<run8>/edit with verify, the CHANGELOG conflict resolved by an agent, the release phase built on it',
    () =>
      useExample('merge', async ({ run, server }) => {
        const repo = join(home.dir, 'merge-repo');
        const files = ['CHANGELOG.md', 'VERSION', 'check.sh', 'workflow.yaml', 'model-script.yaml'];
        const git = makeRepo(
          repo,
          Object.fromEntries(files.map((f) => [f, readFileSync(join(examplesDir, 'merge', f), 'utf8')])),
        );
        const before = checkoutFingerprint(repo);
        const result = await run(['run', join(repo, 'workflow.yaml'), '--json']);
        // On failure, say which agent or merge step failed and why.
        expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
        const summary = summaryOf(result);
        expect(statuses(summary)).toEqual(['edit:succeeded', 'release:succeeded']);
        const merge = phase(summary, 'edit').merge!;
        expect(merge).toMatchObject({ status: 'succeeded', into: `baton/${summary.runId.slice(0, 8)}/edit` });
        expect(merge.steps.map((s) => `${s.agentId}:${s.outcome}:${s.verify?.exitCode}`)).toEqual([
          'scheduler-notes:merged:0',
          'pool-notes:resolved:0',
          'version-bumper:merged:0',
        ]);
        expect(merge.steps[1]).toMatchObject({
          conflictFiles: ['CHANGELOG.md'],
          resolver: { agentId: 'edit.resolve.pool-notes', status: 'succeeded' },
        });
        expect(merge.steps[2]!.verify!.outputTail).toBe('check passed: version 2.0.0\n');
        expect(git('show', `${merge.into}:CHANGELOG.md`)).toContain('## 2.0\n- Priority scheduler.\n- Session pool.');
        // The release phase's worktree started from the merge, so its agent read the merged files.
        const releaser = phase(summary, 'release').agents[0]!;
        expect(releaser.workspace!.baseCommit).toBe(merge.head);
        expect(server.messageRequests(releaser.sessionId).at(-1)!.view!.last).toContain('2.0.0');
        expect(releaser.result).toBe('Release 2.0.0: the priority scheduler and the session pool.');
        expect(checkoutFingerprint(repo)).toEqual(before);
      }),
  );

  it("resume: after kill -9 mid-phase, --resume keeps the collectors, continues the analyst's session and finishes once", () =>
    useExample('resume', async ({ server, dataDir, env, workflow, run }) => {
      const orchestrator = startCli(['run', workflow, '--data-dir', dataDir], { env });
      let store: Store | undefined;
      try {
        store = openSqliteStore({ dataDir });
        const runId = await waitFor(
          async () => {
            const [stored] = await store!.listRuns({ limit: 1 });
            if (!stored) return undefined;
            const analyst = await store!.getAgent(stored.id, 'analyst');
            // Its transcript too: Claude Code writes it after its first request, and without one the
            // session cannot be continued (Baton then starts it afresh, rightly).
            return analyst?.status === 'running' &&
              server.messageRequests(analyst.sessionId).length > 0 &&
              (await sessionTranscriptExists(analyst.sessionId, '', env))
              ? stored.id
              : undefined;
          },
          45_000,
          'the analyst to be talking to the model, with a transcript on disk',
        );
        orchestrator.kill('SIGKILL');
        await orchestrator.output;
        const collectors = (await store.listAgents(runId)).filter((a) => a.phaseId === 'gather');
        expect(collectors.map((a) => a.status)).toEqual(['succeeded', 'succeeded']);
        const requestsBefore = collectors.map((a) => server.messageRequests(a.sessionId).length);

        const resumed = await run(['run', '--resume', runId, '--priority', '7']);
        expect(resumed.code).toBe(0);
        expect(resumed.stderr).toContain('resumed, 2 finished agents kept');
        expect(resumed.stderr).toContain('= collector.0 succeeded before, kept (not run again)');
        expect(resumed.stdout).toContain(`Run ${runId} (resume): succeeded`);
        const summary = await summarizeRun(store, runId);
        expect(statuses(summary)).toEqual(['gather:succeeded', 'analyse:succeeded', 'publish:succeeded']);
        // A swarm without aggregate: every result under its agent id.
        expect(phase(summary, 'gather').output?.text).toBe(
          '## collector.0\nFinding: p99 latency is 180 ms.\n\n## collector.1\nFinding: p99 latency is 180 ms.',
        );
        // The collectors were not asked again; the analyst's interrupted attempt is recorded as lost and
        // the second one continued its Claude session.
        expect(collectors.map((a) => server.messageRequests(a.sessionId).length)).toEqual(requestsBefore);
        const attempts = await store.listAttempts(runId, 'analyst');
        expect(attempts.map((a) => `${a.attempt}:${a.status}:${a.resumed}`)).toEqual([
          '1:failed:false',
          '2:succeeded:true',
        ]);
        expect(attempts[0]!.error?.code).toBe('BATON_ORCHESTRATOR_LOST');
        // Every agent's facts are stored once.
        const facts = (await store.listContextEntries({ runId })).entries.filter((e) => e.level === 0 && e.agentId);
        expect(facts.map((e) => e.agentId).sort()).toEqual(['analyst', 'collector.0', 'collector.1', 'publisher']);
        expect(await store.getRun(runId)).toMatchObject({ resumes: 1, priority: 7 });
      } finally {
        orchestrator.kill('SIGKILL');
        await store?.close();
      }
    }));

  it('quotas: tenant acme runs one agent at a time, is stopped at its daily token budget, and the next run is refused', () =>
    useExample('quotas', async ({ workflow, run, withStore }) => {
      const config = join(examplesDir, 'quotas', 'baton.config.yaml');
      const first = await run(['run', workflow, '--config', config, '--tenant', 'acme', '--json']);
      expect(first.code).toBe(1);
      const summary = summaryOf(first);
      expect(summary.phases[0]!.agents.map((a) => a.status)).toEqual(['succeeded', 'succeeded', 'cancelled']);
      expect(summary.phases[0]!.agents[2]!.error?.code).toBe('BATON_RUN_BUDGET_EXCEEDED');
      expect(summary.totals.inputTokens + summary.totals.outputTokens).toBe(10_000);
      await withStore(async (store) => {
        expect(await store.getRun(summary.runId)).toMatchObject({ tenant: 'acme', priority: 5 });
        // tenant_max_concurrent_agents: 1 — no two attempts overlapped.
        const attempts = (await store.listAttempts(summary.runId)).sort((a, b) => a.startedAt - b.startedAt);
        expect(attempts).toHaveLength(2);
        expect(attempts[1]!.startedAt).toBeGreaterThanOrEqual(attempts[0]!.finishedAt!);
      });
      // `baton status --json` says whom the run is for and its priority.
      const status = await run(['status', summary.runId, '--json']);
      expect(JSON.parse(status.stdout)).toMatchObject({ tenant: 'acme', priority: 5, status: 'failed' });
      expect((await run(['status', summary.runId])).stdout).toContain('\nTenant acme · priority 5\n');
      const runs = JSON.parse((await run(['runs', '--tenant', 'acme', '--json'])).stdout) as unknown[];
      expect(runs).toEqual([expect.objectContaining({ runId: summary.runId, tenant: 'acme', priority: 5 })]);
      // The token budget's stop is audited as a dollar budget's is.
      const audit = await run(['audit', '--action', 'budget.exceeded', '--tenant', 'acme', '--json']);
      const stops = (JSON.parse(audit.stdout) as Array<{ target: string; details: Record<string, unknown> }>).filter(
        (e) => e.target === summary.runId,
      );
      expect(stops).toHaveLength(1);
      expect(stops[0]!.details).toMatchObject({ limit: 'tokens', spentTokens: 10_000, budgetTokens: 8000 });
      const refused = await run(['run', workflow, '--config', config, '--tenant', 'acme']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        'error BATON_TENANT_BUDGET_EXCEEDED: Tenant acme has used 10000 of its 8000 daily tokens (tenant_daily_token_budget); the run was not started.',
      );
    }));

  it('README.md there describes every example', () => {
    const readme = readFileSync(join(examplesDir, 'README.md'), 'utf8');
    for (const name of tested) expect(readme).toContain(`(${name}/)`);
  });
});
