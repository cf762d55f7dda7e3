import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireProgram } from '../../test/support/programs.js';
import { freePort, startRedisServer, type RedisServer } from '../../test/support/redis.js';
import { openRedisStore, redactRedisUrl, REDIS_LAYOUT_VERSION, type RedisStore } from './redis-store.js';
import type { BatonError } from '../core/index.js';
import { describeStoreContract } from './store.contract.js';
import type { ContextEntry } from './store.js';

const hasRedis = requireProgram('redis-server');
let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

let prefixes = 0;
/** Each test gets its own key prefix, so nothing one test saved is seen by the next. */
const freshStore = (): Promise<RedisStore> => openRedisStore({ url: server.url, keyPrefix: `test${++prefixes}:` });

describe.runIf(hasRedis)('redis-server', () =>
  describeStoreContract('redis', async () => {
    const store = await freshStore();
    return { store, cleanup: () => store.close() };
  }),
);

const entry = (id: string, content: string, extra: Partial<ContextEntry> = {}): ContextEntry => ({
  id,
  runId: 'r1',
  phaseId: 'p1',
  type: 'finding',
  content,
  tags: [],
  tokens: 3,
  level: 0,
  checksum: '',
  version: 0,
  createdAt: 1,
  updatedAt: 1,
  ...extra,
});

