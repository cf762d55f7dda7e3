// The "start twenty agents and walk away" scenario, end to end through the CLI: real claude agents
// on the scripted model, real git worktrees merged back with a real test suite (node:test) as
// verify, approvals answered from another shell, a shared MCP server through the gateway, and the
// orchestrator SIGKILLed twice (while approvals wait with agents mid-run, and mid-verify during the
// merge). Each `--resume` must lose nothing and run no finished agent again.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scriptSchema, type Script } from '../src/model-server/index.js';
import { EXIT_WAITING_FOR_APPROVAL } from '../src/core/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { checkoutFingerprint, dirtyCheckout, expectRunLeftNothing, gitIn, makeRepo } from './support/git-repo.js';
import { launchDateRules, npmServers } from './support/mcp-servers.js';
import { processesWithEnv } from './support/processes.js';
import { requireProgram } from './support/programs.js';
import { useRedisStore } from './support/redis.js';
import { useScriptedModel } from './support/scripted-model.js';

type ToolUse = { name: string; input: Record<string, unknown> };
const write = (file_path: string, content: string): ToolUse => ({ name: 'Write', input: { file_path, content } });
const bash = (command: string): ToolUse => ({ name: 'Bash', input: { command, description: 'clean up' } });

/** An agent whose prompt has `prompt` makes `calls` on its first turn and again when resumed, then answers `text`. */
function agentRules(prompt: string, calls: ToolUse[], text: string): Script['rules'] {
  return [
    ...[{ turn: 1 }, { last: 'previous attempt' }].map((when) => ({
      match: { prompt, ...when },
      reply: { toolUse: calls },
      sequencePer: 'script' as const,
    })),
    { match: { prompt }, reply: { text }, sequencePer: 'script' as const },
  ];
}

const FEATURES = Array.from({ length: 13 }, (_, i) => String(i + 1).padStart(2, '0'));
const featureFiles = (n: string): ToolUse[] => [
  write(`src/feat-${n}.mjs`, `export const feat${n} = (x) => x + ${Number(n)};\n`),
  write(
    `test/feat-${n}.test.mjs`,
    `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { feat${n} } from '../src/feat-${n}.mjs';\n\ntest('feat${n} adds ${Number(n)}', () => assert.equal(feat${n}(1), ${Number(n) + 1}));\n`,
  ),
];
const version = (v: string) => write('src/version.mjs', `export const version = '${v}';\n`);

const model = useScriptedModel(
  scriptSchema.parse({
    rules: [
      // The resolver first: its prompt quotes both version agents' prompts.
      ...agentRules('stopped on conflicts in', [version('2.1.0')], 'Took the higher version.'),
      ...FEATURES.flatMap((n) => agentRules(`Add feature ${n}`, featureFiles(n), `Added feature ${n}.`)),
      ...agentRules('Set the version to 2.0.0', [version('2.0.0')], 'Version 2.0.0.'),
      ...agentRules('Set the version to 2.1.0', [version('2.1.0')], 'Version 2.1.0.'),
      ...agentRules(
        'Add a quick test',
        [
          write(
            'test/quick.test.mjs',
            "import { test } from 'node:test';\ntest('quick', () => { throw new Error('nope'); });\n",
          ),
        ],
        'Added a test.',
      ),
      ...agentRules('Clear cache one', [bash('rm -rf build/cache-1')], 'Cleared.'),
      ...agentRules('Clear cache two', [bash('rm -rf build/cache-2')], 'Left it.'),
      ...launchDateRules,
    ],
    default: { text: 'OK' },
  }),
  'baton-walkaway-',
);

/**
 * A small Node project with node:test tests; its verify runs them all in one process (`node --test`
 * starts one per file, and runs after each of 19 merges).
 */
const projectFiles = {
  'package.json': '{ "name": "calc", "type": "module", "private": true }\n',
  'src/version.mjs': "export const version = '1.0.0';\n",
  'test/version.test.mjs':
    "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { version } from '../src/version.mjs';\n\ntest('semver', () => assert.match(version, /^\\d+\\.\\d+\\.\\d+$/));\n",
  'test/run.mjs':
    "import { readdirSync } from 'node:fs';\n\nfor (const file of readdirSync(import.meta.dirname).filter((f) => f.endsWith('.test.mjs')).sort())\n  await import(`./${file}`);\n",
  'build/cache-1/blob': 'stale\n',
  'build/cache-2/blob': 'stale\n',
};

