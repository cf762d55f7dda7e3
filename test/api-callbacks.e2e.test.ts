import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineWorkflow, getRun, listRuns, run } from '../src/index.js';
import { processesWithEnv } from './support/processes.js';
import { useScriptedModel } from './support/scripted-model.js';

const model = useScriptedModel({ rules: [], default: { text: 'Finding: done' } }, 'baton-api-callbacks-');

describe('an onEvent callback that throws (a bug in the caller’s code)', () => {
  it('does not break the run: every agent finishes, and the error is told to onNotice', async () => {
    const notices: string[] = [];
    const seen: string[] = [];
    const handle = run(
      defineWorkflow({
        version: 1,
        name: 'callback-bug',
        phases: [
          {
            id: 'p',
            agents: [
              { id: 'a', prompt: 'hi', mcpServers: [] },
              { id: 'b', prompt: 'hi', mcpServers: [] },
            ],
          },
        ],
      }),
      {
        config: { data_dir: join(model.home.dir, 'data') },
        env: model.home.agentEnv(model.url),
        cwd: model.home.dir,
        onNotice: (message) => notices.push(message),
        onEvent: (event) => {
          seen.push(event.type);
          if (event.type === 'agent.started') throw new Error('bug in my dashboard');
        },
      },
    );
    const summary = await handle.result;
    expect(summary.status).toBe('succeeded');
    expect(summary.phases[0]!.agents.map((agent) => `${agent.id}:${agent.status}`)).toEqual([
      'a:succeeded',
      'b:succeeded',
    ]);
    // Later events still reach the callback, and each throw is told once, naming the event.
    expect(seen.at(-1)).toBe('run.finished');
    expect(notices.filter((n) => n.includes('bug in my dashboard'))).toEqual([
      'onEvent threw on agent.started: bug in my dashboard (the run goes on)',
      'onEvent threw on agent.started: bug in my dashboard (the run goes on)',
    ]);
    expect(processesWithEnv(model.home.dir)).toEqual([]);
  }, 240_000);
});

describe('a handle.events listener that throws', () => {
  it('fails the run, and its agents end as in any failed run: none left running, no claude left behind', async () => {
    const access = { dataDir: join(model.home.dir, 'data-listener') };
    const handle = run(
      defineWorkflow({
        version: 1,
        name: 'listener-bug',
        phases: [
          { id: 'p', agents: [{ id: 'a', prompt: 'hi', count: 2, mcpServers: [] }] },
          { id: 'q', dependsOn: ['p'], agents: [{ id: 'b', prompt: 'hi', mcpServers: [] }] },
        ],
      }),
      { config: { data_dir: access.dataDir }, env: model.home.agentEnv(model.url), cwd: model.home.dir },
    );
    handle.events.on('agent.started', () => {
      throw new Error('boom');
    });
    expect((await handle.result).status).toBe('failed');
    // What `baton status` reads: every agent ended, each with the listener's error.
    const stored = await getRun((await listRuns(access))[0]!.id, access);
    expect(stored.status).toBe('failed');
    const agents = stored.phases.flatMap((phase) => phase.agents);
    expect(agents).toHaveLength(3);
    // The agent whose start threw failed; the others were stopped with the run (which of a.0 and a.1 starts first varies).
    for (const agent of agents) expect(['failed', 'cancelled']).toContain(agent.status);
    expect(agents.find((agent) => agent.id === 'b')!.status).toBe('cancelled');
    for (const agent of agents)
      expect(agent.error).toEqual({
        code: 'BATON_INTERNAL',
        message: 'a listener of agent.started threw: boom (the run was stopped)',
      });
    expect(processesWithEnv(model.home.dir)).toEqual([]);
  }, 240_000);
});
