import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli } from './support/cli.js';
import { useScriptedModel } from './support/scripted-model.js';

const model = useScriptedModel(
  {
    rules: [
      {
        match: { prompt: 'Choose the order store' },
        reply: { text: 'Decision[db]: the order store is PostgreSQL 16\nFinding: p95 of the order list is 900 ms.' },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Measure the order list' },
        reply: {
          text: 'Decision: The order store will use PostgreSQL 16.\nFinding: p95 of the order list is 0.9 s.',
        },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Review the order store' },
        reply: { text: 'Decision[db]: the order store is SQLite; PostgreSQL is too much to run' },
        sequencePer: 'script',
      },
    ],
    default: { text: 'Done.' },
  },
  'baton-context-told-',
);

const agentOf = (summary: RunSummary, id: string) => summary.phases.flatMap((p) => p.agents).find((a) => a.id === id)!;

describe('what an agent was told, when facts change after it (real claude agents)', () => {
  it('status --agent shows the keyed decision as the builder was given it; a decision said twice is one line', async () => {
    const workflow = join(model.home.dir, 'later.yaml');
    writeFileSync(
      workflow,
      `version: 1
name: later
context: { superseded: show }
phases:
  - id: design
    agents:
      - { id: architect, prompt: Choose the order store }
      - { id: perf, prompt: Measure the order list }
  - id: build
    dependsOn: [design]
    agents: [{ id: builder, prompt: Build the order list on the order store }]
  - id: review
    dependsOn: [build]
    agents: [{ id: lead, prompt: Review the order store }]
`,
    );
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'data') });
    const { code, stdout } = await runCli(['run', workflow, '--json'], { env });
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    const system = model.server.messageRequests(agentOf(summary, 'builder').sessionId)[0]!.view!.system;
    // The two agents' PostgreSQL decisions and their one measurement (900 ms / 0.9 s) are each one line.
    expect(system.match(/PostgreSQL 16/g)).toHaveLength(1);
    expect(system.match(/900 ms|0\.9 s/g)).toHaveLength(1);
    expect(system).not.toContain('replacing');

    // The reviser ran after the builder: the builder's record shows what it was given.
    const shown = await runCli(['status', summary.runId, '--agent', 'builder'], { env });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(
      /\[decision\] \w+ \(design\): (the order store is|The order store will use) PostgreSQL 16/,
    );
    expect(shown.stdout).not.toContain('SQLite');
    expect(shown.stdout).not.toContain('Left out');
  });
});
