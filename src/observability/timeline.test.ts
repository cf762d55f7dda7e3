import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { agentRecord, saveRunWithToolCalls } from '../../test/support/records.js';
import { useTempStore } from '../../test/support/temp-store.js';
import { DynamicContextAccumulator, extractContext } from '../context/index.js';
import { emptyUsage } from '../core/index.js';
import type { RunRecord } from '../store/index.js';
import { agentTimeline, formatTimeline, formatToolCalls, runToolCalls, type ToolCallFilter } from './timeline.js';

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

describe('an agent timeline', () => {
  it('names the facts the agent was given and the decisions left out for newer ones', async () => {
    const { store } = temp;
    await store.saveRun({
      id: 'run-t',
      workflowName: 'shop',
      tenant: 'default',
      workflow: { version: 1, name: 'shop', phases: [{ id: 'design' }, { id: 'review' }, { id: 'build' }] },
      status: 'running',
      createdAt: 1,
    });
    const acc = new DynamicContextAccumulator({ store, runId: 'run-t', sizeLimitBytes: 1_000_000 });
    await acc.add(
      extractContext({
        text: 'Decision: Sessions now end after 20 minutes idle.\nFinding: Orders are stored in PostgreSQL 15.',
      }),
      { agentId: 'backend', phaseId: 'design', sessionId: 'backend/design' },
    );
    await acc.add(extractContext({ text: 'Decision: Idle timeout raised to 45 minutes after user complaints.' }), {
      agentId: 'lead',
      phaseId: 'review',
      sessionId: 'lead/review',
    });
    const selected = await acc.select({
      phaseIds: ['design', 'review'],
      task: 'Implement the idle session timeout.',
      mode: 'filtered',
      budgetTokens: 2000,
    });
    expect(Object.keys(selected.superseded ?? {})).toHaveLength(1);
    await store.saveAgent(
      agentRecord({
        runId: 'run-t',
        id: 'builder',
        phaseId: 'build',
        context: {
          mode: 'filtered',
          entryIds: selected.entries.map((e) => e.id),
          tokens: selected.tokens,
          considered: selected.considered,
          superseded: selected.superseded!,
        },
      }),
    );

    const timeline = await agentTimeline(store, 'run-t', 'builder');
    expect(timeline.context?.given.map((f) => f.content)).toEqual([
      'Orders are stored in PostgreSQL 15.',
      'Idle timeout raised to 45 minutes after user complaints.',
    ]);
    expect(timeline.context?.superseded).toEqual([
      {
        fact: expect.objectContaining({ agentId: 'backend', content: 'Sessions now end after 20 minutes idle.' }),
        replacedBy: expect.objectContaining({ agentId: 'lead', phaseId: 'review' }),
      },
    ]);
    expect(timeline.context?.supersededShown).toBe(false);
    const text = formatTimeline(timeline);
    expect(text).toContain(`Context (filtered): 2 of ${selected.considered} facts, ${selected.tokens} tokens`);
    expect(text).toContain('[decision] lead (review): Idle timeout raised to 45 minutes');
    expect(text).toContain('Left out, replaced by a newer decision: 1');
    expect(text).toMatch(/- \[decision\] backend \(design\): Sessions now end after 20 minutes idle\.\n\s+replaced by/);
  });

  it('with context.superseded: show, says the replaced decisions were quoted, not left out', async () => {
    const { store } = temp;
    await store.saveRun({
      id: 'run-s',
      workflowName: 'shop',
      tenant: 'default',
      workflow: {
        version: 1,
        name: 'shop',
        context: { superseded: 'show' },
        phases: [
          { id: 'design', agents: [{ id: 'backend', prompt: 'Decide' }] },
          { id: 'build', dependsOn: ['design'], agents: [{ id: 'builder', prompt: 'Build' }] },
        ],
      },
      status: 'running',
      createdAt: 1,
    });
    await store.saveAgent(
      agentRecord({
        runId: 'run-s',
        id: 'builder',
        phaseId: 'build',
        context: { mode: 'filtered', entryIds: ['new'], tokens: 40, considered: 2, superseded: { old: 'new' } },
      }),
    );
    const timeline = await agentTimeline(store, 'run-s', 'builder');
    expect(timeline.context?.supersededShown).toBe(true);
    const text = formatTimeline(timeline);
    expect(text).toContain('Replaced by a newer decision, quoted on its line where the budget had room: 1');
    expect(text).not.toContain('Left out');
    // A summary carries no quotes: what it replaced was left out, whatever the workflow asked.
    await store.saveAgent(
      agentRecord({
        runId: 'run-s',
        id: 'summarised',
        phaseId: 'build',
        context: { mode: 'summary', entryIds: ['digest'], tokens: 40, considered: 2, superseded: { old: 'new' } },
      }),
    );
    const summarised = formatTimeline(await agentTimeline(store, 'run-s', 'summarised'));
    expect(summarised).toContain('Left out, replaced by a newer decision: 1');
    expect(summarised).not.toContain('quoted');
  });

  it('shows a keyed fact as the agent was given it, not as a later agent updated it', async () => {
    const { store } = temp;
    await store.saveRun({
      id: 'run-k',
      workflowName: 'shop',
      tenant: 'default',
      workflow: { version: 1, name: 'shop', phases: [{ id: 'design' }, { id: 'build' }, { id: 'review' }] },
      status: 'running',
      createdAt: 1,
    });
    const acc = new DynamicContextAccumulator({ store, runId: 'run-k', sizeLimitBytes: 1_000_000 });
    const design = { agentId: 'backend', phaseId: 'design', sessionId: 'backend/design' };
    await acc.add(extractContext({ text: 'Decision[db]: the store is PostgreSQL 16' }), design);
    const selected = await acc.select({ phaseIds: ['design'], task: 'Build the store.', mode: 'all', budgetTokens: 0 });
    await store.saveAgent(
      agentRecord({
        runId: 'run-k',
        id: 'builder',
        phaseId: 'build',
        context: {
          mode: 'all',
          entryIds: selected.entries.map((e) => e.id),
          entryVersions: selected.entries.map((e) => e.version),
          tokens: selected.tokens,
          considered: selected.considered,
        },
      }),
    );
    // After the builder ran, a reviewer changed the decision.
    await acc.add(extractContext({ text: 'Decision[db]: the store is SQLite' }), {
      agentId: 'lead',
      phaseId: 'review',
      sessionId: 'lead/review',
    });
    const timeline = await agentTimeline(store, 'run-k', 'builder');
    expect(timeline.context?.given).toEqual([
      expect.objectContaining({ agentId: 'backend', phaseId: 'design', content: 'the store is PostgreSQL 16' }),
    ]);
    expect(formatTimeline(timeline)).toContain('[decision] backend (design): the store is PostgreSQL 16');
  });

  it('shows an entry no longer stored by its id, and an agent recorded without context as before', async () => {
    const { store } = temp;
    await store.saveRun({
      id: 'run-u',
      workflowName: 'w',
      tenant: 'default',
      workflow: { version: 1, name: 'w', phases: [{ id: 'p' }] },
      status: 'running',
      createdAt: 1,
    });
    await store.saveAgent(
      agentRecord({
        runId: 'run-u',
        id: 'a',
        context: { mode: 'all', entryIds: ['gone-1'], tokens: 9, considered: 1 },
      }),
    );
    await store.saveAgent(agentRecord({ runId: 'run-u', id: 'b' }));
    expect(formatTimeline(await agentTimeline(store, 'run-u', 'a'))).toContain(
      'Context (all): 1 fact, 9 tokens\n    - gone-1 (no longer stored)',
    );
    const plain = await agentTimeline(store, 'run-u', 'b');
    expect(plain.context).toBeUndefined();
    expect(formatTimeline(plain)).not.toContain('Context');
  });
});