function workflowYaml(repo: string, verifyGate: string): string {
  const feature = (n: string) => `      - { id: feat-${n}, prompt: Add feature ${n} with its test. }`;
  // While the gate file exists, verify waits (and says so): the test holds the merge mid-verify with it.
  const verify = `if [ -e ${verifyGate} ]; then touch ${verifyGate}.held; while [ -e ${verifyGate} ]; do sleep 0.1; done; fi; node test/run.mjs`;
  return `version: 1
name: walkaway
mcpServers:
  memory: { command: ${process.execPath}, args: [${npmServers.memory}], env: { MEMORY_FILE_PATH: ${join(model.home.dir, 'memory.json')} }, scope: run }
defaults:
  permissions: { allow: [Write, "Bash(node --test:*)"], ask: ["Bash(rm -rf:*)"], approvalTimeoutMs: 600000 }
phases:
  - id: edit
    workspace: worktree
    repo: ${repo}
    merge: { verify: { command: ${JSON.stringify(verify)}, timeoutMs: 120000 }, onConflict: agent }
    agents:
      - { id: cleaner-1, prompt: Clear cache one. }
      - { id: cleaner-2, prompt: Clear cache two. }
${FEATURES.map(feature).join('\n')}
      - { id: version-a, prompt: Set the version to 2.0.0. }
      - { id: version-b, prompt: Set the version to 2.1.0. }
      - { id: breaker, prompt: Add a quick test. }
      - { id: librarian, prompt: Store the launch date, mcpServers: [memory] }
  - id: report
    dependsOn: [edit]
    agents:
      - { id: reporter, prompt: Read the launch date, mcpServers: [memory] }
`;
}

/**
 * How many model requests carried each of these agents' tasks, over all their sessions (a rerun
 * agent starts a new one); the resolver, whose prompt quotes other agents' tasks, is left out.
 */
const requestsByTask = (agents: Array<{ id: string; prompt: string }>) =>
  new Map(
    agents.map((agent) => [
      agent.id,
      model.server
        .messageRequests()
        .filter((r) => r.view?.prompt.includes(agent.prompt) && !r.view.prompt.includes('stopped on conflicts in'))
        .length,
    ]),
  );

/** Live processes of this test whose command line names `gate`: a verify held at the gate. */
const verifyProcesses = (gate: string) =>
  processesWithEnv(model.home.dir).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(gate);
    } catch {
      return false; // it exited while we looked
    }
  });

