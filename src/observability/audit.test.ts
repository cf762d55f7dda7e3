import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import { RunEvents } from '../orchestrator/index.js';
import { AuditTrail } from './audit.js';

let now = 1_000_000;
const temp = useTempStore('baton-audit-');

describe('audit trail', () => {
  const trail = () => new AuditTrail(temp.store, { actor: 'ann@box', retentionMs: 1000, clock: { now: () => now } });

  it('records a config change only when the effective config differs, naming the keys', async () => {
    await trail().recordConfig({ parallel_limit: 5, max_retries: 2 }, ['defaults']);
    await trail().recordConfig({ parallel_limit: 5, max_retries: 2 }, ['defaults']);
    await trail().recordConfig({ parallel_limit: 8, max_retries: 2 }, ['defaults', 'env BATON_PARALLEL_LIMIT']);
    const changes = await temp.store.listAuditEvents({ action: 'config.changed' });
    expect(changes.map((c) => c.details.keys)).toEqual([['max_retries', 'parallel_limit'], ['parallel_limit']]);
    expect(changes[1]).toMatchObject({
      actor: 'ann@box',
      details: { sources: ['defaults', 'env BATON_PARALLEL_LIMIT'] },
    });
  });

  it('drops entries older than the retention', async () => {
    const audit = trail();
    await audit.record('run.started', 'r1');
    now += 5000;
    await audit.record('run.started', 'r2');
    expect(await audit.prune()).toBe(1);
    expect((await temp.store.listAuditEvents()).map((e) => e.target)).toEqual(['r2']);
  });

  it("records every budget warning and stop with its limit: the run's USD, the tenant's tokens, one agent's cap", async () => {
    const events = new RunEvents();
    const audit = trail();
    const off = audit.watchRun(events);
    const spent = { runId: 'r9', spentUsd: 0.3, spentTokens: 900 };
    events.emit('budget.warning', { ...spent, limit: 'tokens', budgetTokens: 1000 });
    events.emit('budget.exceeded', { ...spent, limit: 'agent', agentId: 'spender', budgetUsd: 0.25 });
    events.emit('budget.exceeded', { ...spent, limit: 'usd', budgetUsd: 0.3 });
    off();
    await audit.flush();
    const budget = (await temp.store.listAuditEvents({})).filter((e) => e.action.startsWith('budget.'));
    expect(budget.map((e) => [e.action, e.target, e.details])).toEqual([
      ['budget.warning', 'r9', { spentUsd: 0.3, spentTokens: 900, limit: 'tokens', budgetTokens: 1000 }],
      [
        'budget.exceeded',
        'r9',
        { spentUsd: 0.3, spentTokens: 900, limit: 'agent', agentId: 'spender', budgetUsd: 0.25 },
      ],
      ['budget.exceeded', 'r9', { spentUsd: 0.3, spentTokens: 900, limit: 'usd', budgetUsd: 0.3 }],
    ]);
  });
});
