import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { redactShapes } from '../core/index.js';

export interface RedisClientOptions {
  url: string;
  /** BullMQ's connections wait on blocking commands with no end: they get no per-command deadline. */
  blocking?: boolean;
  /** Default 3000: the TCP connection, and (see openRedisStore) the first answer. */
  connectTimeoutMs?: number;
  /** Default 40000: the longest any command waits, a Redis restart included (about the reconnect budget). */
  commandTimeoutMs?: number;
  /** Where the one warning per outage goes (default stderr). */
  warn?: (message: string) => void;
  /** Reconnect while this says so (default always). */
  reconnect?: () => boolean;
}

/** ioredis, required on the first client: a run on one machine (SQLite) never pays the ~0.1 CPU-s it takes to load. */
const ioredis = (): typeof import('ioredis') => createRequire(import.meta.url)('ioredis') as typeof import('ioredis');

/** Clients of one Redis that are cut off right now, by URL: an outage is reported once, not per client. */
const downClients = new Map<string, number>();

/**
 * Watches a client's connection: losing it (across every client of that URL) is one warning, and
 * getting it back another; the errors in between are left to the commands they fail. Errors before
 * the first connection are the caller's to report (without any listener ioredis prints each one).
 */
function reportOutages(redis: Redis, where: string, warn: (message: string) => void): void {
  let ready = false;
  let down = false;
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => void (lastError = error));
  redis.on('reconnecting', () => {
    if (!ready || down) return;
    down = true;
    const count = (downClients.get(where) ?? 0) + 1;
    downClients.set(where, count);
    const why = lastError ? ` (${lastError.message})` : '';
    if (count === 1) warn(`warning: lost Redis at ${where}${why}; reconnecting, commands wait for it`);
  });
  redis.on('ready', () => {
    ready = true;
    lastError = undefined;
    if (!down) return;
    down = false;
    const count = (downClients.get(where) ?? 1) - 1;
    if (count > 0) downClients.set(where, count);
    else {
      downClients.delete(where);
      warn(`Redis at ${where} is back`);
    }
  });
}

/** Every Redis connection Baton opens: deadlines on connecting and on each command, outages reported once. */
export function createRedisClient(options: RedisClientOptions): Redis {
  const reconnect = options.reconnect ?? (() => true);
  const redis = new (ioredis().Redis)(options.url, {
    lazyConnect: !options.blocking,
    // RESP2 replies (flat WITHSCORES arrays) on every server version, RESP3-capable or not.
    protocol: 2,
    connectTimeout: options.connectTimeoutMs ?? 3000,
    ...(options.blocking ? { maxRetriesPerRequest: null } : { commandTimeout: options.commandTimeoutMs ?? 40_000 }),
    retryStrategy: (times) => (reconnect() ? Math.min(50 * 2 ** times, 2000) : null),
  });
  reportOutages(redis, redactShapes(options.url), options.warn ?? ((message) => process.stderr.write(`${message}\n`)));
  return redis;
}