describe.runIf(requireProgram('git'))('twenty agents on a real repository, and walk away', () => {
  it('approvals answered from another shell, two SIGKILLs and resumes: one verified branch with every change, nothing run twice, nothing left behind', async () => {
    const dir = join(model.home.dir, 'walkaway');
    const repo = join(dir, 'repo');
    const git = makeRepo(repo, projectFiles);
    dirtyCheckout(repo, 'src/version.mjs');
    const before = checkoutFingerprint(repo);
    const dataDir = join(dir, 'data');
    const gate = join(dir, 'verify-gate');
    const workflow = join(dir, 'workflow.yaml');
    writeFileSync(workflow, workflowYaml(repo, gate));
    const env = model.home.cliEnv(model.url, { BATON_PARALLEL_LIMIT: '8' });
    const cli = (args: string[]) => runCli([...args, '--data-dir', dataDir], { env });
    const store = openSqliteStore({ dataDir });
    const orchestrators: Array<ReturnType<typeof startCli>> = [];
    const orchestrate = (args: string[]) => {
      const started = startCli([...args, '--data-dir', dataDir], { env });
      orchestrators.push(started);
      return started;
    };
    try {
      // 1. Started; both cleaners ask; killed while they wait, once another agent has finished
      // (which the resume must not run again), other agents mid-run.
      const first = orchestrate(['run', workflow]);
      const { runId, pending } = await waitFor(
        async () => {
          const [run] = await store.listRuns({ limit: 1 });
          const asked = run ? await store.listApprovals({ runId: run.id, status: 'pending' }) : [];
          const finished = run ? (await store.listAgents(run.id)).some((a) => a.status === 'succeeded') : false;
          return asked.length === 2 && finished ? { runId: run!.id, pending: asked } : undefined;
        },
        120_000,
        'both cleaners to ask and another agent to finish',
      );
      expect((await cli(['status', runId])).stdout).toContain(
        `Run ${runId} (walkaway): running, waiting for 2 approval(s): baton approvals --run ${runId}`,
      );
      first.kill('SIGKILL');
      await first.output;
      // baton status: the orchestrator is gone, the requests still wait.
      expect((await cli(['status', runId])).stdout).toContain(
        `Run ${runId} (walkaway): interrupted (its orchestrator stopped before the end; continue it with: baton run --resume ${runId}), waiting for 2 approval(s)`,
      );
      const finishedAtKill = (await store.listAgents(runId)).filter((a) => a.status === 'succeeded');
      expect(finishedAtKill.length).toBeGreaterThan(0);
      const requestsAtKill = requestsByTask(finishedAtKill);
      expect([...requestsAtKill.values()]).not.toContain(0);

      // 2. Answered from another shell while no orchestrator runs.
      const byAgent = new Map(pending.map((request) => [request.agentId, request]));
      expect([...byAgent.keys()].sort()).toEqual(['cleaner-1', 'cleaner-2']);
      expect(byAgent.get('cleaner-1')).toMatchObject({ tool: 'Bash', rule: 'Bash(rm -rf:*)' });
      expect((await cli(['approve', byAgent.get('cleaner-1')!.id])).code).toBe(0);
      expect((await cli(['deny', byAgent.get('cleaner-2')!.id, '--message', 'keep cache two'])).code).toBe(0);

      // 3. Resumed; killed again while verify runs during the merge.
      writeFileSync(gate, '');
      const second = orchestrate(['run', '--resume', runId]);
      await waitFor(() => existsSync(`${gate}.held`) || undefined, 180_000, 'verify to run during the merge');
      second.kill('SIGKILL');
      await second.output;
      // The verify it was running dies with it, though the gate would hold it forever.
      await waitFor(() => verifyProcesses(gate).length === 0 || undefined, 20_000, 'the held verify to be stopped');
      rmSync(gate);
      const [interrupted] = await store.listMergeReports(runId);
      expect(interrupted!.status).toBe('running');

      // 4. Resumed to the end.
      const last = await cli(['run', '--resume', runId, '--json']);
      expect(last.stderr).not.toMatch(/\n\s+at /);
      // The summary and the error, when the resume fails, say why.
      expect(last.code, `${last.stderr}\n${last.stdout.slice(0, 3000)}`).toBe(0);
      const summary = JSON.parse(last.stdout) as RunSummary;
      expect(summary.status).toBe('succeeded');
      const edit = summary.phases.find((p) => p.id === 'edit')!;
      const outcome = new Map(
        edit.merge!.steps.map((s) => [s.agentId, `${s.outcome}${s.reason ? `:${s.reason}` : ''}`]),
      );
      expect(Object.fromEntries(outcome)).toEqual({
        ...Object.fromEntries(FEATURES.map((n) => [`feat-${n}`, 'merged'])),
        'version-a': 'merged',
        'version-b': 'resolved',
        breaker: 'skipped:verify-failed',
        'cleaner-1': 'merged',
        'cleaner-2': 'skipped:no-changes',
        librarian: 'skipped:no-changes',
      });
      expect(edit.merge!.status).toBe('partial');

      // The integration branch holds every merged change and passes the suite on its own.
      const into = edit.merge!.into;
      expect(git('rev-parse', into)).toBe(edit.merge!.head);
      const files = git('ls-tree', '-r', '--name-only', into).split('\n');
      for (const n of FEATURES)
        expect(files).toEqual(expect.arrayContaining([`src/feat-${n}.mjs`, `test/feat-${n}.test.mjs`]));
      expect(files).not.toContain('test/quick.test.mjs');
      expect(files).not.toContain('build/cache-1/blob');
      expect(files).toContain('build/cache-2/blob');
      expect(git('show', `${into}:src/version.mjs`)).toBe("export const version = '2.1.0';");
      const checkout = join(dir, 'integration');
      gitIn(dir)('clone', '-q', '-b', into, repo, checkout);
      execFileSync(process.execPath, ['--test'], { cwd: checkout, stdio: 'pipe' });

      // The memory server, shared through the gateway, carried the librarian's entry to the reporter.
      const reporter = summary.phases.find((p) => p.id === 'report')!.agents[0]!;
      expect(model.server.messageRequests(reporter.sessionId).at(-1)!.view!.last).toContain('set for March 3');

      // Nothing finished ran again; each agent has one final record.
      expect(requestsByTask(finishedAtKill)).toEqual(requestsAtKill);
      expect(edit.agents.filter((a) => !a.role)).toHaveLength(19);
      const cleaner2 = edit.agents.find((a) => a.id === 'cleaner-2')!;
      expect(model.server.messageRequests(cleaner2.sessionId).at(-1)!.view!.last).toContain('keep cache two');

      // baton status tells the same story.
      const status = (await cli(['status', runId])).stdout;
      expect(status).toContain(
        `⇄ merge partial: ${into} at ${edit.merge!.head.slice(0, 10)} (15 merged, 1 resolved, 3 skipped)`,
      );
      expect(status).toContain('tool calls: 1 asked a person, 1 denied');

      // The user's checkout is as it was; no worktree, agent or MCP server process left behind, nor a
      // worktree's or merge's directory in the data directory.
      expectRunLeftNothing({ home: model.home.dir, repo, before, dataDir, runId });
      // Branches: the user's, each agent's (kept, as documented) and the integration branch; nothing else.
      const run8 = runId.slice(0, 8);
      expect(git('branch', '--format=%(refname:short)').split('\n').sort()).toEqual(
        ['main', into, ...edit.agents.filter((a) => !a.role).map((a) => `baton/${run8}/${a.id}`)].sort(),
      );
    } finally {
      for (const orchestrator of orchestrators) orchestrator.kill('SIGKILL');
      rmSync(gate, { force: true });
      await store.close();
    }
  }, 420_000);
});

