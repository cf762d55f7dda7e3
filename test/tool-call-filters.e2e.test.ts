import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentTimeline } from '../src/observability/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { runCli } from './support/cli.js';
import { saveRunWithToolCalls } from './support/records.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-tool-filters-'));
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, BATON_DATA_DIR: join(dir, 'data') };
beforeAll(async () => {
  const store = openSqliteStore({ dataDir: env.BATON_DATA_DIR });
  await saveRunWithToolCalls(store, 'run-filters');
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const status = (...args: string[]) => runCli(['status', 'run-filters', ...args], { env });

describe('baton status --tool / --status: which tool calls to show', () => {
  it("--agent with --tool and --status keeps the agent's timeline to the matching calls", async () => {
    const shown = await status('--agent', 'builder', '--tool', 'Bash', '--status', 'error', '--json');
    expect(shown.code, shown.stderr).toBe(0);
    const timeline = JSON.parse(shown.stdout) as AgentTimeline;
    expect(timeline.attempts.map((a) => [a.toolCalls.map((c) => [c.seq, c.name, c.status]), a.toolCallsMade])).toEqual([
      [[[3, 'Bash', 'error']], 3],
    ]);
  });

  it("without --agent lists the run's matching calls of every agent, as JSON and as text", async () => {
    const json = await status('--status', 'error', '--json');
    expect(json.code, json.stderr).toBe(0);
    const calls = JSON.parse(json.stdout) as Array<{ agentId: string; name: string; status: string }>;
    expect(calls.map((c) => `${c.agentId} ${c.name} ${c.status}`)).toEqual(['builder Bash error', 'tester Read error']);
    const text = await status('--tool', 'mcp__memory__*');
    expect(text.stdout.split('\n')[0]).toBe('Tool calls of run run-filters (tool mcp__memory__*): 1');
    expect(text.stdout).toContain('builder #1  turn 2  mcp__memory__read_graph  ok');
  });

  it.each([
    [
      ['--status', 'failed'],
      "BATON_USAGE: option '--status <status>' argument 'failed' is invalid. Allowed choices are running, ok, error, interrupted.",
    ],
    [['--tool', ' '], 'BATON_USAGE: --tool needs a tool name, or a glob such as "mcp__github__*".'],
  ])('refuses %j with exit 2 saying what it takes, no stack', async (args, message) => {
    const refused = await status(...args);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(message);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });
});