describe('tool-call filters (`--tool`, `--status`)', () => {
  const names = (calls: Array<{ agentId: string; name: string; status: string }>) =>
    calls.map((c) => `${c.agentId} ${c.name} ${c.status}`);

  it("keep an agent's timeline to the calls of a tool (a name or a glob) and a status", async () => {
    await saveRunWithToolCalls(temp.store, 'r2');
    const calls = async (filter: ToolCallFilter) =>
      names((await agentTimeline(temp.store, 'r2', 'builder', filter)).attempts.flatMap((a) => a.toolCalls));
    expect(await calls({})).toEqual(['builder Bash ok', 'builder mcp__memory__read_graph ok', 'builder Bash error']);
    expect(await calls({ tool: 'Bash' })).toEqual(['builder Bash ok', 'builder Bash error']);
    expect(await calls({ tool: 'mcp__memory__*' })).toEqual(['builder mcp__memory__read_graph ok']);
    expect(await calls({ tool: 'Bash', status: 'error' })).toEqual(['builder Bash error']);
    expect(await calls({ status: 'running' })).toEqual([]);
    const text = formatTimeline(await agentTimeline(temp.store, 'r2', 'builder', { status: 'error' }));
    expect(text).toContain('Attempt 1: failed, 1.00 s, $0.0000, 1 of 3 tool calls (status error)');
  });

  it("list the run's matching calls across its agents, in the order they started", async () => {
    await saveRunWithToolCalls(temp.store, 'r2');
    expect(names(await runToolCalls(temp.store, 'r2', { status: 'error' }))).toEqual([
      'builder Bash error',
      'tester Read error',
    ]);
    const bash = await runToolCalls(temp.store, 'r2', { tool: 'Bash' });
    expect(names(bash)).toEqual(['builder Bash ok', 'builder Bash error', 'tester Bash ok']);
    const text = formatToolCalls('r2', bash, { tool: 'Bash' });
    expect(text.split('\n')[0]).toBe('Tool calls of run r2 (tool Bash): 3');
    expect(text).toMatch(/builder #1 {2}turn 3 {2}Bash {2}error {2}0\.01 s\n +call 3/);
    expect(formatToolCalls('r2', [], { tool: 'Write' })).toBe('Tool calls of run r2 (tool Write): none');
  });
});
