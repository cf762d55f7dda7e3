import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/support/cli.js';
import { requireProgram } from '../../test/support/programs.js';
import { startRedisServer, type RedisServer } from '../../test/support/redis.js';
import { createRedisClient } from './redis-client.js';
import { openRedisStore } from './redis-store.js';

/** Accepts TCP connections and never says a word: a firewall black hole, a wrong service, a stopped Redis. */
let silent: Server;
let silentUrl: string;
const held = new Set<Socket>();
beforeAll(async () => {
  silent = createServer((socket) => held.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `redis://:hunter2secret@127.0.0.1:${(silent.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe('Redis connections', () => {
  it('give up on an endpoint that accepts but never answers: BATON_REDIS_UNAVAILABLE, password hidden', async () => {
    const failure = openRedisStore({ url: silentUrl, connectTimeoutMs: 300 });
    await expect(failure).rejects.toMatchObject({ code: 'BATON_REDIS_UNAVAILABLE' });
    const message = ((await failure.catch((error: unknown) => error)) as Error).message;
    expect(message).toContain('no answer within 300 ms');
    expect(message).not.toContain('hunter2secret');
  });

  it('a command, like baton runs, on such an endpoint fails at once with the code, no stack', async () => {
    const result = await runCli(['runs'], { env: { ...process.env, BATON_REDIS_URL: silentUrl } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('BATON_REDIS_UNAVAILABLE');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stderr + result.stdout).not.toContain('hunter2secret');
  });

  it('never wait for a first answer that does not come', async () => {
    const redis = createRedisClient({ url: silentUrl, commandTimeoutMs: 200, reconnect: () => false });
    // The TCP connection opens; the ready check then times out like any command, and connecting fails.
    await expect(redis.connect()).rejects.toThrow();
    redis.disconnect();
  });
});

describe.runIf(requireProgram('redis-server'))('a Redis outage', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(() => server?.stop());

  it('is one warning for every client of that Redis, and one when it is back; commands wait for it', async () => {
    const warnings: string[] = [];
    const clients = [1, 2, 3].map(() => createRedisClient({ url: server.url, warn: (m) => warnings.push(m) }));
    try {
      await Promise.all(clients.map((client) => client.connect()));
      await server.restart();
      expect(await Promise.all(clients.map((client) => client.ping()))).toEqual(['PONG', 'PONG', 'PONG']);
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toMatch(/^warning: lost Redis at redis:\/\/127\.0\.0\.1:\d+\/?.*; reconnecting/);
      expect(warnings[1]).toMatch(/^Redis at .+ is back$/);
    } finally {
      for (const client of clients) client.disconnect();
    }
  });

  it('gives every command a deadline: a Redis that stops answering fails it', async () => {
    const [paused, pauser] = [
      createRedisClient({ url: server.url, commandTimeoutMs: 200 }),
      createRedisClient({ url: server.url }),
    ];
    try {
      await Promise.all([paused.connect(), pauser.connect()]);
      await pauser.call('CLIENT', 'PAUSE', '1500', 'ALL');
      await expect(paused.ping()).rejects.toThrow(/timed out/i);
    } finally {
      paused.disconnect();
      pauser.disconnect();
    }
  });
});