describe.runIf(requireProgram('git'))('a resolver agent that waits for a person', () => {
  it('--detach-on-wait while the resolver waits keeps the merge open; approved, --resume takes the resolution', async () => {
    const dir = join(model.home.dir, 'resolver');
    const repo = join(dir, 'repo');
    const git = makeRepo(repo, projectFiles);
    const workflow = join(dir, 'workflow.yaml');
    // Agents write in their worktrees; the resolver writes in the merge's worktree (data_dir/merges/…), where a person decides.
    writeFileSync(
      workflow,
      `version: 1
name: walkaway-resolver
defaults:
  permissions: { allow: [Write], ask: ["Write(//**/merges/**)"], approvalTimeoutMs: 600000 }
phases:
  - id: edit
    workspace: worktree
    repo: ${repo}
    merge: { verify: node test/run.mjs, onConflict: agent }
    agents:
      - { id: version-a, prompt: Set the version to 2.0.0. }
      - { id: version-b, prompt: Set the version to 2.1.0. }
`,
    );
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(dir, 'data') });
    const run = async (args: string[]) => {
      const result = await runCli(['run', ...args, '--detach-on-wait', '--json'], { env });
      expect(result.stderr).not.toMatch(/\n\s+at /);
      return { code: result.code, summary: JSON.parse(result.stdout) as RunSummary };
    };
    const first = await run([workflow]);
    expect(first.code).toBe(EXIT_WAITING_FOR_APPROVAL);
    const { runId } = first.summary;
    // Not a final report: the branch is neither skipped nor merged while the resolver waits.
    expect(first.summary.phases[0]!.merge).toMatchObject({ status: 'running' });
    const listed = JSON.parse((await runCli(['approvals', '--run', runId, '--json'], { env })).stdout) as Array<{
      id: string;
      agentId: string;
    }>;
    expect(listed.map((request) => request.agentId)).toEqual(['edit.resolve.version-b']);
    expect((await runCli(['approve', listed[0]!.id], { env })).code).toBe(0);

    const last = await run(['--resume', runId]);
    expect(last.code).toBe(0);
    const merge = last.summary.phases[0]!.merge!;
    expect(merge.steps.map((step) => `${step.agentId}:${step.outcome}`)).toEqual([
      'version-a:merged',
      'version-b:resolved',
    ]);
    expect(merge.steps[1]).toMatchObject({ resolver: { status: 'succeeded' }, verify: { exitCode: 0 } });
    expect(git('show', `${merge.into}:src/version.mjs`)).toBe("export const version = '2.1.0';");
  }, 180_000);
});