describe.runIf(hasRedis)('RedisStore', () => {
  it('fails at once with BATON_REDIS_UNAVAILABLE naming redis_url, with the password redacted', async () => {
    const port = await freePort(); // nothing listens there
    const url = `redis://baton:s3cret-pass@127.0.0.1:${port}/0`;
    const started = Date.now();
    const failure = await openRedisStore({ url, connectTimeoutMs: 1000 }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'BATON_REDIS_UNAVAILABLE', message: expect.stringContaining('redis_url') });
    expect((failure as Error).message).toContain(`redis://baton:***@127.0.0.1:${port}/0`);
    expect((failure as Error).message).not.toContain('s3cret-pass');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses a Redis whose Baton keys were written by a newer layout', async () => {
    const store = await freshStore();
    const prefix = `test${prefixes}:`;
    await store.client.hset(`${prefix}meta`, 'layout', String(REDIS_LAYOUT_VERSION + 1));
    await store.close();
    await expect(openRedisStore({ url: server.url, keyPrefix: prefix })).rejects.toMatchObject({
      code: 'BATON_STORE',
      message: expect.stringMatching(/newer than this Baton knows.*Upgrade Baton/),
    });
  });

  it('re-indexes the context of a store an older layout wrote (stems of its own) when it opens it', async () => {
    const store = await freshStore();
    const prefix = `test${prefixes}:`;
    await store.saveContextEntry(entry('e1', 'The status page lists every outage'));
    // What layout 1 left: postings under its own stem ("status", where Porter gives "statu"), and its mark.
    const [oldTerm, newTerm] = ['status', 'statu'].map((term) => `${prefix}run:r1:context:term:${term}`);
    const indexed = (await store.client.hget(`${prefix}context:entry:e1`, 'idx'))!;
    await store.client.rename(newTerm!, oldTerm!);
    await store.client.hset(`${prefix}context:entry:e1`, 'idx', indexed.replace(newTerm!, oldTerm!));
    await store.client.hset(`${prefix}meta`, 'layout', '1');
    expect(await store.searchContext({ runId: 'r1', text: 'status', limit: 5 })).toEqual([]);
    await store.close();

    const reopened = await openRedisStore({ url: server.url, keyPrefix: prefix });
    const hits = await reopened.searchContext({ runId: 'r1', text: 'status', limit: 5 });
    expect(hits.map((h) => h.entry.id)).toEqual(['e1']);
    expect(await reopened.client.exists(oldTerm!)).toBe(0);
    expect(await reopened.client.hget(`${prefix}meta`, 'layout')).toBe(String(REDIS_LAYOUT_VERSION));
    await reopened.close();
  });

  it('keeps fields it does not know about, so records added to later round-trip unchanged', async () => {
    const store = await freshStore();
    const run = {
      id: 'r1',
      workflowName: 'wf',
      tenant: 't',
      workflow: {},
      status: 'running' as const,
      createdAt: 1,
      shard: { zone: 'eu', weight: 0.5 },
    };
    await store.saveRun(run);
    expect(await store.getRun('r1')).toEqual(run);
    await store.close();
  });

  it('moves a run between status and tenant listings when it is saved again', async () => {
    const store = await freshStore();
    const run = { id: 'r1', workflowName: 'wf', tenant: 'a', workflow: {}, status: 'running' as const, createdAt: 1 };
    await store.saveRun(run);
    await store.saveRun({ ...run, status: 'succeeded', tenant: 'b' });
    expect(await store.listRuns({ status: 'running' })).toEqual([]);
    expect(await store.listRuns({ tenant: 'a' })).toEqual([]);
    expect((await store.listRuns({ status: 'succeeded', tenant: 'b' })).map((r) => r.id)).toEqual(['r1']);
    await store.close();
  });

  it('detects a context entry changed outside Baton and does not serve it', async () => {
    const store = await freshStore();
    const good = await store.saveContextEntry(entry('good', 'intact fact'));
    await store.saveContextEntry(entry('bad', 'the deploy window is Tuesday'));
    const key = `test${prefixes}:context:entry:bad`;
    const json = (await store.client.hget(key, 'json'))!;
    await store.client.hset(key, 'json', json.replace('Tuesday', 'Friday'));
    await expect(store.getContextEntry('bad')).rejects.toMatchObject({
      code: 'BATON_CONTEXT_CORRUPT',
      message: expect.stringContaining('bad'),
    });
    expect(await store.listContextEntries({ runId: 'r1' })).toEqual({ entries: [good], corrupt: ['bad'] });
    expect(await store.searchContext({ runId: 'r1', text: 'deploy window', limit: 5 })).toEqual([]);
    // Not even JSON any more: still reported by id, never thrown at a listing.
    await store.client.hset(key, 'json', '{"trunc');
    expect((await store.listContextEntries({ runId: 'r1' })).corrupt).toEqual(['bad']);
    await store.close();
  });

  it('lets exactly one of many concurrent writers of a new key win; the others get BATON_CONTEXT_CONFLICT', async () => {
    const store = await freshStore();
    const writers = Array.from({ length: 20 }, (_, i) =>
      store.saveContextEntry(entry(`w${i}`, `writer ${i}`, { key: 'decision/db', type: 'decision' }), {
        expectedVersion: 0,
      }),
    );
    const outcomes = await Promise.allSettled(writers);
    const winners = outcomes.filter((o) => o.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    const losers = outcomes.filter((o) => o.status === 'rejected');
    expect(losers.map((o) => (o.reason as BatonError).code)).toEqual(
      Array<string>(losers.length).fill('BATON_CONTEXT_CONFLICT'),
    );
    const stored = await store.getContextEntryByKey('r1', 'decision/db');
    expect(stored).toEqual((winners[0] as PromiseFulfilledResult<ContextEntry>).value);
    expect((await store.listContextEntries({ runId: 'r1' })).entries).toHaveLength(1);
    await store.close();
  });

  it('re-indexes a keyed entry that moved phase, so searches and listings follow it', async () => {
    const store = await freshStore();
    const first = await store.saveContextEntry(
      entry('k1', 'Postgres is the database', { key: 'decision/db', phaseId: 'design' }),
    );
    await store.saveContextEntry(
      { ...first, content: 'Redis holds the queue', phaseId: 'build' },
      { expectedVersion: 1 },
    );
    expect(await store.listContextEntries({ runId: 'r1', phaseIds: ['design'] })).toEqual({ entries: [], corrupt: [] });
    expect(
      (await store.listContextEntries({ runId: 'r1', phaseIds: ['build'] })).entries.map((e) => e.version),
    ).toEqual([2]);
    expect(await store.searchContext({ runId: 'r1', text: 'postgres database', limit: 5 })).toEqual([]);
    expect(
      (await store.searchContext({ runId: 'r1', text: 'queue', phaseIds: ['build'], limit: 5 })).map((h) => h.entry.id),
    ).toEqual(['k1']);
    await store.close();
  });

  it('keeps its data across a redis-server restart, and reconnects by itself', async () => {
    const store = await freshStore();
    await store.saveRun({
      id: 'r1',
      workflowName: 'wf',
      tenant: 'default',
      workflow: {},
      status: 'running',
      createdAt: 1,
    });
    await store.saveContextEntry(entry('e1', 'payments API allows 100 requests per minute'));
    await server.restart();
    expect((await store.getRun('r1'))?.status).toBe('running');
    // The script cache is empty after a restart: scripts are loaded again as needed.
    expect(await store.requestCancel('r1')).toBe(true);
    expect(
      (await store.searchContext({ runId: 'r1', text: 'payments requests', limit: 5 })).map((h) => h.entry.id),
    ).toEqual(['e1']);
    await store.close();
  });

  it('redacts only the password of a URL it shows', () => {
    expect(redactRedisUrl('rediss://user:pw@redis.example:6380/2')).toBe('rediss://user:***@redis.example:6380/2');
    expect(redactRedisUrl('redis://localhost:6379')).toBe('redis://localhost:6379');
  });
});
