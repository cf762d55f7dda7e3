import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { agentRecord } from '../../test/support/records.js';
import { useTempStore } from '../../test/support/temp-store.js';
import type { ApprovalRecord } from '../core/index.js';
import type { AgentStatus } from '../store/index.js';
import { summarizeRun } from './summary.js';

const temp = useTempStore('baton-summary-');

const request = (id: string, extra: Partial<ApprovalRecord>): ApprovalRecord => ({
  id,
  kind: 'tool',
  runId: 'r1',
  summary: 'Bash(git push origin HEAD)',
  requestedAt: 1,
  deadline: 2,
  onTimeout: 'deny',
  status: 'pending',
  ...extra,
});

describe('summarizeRun', () => {
  it('counts as waiting only requests someone can still answer, not those of agents and phases that ended', async () => {
    // A run resumed after --detach-on-wait whose agent finished without asking again (or timed out) left its
    // request pending: `baton status` said "partial, waiting for 2 approval(s)" of a run nobody waits on.
    const { store } = temp;
    await store.saveRun({
      id: 'r1',
      workflowName: 'w',
      tenant: 'default',
      workflow: {},
      status: 'partial',
      createdAt: 1,
    });
    await store.savePhase({ runId: 'r1', id: 'build', status: 'partial' });
    await store.savePhase({ runId: 'r1', id: 'deploy', status: 'cancelled' });
    const agents: Array<[string, AgentStatus]> = [
      ['cleaner', 'succeeded'],
      ['pusher', 'failed'],
      ['stopped', 'cancelled'],
    ];
    for (const [id, status] of agents)
      await store.saveAgent(agentRecord({ runId: 'r1', id, phaseId: 'build', status }));
    await store.saveApproval(request('q1', { agentId: 'cleaner' }));
    await store.saveApproval(request('q2', { agentId: 'pusher' }));
    await store.saveApproval(request('q3', { agentId: 'stopped' }));
    await store.saveApproval(request('g1', { kind: 'phase.before', phaseId: 'build' }));
    await store.saveApproval(request('g2', { kind: 'phase.before', phaseId: 'deploy' }));
    const summary = await summarizeRun(store, 'r1');
    // The cancelled agent and the cancelled phase's gate: a resume picks their answers up.
    expect(summary.waiting).toBe(2);
    expect(summary.phases.flatMap((p) => p.agents).map((a) => [a.id, a.permissions?.asked])).toEqual([
      ['cleaner', 1],
      ['pusher', 1],
      ['stopped', 1],
    ]);
  });

  it("shows what an agent's attempts spent while it runs, and after its orchestrator was killed (its record sums them only at its end)", async () => {
    const { store } = temp;
    // pid 2^22 + 1 is above Linux's pid_max: the run's orchestrator is gone.
    const run = {
      id: 'rk',
      workflowName: 'w',
      tenant: 'default',
      workflow: {},
      status: 'running' as const,
      createdAt: 1,
    };
    await store.saveRun({ ...run, pid: 4_194_305, host: hostname(), startedAt: 1 });
    await store.savePhase({ runId: 'rk', id: 'work', status: 'running' });
    await store.saveAgent(agentRecord({ runId: 'rk', id: 'retried', phaseId: 'work', status: 'running' }));
    await store.saveAgent(agentRecord({ runId: 'rk', id: 'done', phaseId: 'work', status: 'succeeded', costUsd: 0.2 }));
    const usage = { inputTokens: 1_000, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
    const attempt = { runId: 'rk', agentId: 'retried', resumed: false, startedAt: 2, durationMs: 1, usage };
    await store.saveAttempt({ ...attempt, attempt: 1, status: 'failed', costUsd: 0.3 });
    await store.saveAttempt({ ...attempt, attempt: 2, status: 'running', costUsd: 0 });
    const summary = await summarizeRun(store, 'rk');
    expect(summary.status).toBe('interrupted');
    expect(summary.phases[0]!.agents.map((a) => [a.id, a.status, a.costUsd, a.usage.inputTokens])).toEqual([
      ['retried', 'interrupted', 0.3, 2_000],
      ['done', 'succeeded', 0.2, 0],
    ]);
    expect(summary.totals.costUsd).toBeCloseTo(0.5, 10);
  });
});
