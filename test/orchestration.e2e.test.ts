import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../src/orchestrator/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { processesWithEnv } from './support/processes.js';
import { useScriptedModel } from './support/scripted-model.js';

const model = useScriptedModel(
  {
    rules: [
      // Planner, generation by generation: the prompt grows with the results of the last one.
      {
        match: { prompt: '/Plan the release[\\s\\S]*Generation 1:/' },
        reply: { structured: { done: true, summary: 'released', tasks: [] } },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Plan the release' },
        reply: {
          structured: {
            done: false,
            tasks: [
              { id: 'notes', prompt: 'Write the release notes' },
              { id: 'tag', prompt: 'Tag the release', dependsOn: ['notes'] },
            ],
          },
        },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Write the release notes' },
        reply: { text: 'Decision: version 2.0 ships the new scheduler' },
        sequencePer: 'script',
      },
      { match: { prompt: 'Tag the release' }, reply: { text: 'Artifact: tag v2.0' }, sequencePer: 'script' },
      // Streams slowly, so the orchestrator can be killed while the request is in flight (recorded at its start).
      {
        match: { prompt: 'Slow second step' },
        reply: { text: 'Finding: second step done', chunkDelayMs: 500 },
        sequencePer: 'script',
      },
    ],
    default: { text: 'Finding: done' },
  },
  'baton-orch-e2e-',
);

const env = () => model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'data') });

function workflowFile(name: string, yaml: string): string {
  const path = join(model.home.dir, `${name}.yaml`);
  writeFileSync(path, yaml);
  return path;
}

