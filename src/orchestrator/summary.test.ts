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
});
