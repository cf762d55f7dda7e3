import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type Store } from '../store/index.js';
import { AuditTrail } from './audit.js';

let dir: string;
let store: Store;
let now = 1_000_000;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-audit-'));
  store = openSqliteStore({ dataDir: dir });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('audit trail', () => {
  const trail = () => new AuditTrail(store, { actor: 'ann@box', retentionMs: 1000, clock: { now: () => now } });

  it('records a config change only when the effective config differs, naming the keys', async () => {
    await trail().recordConfig({ parallel_limit: 5, max_retries: 2 }, ['defaults']);
    await trail().recordConfig({ parallel_limit: 5, max_retries: 2 }, ['defaults']);
    await trail().recordConfig({ parallel_limit: 8, max_retries: 2 }, ['defaults', 'env BATON_PARALLEL_LIMIT']);
    const changes = await store.listAuditEvents({ action: 'config.changed' });
    expect(changes.map((c) => c.details.keys)).toEqual([['max_retries', 'parallel_limit'], ['parallel_limit']]);
    expect(changes[1]).toMatchObject({ actor: 'ann@box', details: { sources: ['defaults', 'env BATON_PARALLEL_LIMIT'] } });
  });

  it('drops entries older than the retention', async () => {
    const audit = trail();
    await audit.record('run.started', 'r1');
    now += 5000;
    await audit.record('run.started', 'r2');
    expect(await audit.prune()).toBe(1);
    expect((await store.listAuditEvents()).map((e) => e.target)).toEqual(['r2']);
  });
});
