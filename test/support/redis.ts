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
