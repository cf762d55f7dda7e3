import { describe, expect, it } from 'vitest';
import { agentRecord } from '../../test/support/records.js';
import { useTempStore } from '../../test/support/temp-store.js';
import { DynamicContextAccumulator, extractContext } from '../context/index.js';
import { agentTimeline, formatTimeline } from './timeline.js';

const temp = useTempStore('baton-timeline-');

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
    const text = formatTimeline(timeline);
    expect(text).toContain(`Context (filtered): 2 of ${selected.considered} facts, ${selected.tokens} tokens`);
    expect(text).toContain('[decision] lead (review): Idle timeout raised to 45 minutes');
    expect(text).toContain('Left out, replaced by a newer decision: 1');
    expect(text).toMatch(/- \[decision\] backend \(design\): Sessions now end after 20 minutes idle\.\n\s+replaced by/);
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
