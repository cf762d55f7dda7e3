import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli } from './support/cli.js';
import { useScriptedModel } from './support/scripted-model.js';

// Claude Code offers Glob and Grep only to a session that opts in to them (it otherwise tells the
// model to run `find` and `grep` through Bash, which Baton's default denies). Workflows name them in
// allowedTools, as the demo, `baton init` and the quick start do: they must really run, and still
// pass through Baton's rules.
const model = useScriptedModel(
  {
    rules: [
      {
        match: { prompt: 'Find the notes', turn: 1 },
        sequencePer: 'script' as const,
        reply: { toolUse: { name: 'Glob', input: { pattern: '**/*.txt' } } },
      },
      {
        match: { prompt: 'Find the notes', turn: 2 },
        sequencePer: 'script' as const,
        reply: { toolUse: { name: 'Grep', input: { pattern: 'launch', output_mode: 'content' } } },
      },
      {
        match: { prompt: 'Find the notes', turn: 3 },
        sequencePer: 'script' as const,
        reply: { toolUse: { name: 'Grep', input: { pattern: 'token', path: 'secret', output_mode: 'content' } } },
      },
    ],
    default: { text: 'Finding: done' },
  },
  'baton-search-tools-',
);

describe('Glob and Grep named in allowedTools, on real claude agents', () => {
  it('run for the agent, and a deny rule still stops a search where it must not look', async () => {
    const dir = model.home.dir;
    mkdirSync(join(dir, 'docs'));
    writeFileSync(join(dir, 'docs', 'notes.txt'), 'The launch is on Friday.\n');
    mkdirSync(join(dir, 'secret'));
    writeFileSync(join(dir, 'secret', 'keys.txt'), 'token=hunter2\n');
    writeFileSync(
      join(dir, 'workflow.yaml'),
      [
        'version: 1',
        'name: search-tools',
        'defaults:',
        '  allowedTools: [Read, Glob, Grep]',
        // A rule of Baton's alone (not handed to Claude Code): the search still reaches Baton's gate.
        '  permissions: { deny: ["Read(./secret/**)"] }',
        'phases:',
        '  - id: look',
        '    agents:',
        '      - id: finder',
        '        mcpServers: []',
        '        prompt: Find the notes about the launch.',
        '',
      ].join('\n'),
    );
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(dir, 'data') });
    const run = await runCli(['run', 'workflow.yaml', '--json'], { env, cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    // No SDK warning that an allow-list entry would shadow Baton's gate.
    expect(run.stderr).not.toMatch(/Warning|CAN_USE_TOOL_SHADOWED/);
    const summary = JSON.parse(run.stdout) as RunSummary;
    const agent = summary.phases[0]!.agents[0]!;
    const told = model.server.messageRequests(agent.sessionId).map((r) => r.view!.last);
    expect(told).toHaveLength(4);
    expect(told[1]).toContain(join('docs', 'notes.txt'));
    expect(told[2]).toContain('The launch is on Friday.');
    expect(told[3]).toContain('Read(./secret/**)');
    expect(told.join('\n')).not.toContain('hunter2');
  }, 240_000);

  it('let the demo agents search the demo project: the inventory answers from the files Glob found; the memory is kept in data_dir', async () => {
    const env = model.home.cliEnv(model.url, {});
    delete env.ANTHROPIC_BASE_URL; // the demo starts its own scripted model
    delete env.ANTHROPIC_API_KEY;
    const dataDir = join(model.home.dir, 'demo-data');
    const demo = await runCli(['demo', '--json', '--data-dir', dataDir], { env });
    expect(demo.code, demo.stderr).toBe(0);
    const agents = (JSON.parse(demo.stdout) as RunSummary).phases.flatMap((p) => p.agents);
    // Its script answers only once a tool result names cart.js; else the default reply, "OK".
    expect(agents.find((a) => a.id === 'inventory')!.result).toBe(
      'src/cart.js: cart totals and discounts. src/format.js: money formatting.',
    );
    // The writer's memory is in the run's data_dir (${BATON_DATA_DIR}), private to the user, not in /tmp.
    expect(readFileSync(join(dataDir, 'demo-memory.json'), 'utf8')).toContain('"name":"cart-review"');
  }, 240_000);
});
