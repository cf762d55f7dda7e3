import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineWorkflow, run } from '../src/index.js';
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
