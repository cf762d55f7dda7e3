import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { answerApproval } from '../src/approvals/index.js';
import { EXIT_WAITING_FOR_APPROVAL, type ApprovalRecord } from '../src/core/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { processesWithEnv } from './support/processes.js';
import { useScriptedModel } from './support/scripted-model.js';

const fixer = (match: { last?: string }, reply: object) => ({
  match: { prompt: 'Fix the typo', ...match },
  reply,
  sequencePer: 'script' as const,
});
const readTypo = { toolUse: { name: 'Read', input: { file_path: 'typo.txt' } } };

const model = useScriptedModel(
  {
    rules: [
      // A resumed fixer reads the file again (its earlier read may be gone), then repeats the same edit.
      fixer({ last: 'previous attempt' }, readTypo),
      fixer(
        { last: '/teh cat|unchanged since/' },
        { toolUse: { name: 'Edit', input: { file_path: 'typo.txt', old_string: 'teh cat', new_string: 'the cat' } } },
      ),
      fixer({ last: 'updated successfully' }, { text: 'Finding: typo fixed' }),
      fixer({}, readTypo),
    ],
    default: { text: 'Finding: first step done' },
  },
  'baton-appr-resume-e2e-',
);

const env = () => model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'data') });

/** A workflow in its own directory, next to a typo.txt for its agents to fix. */
function typoProject(name: string, yaml: string): { path: string; dir: string } {
  const dir = join(model.home.dir, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'typo.txt'), 'teh cat\n');
  const path = join(dir, 'workflow.yaml');
  writeFileSync(path, yaml);
  return { path, dir };
}

/** A two-phase workflow in its own directory: a quick first agent, then a fixer whose edit asks a person. */
const governedWorkflow = (name: string) =>
  typoProject(
    name,
    `version: 1
name: ${name}
phases:
  - { id: one, agents: [{ id: first, prompt: Quick first step }] }
  - id: two
    dependsOn: [one]
    agents: [{ id: fixer, prompt: Fix the typo, permissions: { ask: ["Edit(typo.txt)"] } }]
`,
  );

async function pendingFor(runWorkflowName: string): Promise<ApprovalRecord & { runId: string }> {
  const store = openSqliteStore({ dataDir: join(model.home.dir, 'data') });
  try {
    return await waitFor(
      async () => {
        const runs = await store.listRuns();
        const run = runs.find((r) => r.workflowName === runWorkflowName);
        return run && (await store.listApprovals({ runId: run.id, status: 'pending' }))[0];
      },
      90_000,
      'the fixer to wait for approval',
    );
  } finally {
    await store.close();
  }
}

function requestCount(summary: RunSummary, agentId: string): number {
  const agent = summary.phases.flatMap((p) => p.agents).find((a) => a.id === agentId)!;
  return model.server.messageRequests(agent.sessionId).length;
}

