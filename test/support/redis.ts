import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { openRedisStore, type Store } from '../../src/store/index.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

export { freePort, startRedisServer, type RedisServer } from './redis-server.js';

/**
 * A redis-server for one test file, started before its tests and stopped after. Read `server` inside
 * tests (it is set by beforeAll).
 */
export function useRedisServer(): { server: RedisServer } {
  const current = {} as { server: RedisServer };
  beforeAll(async () => {
    current.server = await startRedisServer();
  });
  afterAll(async () => {
    await current.server?.stop().catch(() => undefined);
  });
  return current;
}

/**
 * A redis-server and a Redis store on it for one test file, started before its tests and stopped
 * after. Read the fields inside tests (they are set by beforeAll).
 */
export function useRedisStore(): { server: RedisServer; store: Store } {
  const current = {} as { server: RedisServer; store: Store };
  beforeAll(async () => {
    current.server = await startRedisServer();
    current.store = await openRedisStore({ url: current.server.url });
  });
  afterAll(async () => {
    await current.store?.close();
    await current.server?.stop();
  });
  return current;
}

/** Every value in a Redis database, by key and type (hashes as objects): to look for what must not be there. */
export async function everyRedisValue(client: Redis): Promise<Array<{ key: string; type: string; value: unknown }>> {
  const read: Record<string, (key: string) => Promise<unknown>> = {
    string: (key) => client.get(key),
    hash: (key) => client.hgetall(key),
    stream: (key) => client.xrange(key, '-', '+'),
    list: (key) => client.lrange(key, '0', '-1'),
    zset: (key) => client.zrange(key, '0', '-1'),
    set: (key) => client.smembers(key),
  };
  const values = [];
  for (const key of await client.keys('*')) {
    const type = await client.type(key);
    values.push({ key, type, value: await read[type]?.(key) });
  }
  return values;
}
