import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
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
});