describe('approvals survive the orchestrator (real claude, scripted model)', () => {
  it('SIGKILLed while a request waits: approved meanwhile, --resume continues with each agent once', async () => {
    const { path, dir } = governedWorkflow('killed');
    const orchestrator = startCli(['run', path, '--json'], { env: env() });
    try {
      const request = await pendingFor('killed');
      expect(request).toMatchObject({ agentId: 'fixer', tool: 'Edit', rule: 'Edit(typo.txt)' });
      orchestrator.kill('SIGKILL');
      await orchestrator.output;

      expect((await runCli(['approve', request.id], { env: env() })).code).toBe(0);
      const resumed = await runCli(['run', '--resume', request.runId, '--json'], { env: env() });
      expect(resumed.stderr).not.toMatch(/\n\s+at /);
      expect(resumed.code).toBe(0);
      const summary = JSON.parse(resumed.stdout) as RunSummary;
      expect(summary.status).toBe('succeeded');
      expect(readFileSync(join(dir, 'typo.txt'), 'utf8')).toBe('the cat\n');
      // Each agent once: the first agent was not run again (one model request), the fixer continued its session.
      expect(summary.phases.flatMap((p) => p.agents.map((a) => `${a.id}:${a.status}`))).toEqual([
        'first:succeeded',
        'fixer:succeeded',
      ]);
      expect(requestCount(summary, 'first')).toBe(1);
      const fixerAgent = summary.phases[1]!.agents[0]!;
      expect(fixerAgent.attempts).toBe(2);
      expect(fixerAgent.permissions).toEqual({ asked: 1, denied: 0 });
      // Told that its call's answer waits for it (the killed attempt was found lost after the approval).
      const resumedPrompt = model.server
        .messageRequests(fixerAgent.sessionId)
        .map((r) => r.view?.last ?? '')
        .find((last) => last.includes('previous attempt'));
      expect(resumedPrompt).toContain('make that same call again');
      // Nothing of the killed orchestrator is left running.
      await waitFor(() => processesWithEnv(model.home.dir).length === 0 || undefined, 20_000, 'no leftovers');
    } finally {
      orchestrator.kill('SIGKILL');
    }
  }, 240_000);

  it('--detach-on-wait exits 3 when only a person can go on; a later --resume picks up the approval', async () => {
    const { path, dir } = governedWorkflow('detached');
    const first = await runCli(['run', path, '--detach-on-wait', '--json', '--tenant', 'team-a'], { env: env() });
    expect(first.stderr).not.toMatch(/\n\s+at /);
    expect(first.code).toBe(EXIT_WAITING_FOR_APPROVAL);
    expect(first.stderr).toContain('baton run --resume');
    const stopped = JSON.parse(first.stdout) as RunSummary;
    expect(stopped.waiting).toBe(1);
    expect(readFileSync(join(dir, 'typo.txt'), 'utf8')).toBe('teh cat\n');

    const listed = await runCli(['approvals', '--run', stopped.runId], { env: env() });
    expect(listed.stdout).toContain('agent fixer');
    const listedFor = async (tenant: string) =>
      JSON.parse(
        (await runCli(['approvals', '--json', '--tenant', tenant], { env: env() })).stdout,
      ) as ApprovalRecord[];
    expect(await listedFor('team-b')).toEqual([]);
    const [request] = await listedFor('team-a');
    // Another tenant's request reads as none; it stays pending.
    const refused = await runCli(['approve', request!.id, '--tenant', 'team-b'], { env: env() });
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining('BATON_APPROVAL_NOT_FOUND')]);
    expect((await listedFor('team-a')).map((r) => r.status)).toEqual(['pending']);
    expect((await runCli(['approve', request!.id, '--message', 'go', '--tenant', 'team-a'], { env: env() })).code).toBe(
      0,
    );

    const resumed = await runCli(['run', '--resume', stopped.runId, '--detach-on-wait', '--json'], { env: env() });
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.stdout) as RunSummary;
    expect(summary.status).toBe('succeeded');
    expect(summary.waiting).toBeUndefined();
    expect(requestCount(summary, 'first')).toBe(1);
    expect(readFileSync(join(dir, 'typo.txt'), 'utf8')).toBe('the cat\n');
    // The resumed fixer is told why it stopped and that its call's answer waits for it, not that it crashed.
    const fixerSession = summary.phases.flatMap((p) => p.agents).find((a) => a.id === 'fixer')!.sessionId;
    const resumedPrompt = model.server
      .messageRequests(fixerSession)
      .map((r) => r.view?.last ?? '')
      .find((last) => last.includes('previous attempt'));
    expect(resumedPrompt).toContain('detached while waiting for approval');
    expect(resumedPrompt).toContain('make that same call again');
    const status = await runCli(['status', stopped.runId], { env: env() });
    expect(status.stdout).toContain('tool calls: 1 asked a person, 0 denied');
  }, 240_000);

  it('--detach-on-wait at a phase gate exits 3; approved from another shell, --resume runs the gated phase only', async () => {
    const dir = join(model.home.dir, 'gate-detach');
    mkdirSync(dir);
    const path = join(dir, 'workflow.yaml');
    writeFileSync(
      path,
      `version: 1
name: gate-detach
phases:
  - { id: one, agents: [{ id: first, prompt: Quick first step }] }
  - id: two
    dependsOn: [one]
    approval: { before: true, message: Look at the first step }
    agents: [{ id: second, prompt: Quick second step }]
`,
    );
    const first = await runCli(['run', path, '--detach-on-wait', '--json'], { env: env() });
    expect(first.stderr).not.toMatch(/\n\s+at /);
    expect(first.code).toBe(EXIT_WAITING_FOR_APPROVAL);
    const stopped = JSON.parse(first.stdout) as RunSummary;
    expect(stopped.waiting).toBe(1);
    const [gate] = JSON.parse(
      (await runCli(['approvals', '--json', '--run', stopped.runId], { env: env() })).stdout,
    ) as ApprovalRecord[];
    expect(gate).toMatchObject({ kind: 'phase.before', phaseId: 'two', status: 'pending' });
    expect(gate!.summary).toContain('Finding: first step done');
    expect((await runCli(['approve', gate!.id], { env: env() })).code).toBe(0);

    const resumed = await runCli(['run', '--resume', stopped.runId, '--detach-on-wait', '--json'], { env: env() });
    expect(resumed.stderr).not.toMatch(/\n\s+at /);
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.stdout) as RunSummary;
    expect(summary.phases.flatMap((p) => p.agents.map((a) => `${a.id}:${a.status}`))).toEqual([
      'first:succeeded',
      'second:succeeded',
    ]);
    expect(requestCount(summary, 'first')).toBe(1);
  }, 240_000);

  it('a gate denied meanwhile stays denied on --resume; resumed again after that, it is asked anew and approved', async () => {
    const dir = join(model.home.dir, 'gate-denied');
    mkdirSync(dir);
    const path = join(dir, 'workflow.yaml');
    writeFileSync(
      path,
      `version: 1
name: gate-denied
phases:
  - { id: one, agents: [{ id: first, prompt: Quick first step }] }
  - id: two
    dependsOn: [one]
    approval: { before: true }
    agents: [{ id: second, prompt: Quick second step }]
`,
    );
    const cli = (...args: string[]) => runCli(args, { env: env() });
    const gateOf = async (runId: string) =>
      (JSON.parse((await cli('approvals', '--json', '--run', runId)).stdout) as ApprovalRecord[])[0];
    const first = await cli('run', path, '--detach-on-wait', '--json');
    expect(first.code).toBe(EXIT_WAITING_FOR_APPROVAL);
    const { runId } = JSON.parse(first.stdout) as RunSummary;
    const denied = (await gateOf(runId))!;
    expect((await cli('deny', denied.id, '--message', 'not before the freeze ends')).code).toBe(0);

    // The answer given while no orchestrator ran is the one the resumed run takes.
    const refused = await cli('run', '--resume', runId, '--detach-on-wait', '--json');
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    expect(refused.code).toBe(1);
    const skipped = (JSON.parse(refused.stdout) as RunSummary).phases.find((p) => p.id === 'two')!;
    expect(skipped).toMatchObject({ status: 'skipped', error: { code: 'BATON_APPROVAL_DENIED' } });
    expect(skipped.error!.message).toContain('not before the freeze ends');

    // Resumed once more, after that run told of the denial: the gate asks again.
    const asking = await cli('run', '--resume', runId, '--detach-on-wait', '--json');
    expect(asking.code).toBe(EXIT_WAITING_FOR_APPROVAL);
    const again = (await gateOf(runId))!;
    expect(again).toMatchObject({ kind: 'phase.before', phaseId: 'two', status: 'pending' });
    expect(again.id).not.toBe(denied.id);
    expect((await cli('approve', again.id)).code).toBe(0);
    const done = await cli('run', '--resume', runId, '--json');
    expect(done.code).toBe(0);
    const summary = JSON.parse(done.stdout) as RunSummary;
    expect(summary.phases.flatMap((p) => p.agents.map((a) => `${a.id}:${a.status}`))).toEqual([
      'first:succeeded',
      'second:succeeded',
    ]);
    expect(requestCount(summary, 'first')).toBe(1);
    expect(requestCount(summary, 'second')).toBe(1);
  }, 300_000);

  it('--detach-on-wait also stops when agents wait for slots that waiting agents hold (parallel_limit)', async () => {
    const { path, dir } = typoProject(
      'slots',
      `version: 1
name: slots
defaults: { permissions: { ask: ["Edit(typo.txt)"], approvalTimeoutMs: 600000 } }
phases:
  - id: fix
    agents:
      - { id: fixer, prompt: Fix the typo }
      - { id: second, prompt: Fix the typo again }
`,
    );
    const first = await runCli(['run', path, '--detach-on-wait', '--json'], {
      env: { ...env(), BATON_PARALLEL_LIMIT: '1' },
    });
    expect(first.stderr).not.toMatch(/\n\s+at /);
    expect(first.code).toBe(EXIT_WAITING_FOR_APPROVAL);
    const stopped = JSON.parse(first.stdout) as RunSummary;
    expect(stopped.waiting).toBe(1);
    expect(readFileSync(join(dir, 'typo.txt'), 'utf8')).toBe('teh cat\n');
  }, 120_000);

  it('a call that failed its agent and a gate that failed its phase (onTimeout: fail) are asked anew on --resume, and approved', async () => {
    const { path, dir } = typoProject(
      'timed-out',
      `version: 1
name: timed-out
phases:
  - id: fix
    agents:
      - { id: fixer, prompt: Fix the typo, permissions: { ask: ["Edit(typo.txt)"], approvalTimeoutMs: 4000, onTimeout: fail } }
  - id: after
    dependsOn: [fix]
    approval: { before: true }
    permissions: { approvalTimeoutMs: 4000, onTimeout: fail }
    agents: [{ id: second, prompt: Quick second step }]
`,
    );
    const statuses = (summary: RunSummary) => summary.phases.flatMap((p) => p.agents.map((a) => `${a.id}:${a.status}`));
    /** `--resume` in the background, approving (through the store, at once: the deadline is short) what it asks. */
    const resumeApproving = async (runId: string, kind: string) => {
      const resumed = startCli(['run', '--resume', runId, '--json'], { env: env() });
      const store = openSqliteStore({ dataDir: join(model.home.dir, 'data') });
      try {
        const asked = await waitFor(
          async () => (await store.listApprovals({ runId, status: 'pending' })).find((r) => r.kind === kind),
          90_000,
          `a new ${kind} request`,
        );
        await answerApproval(store, { id: asked.id, approve: true, by: 'tester@here' });
      } finally {
        await store.close();
      }
      const { code, stdout, stderr } = await resumed.output;
      expect(stderr).not.toMatch(/\n\s+at /);
      return { code, summary: JSON.parse(stdout) as RunSummary };
    };

    const timedOut = await runCli(['run', path, '--json'], { env: env() });
    expect(timedOut.code).toBe(1);
    const { runId, phases } = JSON.parse(timedOut.stdout) as RunSummary;
    expect(phases[0]!.agents[0]).toMatchObject({ status: 'failed', error: { code: 'BATON_APPROVAL_TIMEOUT' } });

    // The failed fixer runs again, asks anew and, approved, makes its edit; then the gate times out.
    const gated = await resumeApproving(runId, 'tool');
    expect(gated.code).toBe(1);
    expect(statuses(gated.summary)).toEqual(['fixer:succeeded', 'second:failed']);
    expect(gated.summary.phases[1]!.error).toMatchObject({ code: 'BATON_APPROVAL_TIMEOUT' });
    expect(readFileSync(join(dir, 'typo.txt'), 'utf8')).toBe('the cat\n');

    // The gate that failed its phase is asked anew too; approved, the phase runs.
    const done = await resumeApproving(runId, 'phase.before');
    expect(done.code).toBe(0);
    expect(statuses(done.summary)).toEqual(['fixer:succeeded', 'second:succeeded']);
    expect(requestCount(done.summary, 'second')).toBe(1);
  }, 300_000);
});