describe.runIf(requireProgram('git') && requireProgram('redis-server'))(
  'walk away from agents on baton workers (real redis-server)',
  () => {
    const redis = useRedisStore();

    it('--detach-on-wait exits 3 once both worker slots hold agents that wait for a person; answered, --resume merges every change', async () => {
      const dir = join(model.home.dir, 'workers');
      const repo = join(dir, 'repo');
      const git = makeRepo(repo, projectFiles);
      const before = checkoutFingerprint(repo);
      const workflow = join(dir, 'workflow.yaml');
      const features = FEATURES.slice(0, 4);
      writeFileSync(
        workflow,
        `version: 1
name: walkaway-workers
defaults:
  permissions: { allow: [Write], ask: ["Bash(rm -rf:*)"], approvalTimeoutMs: 600000 }
phases:
  - id: edit
    workspace: worktree
    repo: ${repo}
    merge: { verify: node test/run.mjs }
    agents:
      - { id: cleaner-1, prompt: Clear cache one. }
      - { id: cleaner-2, prompt: Clear cache two. }
${features.map((n) => `      - { id: feat-${n}, prompt: Add feature ${n} with its test. }`).join('\n')}
`,
      );
      const env = model.home.cliEnv(model.url, {
        BATON_DATA_DIR: join(dir, 'data'),
        BATON_REDIS_URL: redis.server.url,
      });
      const run = async (args: string[]) => {
        const result = await runCli(['run', ...args, '--detach-on-wait', '--json'], { env });
        expect(result.stderr).not.toMatch(/\n\s+at /);
        return { code: result.code, summary: JSON.parse(result.stdout) as RunSummary, stderr: result.stderr };
      };
      const worker = startCli(['worker', '--concurrency', '2'], { env });
      try {
        await waitFor(() => worker.stderrSoFar().includes('ready') || undefined, 30_000, 'the worker to be ready');
        const first = await run([workflow]);
        expect(first.code).toBe(EXIT_WAITING_FOR_APPROVAL);
        const { runId } = first.summary;
        const pending = await redis.store.listApprovals({ runId, status: 'pending' });
        const byAgent = new Map(pending.map((request) => [request.agentId, request.id]));
        expect([...byAgent.keys()].sort()).toEqual(['cleaner-1', 'cleaner-2']);
        expect((await runCli(['approve', byAgent.get('cleaner-1')!], { env })).code).toBe(0);
        expect((await runCli(['deny', byAgent.get('cleaner-2')!, '--message', 'keep it'], { env })).code).toBe(0);

        const last = await run(['--resume', runId]);
        expect(last.code, `${last.stderr}\n${JSON.stringify(last.summary, null, 1)}`).toBe(0);
        const edit = last.summary.phases[0]!;
        expect(Object.fromEntries(edit.merge!.steps.map((s) => [s.agentId, s.outcome]))).toEqual({
          'cleaner-1': 'merged',
          'cleaner-2': 'skipped',
          ...Object.fromEntries(features.map((n) => [`feat-${n}`, 'merged'])),
        });
        for (const step of edit.merge!.steps.filter((s) => s.outcome === 'merged'))
          expect(step.verify).toMatchObject({ command: 'node test/run.mjs', exitCode: 0 });
        const into = edit.merge!.into;
        const files = git('ls-tree', '-r', '--name-only', into).split('\n');
        expect(files).not.toContain('build/cache-1/blob');
        expect(files).toEqual(expect.arrayContaining(features.map((n) => `src/feat-${n}.mjs`)));
        expect(checkoutFingerprint(repo)).toEqual(before);
        expect(git('worktree', 'list').split('\n')).toHaveLength(1);
      } finally {
        worker.kill('SIGTERM');
        await worker.output;
      }
    }, 240_000);
  },
);
