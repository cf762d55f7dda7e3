// "Start the agents and walk away" through `baton worker`s (BullMQ on a real redis-server, real claude on
// the scripted model, real git): a worktree phase whose agents run on two workers is merged back with
// `verify` run once on the merged result (verifyBatch) and bisected when it fails; the worker running one
// agent is SIGKILLed mid-agent and the other takes it over, the agent's work in its worktree kept, its
// spend counted once and its shared MCP server gone with the dead worker. Also on workers: an approval
// answered from another shell after `--detach-on-wait`, `baton cancel`, an orchestrator SIGKILLed while
// its worker finishes a worktree agent, a worker SIGKILLed while its agent waits for a person, and two
// tenants' agents on one worker kept apart. Nothing is left running.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_WAITING_FOR_APPROVAL } from '../src/core/index.js';
import { scriptSchema } from '../src/model-server/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli, startCli, waitFor, type CliResult } from './support/cli.js';
import { checkoutFingerprint, expectRunLeftNothing, makeRepo } from './support/git-repo.js';
import { npmServers } from './support/mcp-servers.js';
import { agentProcessesWithEnv, mcpServerProcessesWithEnv } from './support/processes.js';
import { requireProgram } from './support/programs.js';
import { useRedisStore } from './support/redis.js';
import { useScriptedModel } from './support/scripted-model.js';

/** Every answered model call reports this usage, so the run's spend can be counted exactly. */
const usage = { input_tokens: 1000, output_tokens: 10 };
const bash = (command: string) => ({ toolUse: { name: 'Bash', input: { command, description: 'edit' } }, usage });
const write = (file_path: string, content: string) => ({
  toolUse: { name: 'Write', input: { file_path, content } },
  usage,
});
const text = (said: string) => ({ text: said, usage });

const model = useScriptedModel(
  scriptSchema.parse({
    rules: [
      // Alpha or the breaker may share gamma's worker and be SIGKILLed with it, between the model's answer
      // and the command it asked for: resumed, each runs its command again, as a model told its previous
      // attempt was interrupted would (else the script's "Wrote …" without the file, 2 runs in 27 here).
      { match: { prompt: 'Write alpha', last: 'previous attempt' }, reply: bash('echo alpha > a.txt') },
      { match: { prompt: 'Write alpha', turn: 1 }, reply: bash('echo alpha > a.txt') },
      { match: { prompt: 'Write alpha' }, reply: text('Wrote a.txt.') },
      { match: { prompt: 'Break the check', last: 'previous attempt' }, reply: bash('echo BROKEN > d.txt') },
      { match: { prompt: 'Break the check', turn: 1 }, reply: bash('echo BROKEN > d.txt') },
      { match: { prompt: 'Break the check' }, reply: text('Wrote d.txt.') },
      // Gamma writes c.txt, then its worker is SIGKILLed while it waits for the model's next answer; the
      // worker that takes the job over continues the session (or starts the task again) and finishes.
      { match: { prompt: 'Write gamma', last: 'previous attempt' }, reply: text('Wrote c.txt.') },
      { match: { prompt: 'Write gamma', turn: 1 }, reply: bash('echo gamma > c.txt') },
      {
        match: { prompt: 'Write gamma' },
        replies: [{ hang: true }, text('Wrote c.txt.')],
        sequencePer: 'script',
      },
      // The drafter writes a draft (allowed), then NOTES.md (asked); resumed after the detach, it makes the
      // same call again and finds the answer given meanwhile.
      { match: { prompt: 'Draft the notes', last: 'previous attempt' }, reply: write('NOTES.md', 'v2 is out\n') },
      { match: { prompt: 'Draft the notes', turn: 1 }, reply: bash('echo draft > draft.txt') },
      { match: { prompt: 'Draft the notes', turn: 2 }, reply: write('NOTES.md', 'v2 is out\n') },
      { match: { prompt: 'Draft the notes' }, reply: text('Notes drafted.') },
      { match: { prompt: 'Tag the release', turn: 1 }, reply: bash('echo v2 > VERSION') },
      { match: { prompt: 'Tag the release' }, reply: text('Tagged.') },
      { match: { prompt: 'Wait for the mirror', turn: 1 }, reply: bash('echo waiting') },
      { match: { prompt: 'Wait for the mirror' }, reply: { hang: true } },
      // Its orchestrator is SIGKILLed while it waits for this slow answer; its worker finishes it alone.
      { match: { prompt: 'Edit slowly', turn: 1 }, reply: bash('echo slow > s.txt') },
      { match: { prompt: 'Edit slowly' }, reply: { ...text('Edited s.txt.'), delayMs: 3000 } },
      // Asks to write RELEASE.md; its worker is SIGKILLed while it waits for a person, and the worker that
      // takes the job over makes the same call again.
      { match: { prompt: 'Publish the release', last: 'previous attempt' }, reply: write('RELEASE.md', 'v3\n') },
      { match: { prompt: 'Publish the release', turn: 1 }, reply: write('RELEASE.md', 'v3\n') },
      { match: { prompt: 'Publish the release' }, reply: text('Published.') },
      // Two tenants' agents on one worker: acme's records a fact and holds a secret in its env; globex's
      // asks for the fact (naming acme's run) and prints a digest of the same variable.
      {
        match: { prompt: 'Record the merger', turn: 1 },
        reply: {
          toolUse: {
            name: 'mcp__baton__add_knowledge',
            input: { kind: 'decision', text: 'We will merge with Initech in May', about: ['plan.md'] },
          },
        },
      },
      {
        match: { prompt: 'Ask about the merger', turn: 1 },
        reply: {
          toolUse: { name: 'mcp__baton__query_knowledge', input: { question: 'what was decided about Initech' } },
        },
      },
      {
        match: { prompt: 'Show the deploy key', turn: 1 },
        reply: bash('printf "key=%s" "$(printf %s "$DEPLOY_KEY" | sha256sum | cut -c1-16)"'),
      },
    ],
    default: text('OK'),
  }),
  'baton-walkaway-workers-',
);