describe('orchestration on real claude agents (scripted model)', () => {
  it("plans two generations: the planner's tasks run as agents and their results go back to it", async () => {
    const path = workflowFile(
      'release',
      `version: 1
name: release
phases:
  - { id: plan, plan: { maxGenerations: 3 }, agents: [{ id: planner, prompt: Plan the release }] }
`,
    );
    const { code, stdout, stderr } = await runCli(['run', path, '--json'], { env: env() });
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    expect(summary.phases.map((p) => `${p.id}:${p.status}`)).toEqual([
      'plan:succeeded',
      'plan.g1.notes:succeeded',
      'plan.g1.tag:succeeded',
    ]);
    const planners = summary.phases[0]!.agents.map((a) => a.id);
    expect(planners).toEqual(['planner.g1', 'planner.g2']);
    // The second planner call saw what generation 1 produced, through the real binary's request.
    const second = model.server.messageRequests(summary.phases[0]!.agents[1]!.sessionId)[0]!;
    expect(second.view!.prompt).toContain('notes (succeeded): Decision: version 2.0 ships the new scheduler');
    // The tag task ran after the notes task and inherited its decision.
    const tag = summary.phases[2]!.agents[0]!;
    const tagSystem = model.server.messageRequests(tag.sessionId)[0]!.view!.system;
    expect(tagSystem).toContain('version 2.0 ships the new scheduler');
    // Claude Code's result text for the planner is its plan's JSON: the tag task gets the planned
    // tasks as facts instead (its sibling's, the notes, here), never braces and field names.
    expect(tagSystem).toContain('- [finding] Planned task notes (generation 1): Write the release notes');
    expect(tagSystem).not.toContain('"done"');
  });

  it('resumes a run whose orchestrator was SIGKILLed mid-phase: nothing lost, nothing run twice', async () => {
    const path = workflowFile(
      'three-phases',
      `version: 1
name: three-phases
phases:
  - { id: one, agents: [{ id: first, count: 2, prompt: "Quick first step {{index}}" }] }
  - { id: two, dependsOn: [one], agents: [{ id: second, count: 2, prompt: "Slow second step {{index}}" }] }
  - { id: three, dependsOn: [two], agents: [{ id: third, prompt: Final step }] }
`,
    );
    const orchestrator = startCli(['run', path, '--json'], { env: env() });
    const store = openSqliteStore({ dataDir: join(model.home.dir, 'data') });
    try {
      // Kill it once both phase-two agents are talking to the model.
      const runId = await waitFor(
        async () => {
          const [run] = await store.listRuns({ limit: 1 });
          if (!run || run.workflowName !== 'three-phases') return undefined;
          const running = (await store.listAgents(run.id)).filter((a) => a.phaseId === 'two' && a.status === 'running');
          const talking = running.filter((a) => model.server.messageRequests(a.sessionId).length > 0);
          return talking.length === 2 ? run.id : undefined;
        },
        60_000,
        'phase two to be running',
      );
      orchestrator.kill('SIGKILL');
      await orchestrator.output;

      const before = await store.listAgents(runId);
      const phaseOne = before.filter((a) => a.phaseId === 'one');
      expect(phaseOne.map((a) => a.status)).toEqual(['succeeded', 'succeeded']);
      const requestsBefore = new Map(phaseOne.map((a) => [a.id, model.server.messageRequests(a.sessionId).length]));
      const leftoverPids = (await store.listAttempts(runId))
        .filter((a) => a.status === 'running' && a.pid !== undefined)
        .map((a) => a.pid!);
      expect(leftoverPids).toHaveLength(2);

      // As if orchestrated on another host: its pid says nothing here, its heartbeat does. Heard from
      // lately, it may be alive: resuming would make two orchestrators, so it is refused …
      const killed = (await store.getRun(runId))!;
      expect(killed.aliveAt).toBeGreaterThanOrEqual(killed.startedAt!);
      await store.saveRun({ ...killed, host: 'build-7' });
      const refused = await runCli(['run', '--resume', runId], { env: env() });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`Run ${runId} is running on build-7 (pid ${killed.pid}), last heard from`);
      expect((await runCli(['status', runId], { env: env() })).stdout).not.toContain('interrupted');
      // … and once it has been silent for a minute it reads as interrupted, and resumes.
      await store.markRunAlive(runId, Date.now() - 61_000);
      expect((await runCli(['status', runId], { env: env() })).stdout).toContain('interrupted');
      const resumed = await runCli(['run', '--resume', runId, '--json'], { env: env() });
      expect(resumed.stderr).not.toMatch(/\n\s+at /);
      expect(resumed.code).toBe(0);
      const summary = JSON.parse(resumed.stdout) as RunSummary;
      expect(summary.runId).toBe(runId);
      expect(summary.status).toBe('succeeded');

      // Every agent's result exists exactly once.
      const after = await store.listAgents(runId);
      expect(after.map((a) => a.id)).toEqual(['first.0', 'first.1', 'second.0', 'second.1', 'third']);
      expect(after.every((a) => a.status === 'succeeded' && a.output)).toBe(true);
      const entries = (await store.listContextEntries({ runId })).entries.filter((e) => e.level === 0);
      // Each agent answered with one Finding line: one fact each, none saved twice …
      expect(
        entries
          .filter((e) => e.agentId)
          .map((e) => e.agentId)
          .sort(),
      ).toEqual(['first.0', 'first.1', 'second.0', 'second.1', 'third']);
      // … and each swarm phase's combined output once.
      expect(entries.filter((e) => !e.agentId).map((e) => e.key)).toEqual(['phase-output/one', 'phase-output/two']);
      // Phase one was not run again: its sessions got no new model requests.
      for (const agent of phaseOne) {
        expect(model.server.messageRequests(agent.sessionId).length).toBe(requestsBefore.get(agent.id));
        expect((await store.getAgent(runId, agent.id))?.finishedAt).toBe(agent.finishedAt);
      }
      // The interrupted agents continued their own sessions, after an attempt marked as lost.
      for (const id of ['second.0', 'second.1']) {
        const attempts = await store.listAttempts(runId, id);
        expect(attempts.map((a) => `${a.attempt}:${a.status}`)).toEqual(['1:failed', '2:succeeded']);
        expect(attempts[0]!.error?.code).toBe('BATON_ORCHESTRATOR_LOST');
      }
      // What the dead orchestrator left running was stopped.
      const alive = processesWithEnv(model.home.dir).filter((pid) => leftoverPids.includes(pid));
      expect(alive).toEqual([]);
      expect((await store.getRun(runId))?.resumes).toBe(1);
    } finally {
      orchestrator.kill('SIGKILL');
      await store.close();
    }
  });

  it('refuses to resume a run that already succeeded, or does not exist, with a clear error', async () => {
    const missing = await runCli(['run', '--resume', 'no-such-run'], { env: env() });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/error BATON_RUN_NOT_FOUND: No run with id no-such-run to resume/);
    const both = await runCli(['run', 'x.yaml', '--resume', 'r'], { env: env() });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/leave out the workflow file/);
  });
});
