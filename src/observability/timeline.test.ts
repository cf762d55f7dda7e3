import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import { emptyUsage } from '../core/index.js';
import type { RunRecord } from '../store/index.js';
import { agentTimeline, formatTimeline } from './timeline.js';

const temp = useTempStore('baton-timeline-');

/** A run stored `running`, with one agent whose first attempt was inside a Bash call when `orchestrator` stopped. */
async function runCutOffInATool(orchestrator: Pick<RunRecord, 'pid' | 'host'>): Promise<void> {
  const { store } = temp;
  // Now: a live orchestrator started before it (a pid that started after would be a reused one).
  const startedAt = Date.now();
  const at = { runId: 'r1', agentId: 'builder', attempt: 1 };
  await store.saveRun({
    id: 'r1',
    workflowName: 'w',
    tenant: 'default',
    workflow: {},
    status: 'running',
    createdAt: startedAt,
    startedAt,
    ...orchestrator,
  });
  await store.saveAgent({
    runId: 'r1',
    phaseId: 'build',
    id: 'builder',
    sessionId: 's-builder',
    status: 'running',
    prompt: 'build it',
    systemPrompt: '',
    usage: emptyUsage(),
    costUsd: 0,
    turns: 1,
    attempts: 1,
    durationMs: 0,
    startedAt,
  });
  await store.saveAttempt({
    ...at,
    status: 'running',
    resumed: false,
    startedAt,
    durationMs: 0,
    costUsd: 0,
    usage: emptyUsage(),
  });
  await store.saveToolCall({
    ...at,
    seq: 1,
    toolUseId: 'toolu_1',
    name: 'Bash',
    turn: 1,
    startedAt: startedAt + 10,
    status: 'running',
    inputPreview: 'npm test',
  });
}

describe('agentTimeline (`baton status <run> --agent <id>`)', () => {
  it('shows what a dead orchestrator left running (agent, attempt, tool call) as interrupted, and changes nothing stored', async () => {
    // A pid of this host that has exited: the orchestrator is gone.
    await runCutOffInATool({ pid: spawnSync(process.execPath, ['-e', '0']).pid, host: hostname() });
    const timeline = await agentTimeline(temp.store, 'r1', 'builder');
    expect(timeline.status).toBe('interrupted');
    expect(timeline.attempts.map((a) => [a.status, a.toolCalls.map((c) => c.status)])).toEqual([
      ['interrupted', ['interrupted']],
    ]);
    const text = formatTimeline(timeline);
    expect(text).toContain('Agent builder (phase build, run r1): interrupted');
    expect(text).toContain('Attempt 1: interrupted');
    expect(text).toMatch(/turn 1 {2}Bash {2}interrupted {2}interrupted/);
    expect(text).not.toContain('running');
    expect((await temp.store.listAttempts('r1', 'builder'))[0]!.status).toBe('running');
  });

  it('shows them running while the orchestrator lives', async () => {
    await runCutOffInATool({ pid: process.pid, host: hostname() });
    const timeline = await agentTimeline(temp.store, 'r1', 'builder');
    expect(timeline.status).toBe('running');
    expect(timeline.attempts[0]!.status).toBe('running');
    expect(timeline.attempts[0]!.toolCalls[0]!.status).toBe('running');
  });
});