const hasPrograms = requireProgram('redis-server') && requireProgram('git');

describe.runIf(hasPrograms)('walk away with agents on baton workers (real redis-server, git, claude)', () => {
  const redis = useRedisStore();

  it('worktree phase on two workers, one SIGKILLed mid-agent: verified once and bisected, work kept, spend once, tenants apart, nothing left', async () => {
    const dir = join(model.home.dir, 'batch');
    const repo = join(dir, 'repo');
    const git = makeRepo(repo, {
      'check.sh':
        'if grep -rl BROKEN --exclude=check.sh --exclude-dir=.git .; then echo "check failed: BROKEN found"; exit 1; fi\necho check passed\n',
      'README.md': '# app\n',
    });
    const before = checkoutFingerprint(repo);
    const dataDir = join(dir, 'data');
    const workflow = join(dir, 'workflow.yaml');
    writeFileSync(
      workflow,
      `version: 1
name: workers-batch
mcpServers:
  memory: { command: ${process.execPath}, args: [${npmServers.memory}], env: { MEMORY_FILE_PATH: ${join(dir, 'memory.json')} }, scope: run }
phases:
  - id: edit
    workspace: worktree
    repo: ${repo}
    merge: { verify: sh check.sh, verifyBatch: true }
    agents:
      - { id: alpha, allowedTools: [Bash], prompt: Write alpha to a.txt. }
      - { id: breaker, allowedTools: [Bash], prompt: Break the check with d.txt. }
      - { id: gamma, allowedTools: [Bash], prompt: Write gamma to c.txt., mcpServers: [memory] }
`,
    );
    const env = model.home.cliEnv(model.url, {
      BATON_DATA_DIR: dataDir,
      BATON_REDIS_URL: redis.server.url,
      BATON_WORKER_STALL_TIMEOUT_MS: '3000',
    });
    const outputs: CliResult[] = [];
    const cli = async (args: string[]) => {
      const result = await runCli(args, { env });
      outputs.push(result);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      return result;
    };
    const workers = [0, 1].map(() => startCli(['worker', '--concurrency', '2'], { env }));
    const run = startCli(['run', workflow, '--tenant', 'acme', '--json'], { env });
    try {
      await waitFor(() => workers.every((w) => w.stderrSoFar().includes('ready')) || undefined, 30_000, 'workers');
      // Gamma has written c.txt in its worktree and waits for the model: its worker is SIGKILLed.
      const gammaAsks = await waitFor(
        () =>
          model.server.messageRequests().find((r) => r.view?.prompt.includes('Write gamma') && r.outcome === 'hang'),
        60_000,
        "gamma's second model request",
      );
      const holder = await waitFor(
        () => workers.find((w) => /▶ gamma/.test(w.stderrSoFar())),
        10_000,
        'the worker running gamma',
      );
      const [runRecord] = await redis.store.listRuns({ limit: 1 });
      const runId = runRecord!.id;
      expect(gammaAsks.sessionId).toBe((await redis.store.getAgent(runId, 'gamma'))!.sessionId);
      // The memory server the worker's gateway started for gamma dies with the worker (its watchdog).
      expect(mcpServerProcessesWithEnv(model.home.dir, 'memory')).toHaveLength(1);
      holder.kill('SIGKILL');
      await holder.output;

      // Mid-run, tenant globex sees nothing of acme's run.
      const hidden = await cli(['status', runId, '--tenant', 'globex']);
      expect(hidden.code).toBe(2);
      expect(hidden.stderr).toContain('BATON_RUN_NOT_FOUND');
      expect(JSON.parse((await cli(['runs', '--tenant', 'globex', '--json'])).stdout)).toEqual([]);

      const finished = await run.output;
      outputs.push(finished);
      expect(finished.stderr).not.toMatch(/\n\s+at /);
      expect(finished.code, finished.stderr).toBe(0);
      const summary = JSON.parse(finished.stdout) as RunSummary;
      const edit = summary.phases.find((p) => p.id === 'edit')!;
      const agents = new Map(edit.agents.map((a) => [a.id, a]));
      expect(agents.get('gamma')).toMatchObject({ status: 'succeeded', attempts: 2 });
      // verify ran on the merged result, failed, and bisection left the breaker out.
      const attemptsSeen = (await redis.store.listAttempts(runId)).map((a) => `${a.agentId}.${a.attempt}:${a.status}`);
      expect(
        edit.merge!.steps.map((s) => `${s.agentId}:${s.outcome}${s.reason ? `:${s.reason}` : ''}`),
        `attempts: ${attemptsSeen.join(' ')}`,
      ).toEqual(['alpha:merged', 'breaker:skipped:verify-failed', 'gamma:merged']);
      expect(edit.merge).toMatchObject({ rebuilds: 1, verified: { head: edit.merge!.head, verify: { exitCode: 0 } } });
      const merged = git('ls-tree', '-r', '--name-only', edit.merge!.into).split('\n');
      expect(merged).toEqual(expect.arrayContaining(['a.txt', 'c.txt', 'check.sh']));
      expect(merged).not.toContain('d.txt');
      expect(git('show', `${edit.merge!.into}:c.txt`)).toBe('gamma');

      // The killed attempt is closed as lost; the spend is what the model answered, counted once.
      const attempts = await redis.store.listAttempts(runId);
      const gammaAttempts = attempts.filter((a) => a.agentId === 'gamma');
      expect(gammaAttempts.map((a) => `${a.status}:${a.error?.code ?? ''}`)).toEqual([
        'failed:BATON_ORCHESTRATOR_LOST',
        'succeeded:',
      ]);
      const recorded = attempts.reduce((sum, a) => sum + a.usage.inputTokens, 0);
      const answered = model.server
        .messageRequests()
        .filter((r) => r.outcome === 'message')
        .reduce((sum, r) => sum + (r.usage?.input_tokens ?? 0), 0);
      const usageRows = JSON.parse((await cli(['usage', '--by', 'run', '--tenant', 'acme', '--json'])).stdout) as {
        rows: Array<{ key: string; inputTokens: number }>;
      };
      expect(usageRows.rows.map((r) => [r.key, r.inputTokens])).toEqual([[runId, recorded]]);
      expect(recorded).toBeLessThanOrEqual(answered);
      expect(summary.totals.inputTokens).toBe(recorded);

      // The surviving worker stops the run's memory server once it sees the run ended (it asks the store every
      // second, docs/mcp.md); asserting at once would race that poll.
      await waitFor(
        () => mcpServerProcessesWithEnv(model.home.dir).length === 0 || undefined,
        10_000,
        "the worker to stop the ended run's MCP server",
      );
      expectRunLeftNothing({ home: model.home.dir, repo, before, dataDir, runId });
    } finally {
      run.kill('SIGKILL');
      for (const worker of workers) worker.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.output));
    }
  }, 120_000);

  it('an agent on a worker asks in its worktree; --detach-on-wait exits 3; approved from another shell, the resumed run merges its work', async () => {
    const dir = join(model.home.dir, 'asked');
    const repo = join(dir, 'repo');
    const git = makeRepo(repo, { 'README.md': '# app\n' });
    const before = checkoutFingerprint(repo);
    const dataDir = join(dir, 'data');
    const workflow = join(dir, 'workflow.yaml');
    writeFileSync(
      workflow,
      `version: 1
name: workers-asked
defaults: { permissions: { allow: [Bash], ask: [Write] } }
phases:
  - id: edit
    workspace: worktree
    repo: ${repo}
    merge: {}
    agents:
      - { id: drafter, prompt: Draft the notes for v2. }
      - { id: tagger, prompt: Tag the release as v2. }
`,
    );
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: dataDir, BATON_REDIS_URL: redis.server.url });
    const cli = async (args: string[]) => {
      const result = await runCli(args, { env });
      expect(result.stderr).not.toMatch(/\n\s+at /);
      return result;
    };
    const workers = [0, 1].map(() => startCli(['worker', '--concurrency', '1'], { env }));
    try {
      await waitFor(() => workers.every((w) => w.stderrSoFar().includes('ready')) || undefined, 30_000, 'workers');
      const first = await cli(['run', workflow, '--tenant', 'acme', '--detach-on-wait', '--json']);
      expect(first.code, first.stderr).toBe(EXIT_WAITING_FOR_APPROVAL);
      const { runId } = JSON.parse(first.stdout) as RunSummary;
      // The drafter's work so far (the draft) is committed to its branch as it stops; when the run has
      // stopped, the worker has stopped the drafter's claude and closed its attempt.
      expect(agentProcessesWithEnv(model.home.dir)).toEqual([]);
      expect(
        (await redis.store.listAttempts(runId)).map((a) => `${a.agentId}:${a.status}:${a.error?.code ?? ''}`),
      ).toEqual(['drafter:failed:BATON_CANCELLED', 'tagger:succeeded:']);
      const drafterBranch = (await redis.store.getAgent(runId, 'drafter'))!.workspace!.branch;
      expect(git('show', `${drafterBranch}:draft.txt`)).toBe('draft');

      // Answered from another shell: another tenant cannot see or answer it, acme can.
      const [request] = JSON.parse(
        (await cli(['approvals', '--run', runId, '--tenant', 'acme', '--json'])).stdout,
      ) as Array<{ id: string; agentId: string; tool: string }>;
      expect(request).toMatchObject({ agentId: 'drafter', tool: 'Write' });
      expect(JSON.parse((await cli(['approvals', '--tenant', 'globex', '--json'])).stdout)).toEqual([]);
      const refused = await cli(['approve', request!.id, '--tenant', 'globex']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('BATON_APPROVAL_NOT_FOUND');
      expect((await cli(['approve', request!.id, '--tenant', 'acme', '--message', 'ship it'])).code).toBe(0);

      const resumed = await cli(['run', '--resume', runId, '--json']);
      expect(resumed.code, resumed.stderr).toBe(0);
      const edit = (JSON.parse(resumed.stdout) as RunSummary).phases.find((p) => p.id === 'edit')!;
      expect(edit.agents.map((a) => `${a.id}:${a.status}`)).toEqual(['drafter:succeeded', 'tagger:succeeded']);
      expect(edit.merge!.steps.map((s) => `${s.agentId}:${s.outcome}`)).toEqual(['drafter:merged', 'tagger:merged']);
      // The merged branch has what the drafter wrote before and after the detach, and the tagger's file.
      const into = edit.merge!.into;
      expect([
        git('show', `${into}:draft.txt`),
        git('show', `${into}:NOTES.md`),
        git('show', `${into}:VERSION`),
      ]).toEqual(['draft', 'v2 is out', 'v2']);
      // The tagger finished before the detach and did not run again.
      const tagger = edit.agents.find((a) => a.id === 'tagger')!;
      expect(tagger.attempts).toBe(1);
      expectRunLeftNothing({ home: model.home.dir, repo, before, dataDir, runId });
    } finally {
      for (const worker of workers) worker.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.output));
    }
  }, 120_000);

  it('baton cancel from another shell stops the agents on the workers; the workers stay up and take the next run', async () => {
    const dir = join(model.home.dir, 'cancel');
    const dataDir = join(dir, 'data');
    const workflow = (name: string, prompt: string) => {
      const path = join(dir, `${name}.yaml`);
      writeFileSync(
        path,
        `version: 1\nname: ${name}\nphases:\n  - { id: work, agents: [{ id: task, count: 2, prompt: "${prompt} {{index}}" }] }\n`,
      );
      return path;
    };
    mkdirSync(dir, { recursive: true });
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: dataDir, BATON_REDIS_URL: redis.server.url });
    const workers = [0, 1].map(() => startCli(['worker', '--concurrency', '1'], { env }));
    const run = startCli(['run', workflow('mirror', 'Wait for the mirror'), '--json'], { env });
    try {
      await waitFor(
        () =>
          model.server.messageRequests().filter((r) => r.view?.prompt.includes('Wait for the mirror')).length >= 4 ||
          undefined,
        60_000,
        'both agents to ask the model again',
      );
      const [record] = await redis.store.listRuns({ limit: 1 });
      const cancelled = await runCli(['cancel', record!.id], { env });
      expect(cancelled.code, cancelled.stderr).toBe(0);
      const stopped = await run.output;
      expect(stopped.stderr).not.toMatch(/\n\s+at /);
      const summary = JSON.parse(stopped.stdout) as RunSummary;
      expect(summary.status).toBe('cancelled');
      expect(summary.phases[0]!.agents.map((a) => a.status)).toEqual(['cancelled', 'cancelled']);
      // The run ends once the workers have stopped its agents, not before.
      expect(agentProcessesWithEnv(model.home.dir)).toEqual([]);
      // Nobody runs the cancelled agents again, and both workers take the next run's agents.
      const next = await runCli(['run', workflow('after', 'Say hello'), '--json'], { env });
      expect(next.code, next.stderr).toBe(0);
      expect(model.server.messageRequests().filter((r) => r.view?.prompt.includes('Wait for the mirror'))).toHaveLength(
        4,
      );
      for (const worker of workers) expect(worker.exitCode).toBeNull();
      const attempts = await redis.store.listAttempts(record!.id);
      expect(attempts.map((a) => `${a.status}:${a.error?.code ?? ''}`)).toEqual([
        'failed:BATON_CANCELLED',
        'failed:BATON_CANCELLED',
      ]);
      // What the cancelled agents spent on the workers (one answered call each) is the run's spend, once.
      expect(attempts.map((a) => a.usage.inputTokens)).toEqual([usage.input_tokens, usage.input_tokens]);
      expect(summary.totals.inputTokens).toBe(2 * usage.input_tokens);
    } finally {
      run.kill('SIGKILL');
      for (const worker of workers) worker.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.output));
    }
    expect(agentProcessesWithEnv(model.home.dir)).toEqual([]);
  }, 120_000);

  it('the orchestrator SIGKILLed while a worktree agent works on a worker: the worker finishes it, --resume commits and merges its work without running it again', async () => {
    const dir = join(model.home.dir, 'orphaned');
    const repo = join(dir, 'repo');
    const git = makeRepo(repo, { 'check.sh': 'test -f s.txt\n' });
    const workflow = join(dir, 'workflow.yaml');
    writeFileSync(
      workflow,
      `version: 1\nname: orphaned\nphases:\n  - id: edit\n    workspace: worktree\n    repo: ${repo}\n    merge: { verify: sh check.sh, verifyBatch: true }\n    agents: [{ id: slow, allowedTools: [Bash], prompt: Edit slowly. }]\n`,
    );
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(dir, 'data'), BATON_REDIS_URL: redis.server.url });
    const worker = startCli(['worker', '--concurrency', '1'], { env });
    const run = startCli(['run', workflow, '--json'], { env });
    try {
      const asked = await waitFor(
        () => {
          const requests = model.server.messageRequests().filter((r) => r.view?.prompt.includes('Edit slowly'));
          return requests.length >= 2 ? requests : undefined;
        },
        60_000,
        'the slow agent to ask again',
      );
      run.kill('SIGKILL');
      await run.output;
      await waitFor(() => /✓ slow/.test(worker.stderrSoFar()) || undefined, 30_000, 'the worker to finish the agent');
      const resumed = await runCli(['run', '--resume', (await redis.store.listRuns({ limit: 1 }))[0]!.id, '--json'], {
        env,
      });
      expect(resumed.stderr).not.toMatch(/\n\s+at /);
      expect(resumed.code, resumed.stderr).toBe(0);
      const edit = (JSON.parse(resumed.stdout) as RunSummary).phases[0]!;
      expect(edit.agents[0]).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(edit.merge!.steps.map((s) => `${s.agentId}:${s.outcome}`)).toEqual(['slow:merged']);
      expect(git('show', `${edit.merge!.into}:s.txt`)).toBe('slow');
      // The agent did not run again, and its two answered model calls are counted once.
      expect(model.server.messageRequests().filter((r) => r.view?.prompt.includes('Edit slowly'))).toHaveLength(
        asked.length,
      );
      const summary = JSON.parse(resumed.stdout) as RunSummary;
      expect(summary.totals.inputTokens).toBe(2 * usage.input_tokens);
      const byRun = JSON.parse((await runCli(['usage', '--by', 'run', '--json'], { env })).stdout) as {
        rows: Array<{ key: string; inputTokens: number }>;
      };
      expect(byRun.rows.find((r) => r.key === summary.runId)?.inputTokens).toBe(2 * usage.input_tokens);
      expect(git('worktree', 'list').split('\n')).toHaveLength(1);
    } finally {
      run.kill('SIGKILL');
      worker.kill('SIGTERM');
      await worker.output;
    }
    expect(agentProcessesWithEnv(model.home.dir)).toEqual([]);
  }, 120_000);

  it('a worker SIGKILLed while its agent waits for a person: the other worker takes the agent over, the one request is answered once', async () => {
    const dir = join(model.home.dir, 'asked-killed');
    mkdirSync(dir, { recursive: true });
    const workflow = join(dir, 'workflow.yaml');
    writeFileSync(
      workflow,
      'version: 1\nname: publish\ndefaults: { permissions: { ask: [Write] } }\nphases:\n  - { id: only, agents: [{ id: publisher, prompt: Publish the release notes. }] }\n',
    );
    const env = model.home.cliEnv(model.url, {
      BATON_DATA_DIR: join(dir, 'data'),
      BATON_REDIS_URL: redis.server.url,
      BATON_WORKER_STALL_TIMEOUT_MS: '3000',
    });
    const first = startCli(['worker', '--concurrency', '1'], { env });
    let second: ReturnType<typeof startCli> | undefined;
    const run = startCli(['run', workflow, '--json'], { env });
    try {
      const request = await waitFor(
        async () => {
          const found = (await redis.store.listRuns()).find((r) => r.workflowName === 'publish');
          return found && (await redis.store.listApprovals({ runId: found.id, status: 'pending' }))[0];
        },
        60_000,
        'the publisher to ask',
      );
      first.kill('SIGKILL');
      await first.output;
      second = startCli(['worker', '--concurrency', '1'], { env });
      await waitFor(
        () => /▶ publisher/.test(second!.stderrSoFar()) || undefined,
        30_000,
        'the other worker to take it',
      );
      expect((await runCli(['approve', request.id, '--message', 'go'], { env })).code).toBe(0);
      const { code, stdout, stderr } = await run.output;
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(code, stderr).toBe(0);
      const publisher = (JSON.parse(stdout) as RunSummary).phases[0]!.agents[0]!;
      expect(publisher).toMatchObject({ status: 'succeeded', attempts: 2 });
      expect(readFileSync(join(dir, 'RELEASE.md'), 'utf8')).toBe('v3\n');
      // One request, asked once and answered once, whichever worker asked it.
      const requests = await redis.store.listApprovals({ runId: request.runId });
      expect(requests.map((r) => `${r.id}:${r.status}`)).toEqual([`${request.id}:approved`]);
    } finally {
      run.kill('SIGKILL');
      first.kill('SIGKILL');
      second?.kill('SIGTERM');
      await second?.output;
    }
    expect(agentProcessesWithEnv(model.home.dir)).toEqual([]);
  }, 120_000);

  it("two tenants' agents on one worker: globex's agent reads none of acme's facts nor its env; acme's next run reads its fact", async () => {
    const dir = join(model.home.dir, 'tenants');
    mkdirSync(dir, { recursive: true });
    const env = model.home.cliEnv(model.url, {
      BATON_DATA_DIR: join(dir, 'data'),
      BATON_REDIS_URL: redis.server.url,
      ENABLE_TOOL_SEARCH: 'false',
      BATON_MCP_TIMEOUT_MS: '30000',
    });
    const secret = 'deploy-acme-5b1e0c77d2f94a38';
    const digest = createHash('sha256').update(secret).digest('hex').slice(0, 16);
    /** A run of one tenant: its phases' agents (prompts) on Baton's MCP server, each phase after the one before. */
    const runAgents = async (name: string, tenant: string, phases: string[][], extra = '') => {
      const workflow = join(dir, `${name}.yaml`);
      const phase = (prompts: string[], p: number) =>
        `  - id: p${p}\n${p > 0 ? `    dependsOn: [p${p - 1}]\n` : ''}    agents:\n` +
        prompts
          .map((prompt, i) => `      - { id: a${p}${i}, prompt: "${prompt}", mcpServers: [baton]${extra} }\n`)
          .join('');
      writeFileSync(
        workflow,
        `version: 1\nname: ${name}\ndefaults: { permissions: { allow: [Bash] } }\nphases:\n${phases.map(phase).join('')}`,
      );
      const { code, stdout, stderr } = await runCli(['run', workflow, '--tenant', tenant, '--json'], { env });
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(code, stderr).toBe(0);
      return (JSON.parse(stdout) as RunSummary).phases.flatMap((p) => p.agents);
    };
    /** What the agent's tool call answered: the newest message of its second model request. */
    const toolAnswer = (sessionId: string | undefined) => model.server.messageRequests(sessionId)[1]!.view!.last;
    const worker = startCli(['worker', '--concurrency', '3'], { env });
    try {
      await waitFor(() => worker.stderrSoFar().includes('ready') || undefined, 30_000, 'the worker');
      // Acme records the fact and shows its key.
      const [, holder] = await runAgents(
        'acme',
        'acme',
        [['Record the merger', 'Show the deploy key']],
        `, env: { DEPLOY_KEY: ${secret} }`,
      );
      expect(toolAnswer(holder!.sessionId)).toContain(`key=${digest}`);
      // Then, side by side on the same worker: acme's next run reads the fact back, globex's sees neither.
      const [[colleague], [asker, snooper]] = await Promise.all([
        runAgents('acme-next', 'acme', [['Ask about the merger']]),
        runAgents('globex', 'globex', [['Ask about the merger', 'Show the deploy key']]),
      ]);
      expect(toolAnswer(colleague!.sessionId)).toContain('We will merge with Initech in May');
      expect(toolAnswer(asker!.sessionId)).not.toContain('Initech in May');
      expect(toolAnswer(snooper!.sessionId)).toContain('key=');
      expect(toolAnswer(snooper!.sessionId)).not.toContain(digest);
      expect(worker.stderrSoFar().match(/✓ /g)).toHaveLength(5);
    } finally {
      worker.kill('SIGTERM');
      await worker.output;
    }
    expect(agentProcessesWithEnv(model.home.dir)).toEqual([]);
  }, 120_000);
});
