import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisStore, openSqliteStore, type MigrationReport } from '../src/store/index.js';
import { runCli } from './support/cli.js';
import { requireProgram } from './support/programs.js';
import { freePort, startRedisServer, type RedisServer } from './support/redis.js';
import { fillSampleStore, readEverything } from './support/sample-store.js';

let server: RedisServer;
let home: string;
beforeAll(async () => {
  server = await startRedisServer();
  home = mkdtempSync(join(tmpdir(), 'baton-migrate-e2e-'));
});
afterAll(async () => {
  await server?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

// A throwaway HOME and no inherited BATON_* variables; every command names its data dir.
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: home,
  ...extra,
});
const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { env: env(extra) });
let dirs = 0;
const dataDir = (): string => join(home, `data-${++dirs}`);

async function sampleSqliteStore(): Promise<string> {
  const dir = dataDir();
  const store = openSqliteStore({ dataDir: dir });
  await fillSampleStore(store);
  await store.close();
  return dir;
}

describe.runIf(requireProgram('redis-server'))('baton migrate', () => {
  it('moves a SQLite store to Redis and back without loss; baton then reads Redis when redis_url is set', async () => {
    const original = await sampleSqliteStore();
    const redisUrl = `${server.url}/1`;

    const toRedis = await cli([
      'migrate',
      '--from',
      'sqlite',
      '--to',
      'redis',
      '--redis-url',
      redisUrl,
      '--data-dir',
      original,
      '--json',
    ]);
    expect(toRedis.stderr).toBe('');
    expect(toRedis.code).toBe(0);
    const report = JSON.parse(toRedis.stdout) as MigrationReport;
    expect(report).toMatchObject({ from: `sqlite (${original})`, to: `redis (${redisUrl})`, corrupt: [] });
    expect(report.copied).toEqual({
      runs: 2,
      phases: 4,
      agents: 4,
      attempts: 6,
      toolCalls: 4,
      sessions: 5,
      contextEntries: 5,
      auditEvents: 4,
    });
    expect(report.verified.contextChecksums).toBe(5);

    // Any command now uses Redis when redis_url is set, whatever data_dir holds.
    const runs = await cli(['runs', '--json', '--data-dir', dataDir()], { BATON_REDIS_URL: redisUrl });
    expect(runs.code).toBe(0);
    expect((JSON.parse(runs.stdout) as Array<{ runId: string }>).map((r) => r.runId)).toEqual(['run-b', 'run-a']);

    // Back to a fresh SQLite store, taking the Redis side from redis_url.
    const copy = dataDir();
    const back = await cli(['migrate', '--from', 'redis', '--to', 'sqlite', '--data-dir', copy], {
      BATON_REDIS_URL: redisUrl,
    });
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(/Migrated redis \(redis:\/\/127\.0\.0\.1:\d+\/1\) → sqlite/);
    expect(back.stdout).toContain('5 context checksums match');

    const before = openSqliteStore({ dataDir: original });
    const after = openSqliteStore({ dataDir: copy });
    const { audit: auditBefore, ...restBefore } = await readEverything(before);
    const { audit: auditAfter, ...restAfter } = await readEverything(after);
    expect(restAfter).toEqual(restBefore);
    // The audit trail came along, plus one store.migrated event per migration.
    expect(auditAfter).toEqual([
      ...(auditBefore as unknown[]),
      expect.objectContaining({ action: 'store.migrated', target: `sqlite (${original})` }),
      expect.objectContaining({ action: 'store.migrated', target: `redis (${redisUrl})` }),
    ]);
    await Promise.all([before.close(), after.close()]);

    // Running the first migration again copies nothing twice.
    const again = await cli([
      'migrate',
      '--from',
      'sqlite',
      '--to',
      'redis',
      '--redis-url',
      redisUrl,
      '--data-dir',
      original,
    ]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /copied: +0 runs, 0 phases, 0 agents, 0 attempts, 0 tool calls, 0 sessions, 0 context entries, 0 audit events/,
    );
    expect(again.stdout).toMatch(/already there: +2 runs/);
  });

  it('refuses to overwrite a different run in the target, writing nothing', async () => {
    const original = await sampleSqliteStore();
    const redisUrl = `${server.url}/2`;
    const target = await openRedisStore({ url: redisUrl });
    await target.saveRun({
      id: 'run-a',
      workflowName: 'something else',
      tenant: 'default',
      workflow: {},
      status: 'running',
      createdAt: 1,
    });
    const { code, stderr } = await cli([
      'migrate',
      '--from',
      'sqlite',
      '--to',
      'redis',
      '--redis-url',
      redisUrl,
      '--data-dir',
      original,
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error BATON_MIGRATE_CONFLICT: .*run run-a .*Nothing was written/);
    expect((await target.listRuns()).map((r) => r.id)).toEqual(['run-a']);
    await target.close();
  });

  it('names redis_url, without its password, when Redis is unreachable; asks for a Redis URL when none is given', async () => {
    const port = await freePort();
    const unreachable = await cli(['runs', '--data-dir', dataDir()], {
      BATON_REDIS_URL: `redis://baton:hunter22@127.0.0.1:${port}`,
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(
      new RegExp(
        `^error BATON_REDIS_UNAVAILABLE: Cannot use the Redis store at redis://baton:\\*\\*\\*@127\\.0\\.0\\.1:${port}(/)? \\(redis_url\\)`,
      ),
    );
    expect(unreachable.stderr).not.toContain('hunter22');
    expect(unreachable.stderr).not.toMatch(/\n\s+at /);

    const noUrl = await cli(['migrate', '--from', 'sqlite', '--to', 'redis', '--data-dir', dataDir()]);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/^error BATON_USAGE: .*--redis-url/);

    // A mistyped --data-dir is no empty store to copy: refused, and nothing is created there.
    const mistyped = dataDir();
    const missing = await cli(['migrate', '--from', 'sqlite', '--to', 'redis', '--data-dir', mistyped], {
      BATON_REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error BATON_USAGE: There is no store to migrate at .*baton\.db: check --data-dir/);
    expect(existsSync(mistyped)).toBe(false);

    // A run still going (its orchestrator alive on this host) is not copied half-way.
    const busy = dataDir();
    const store = openSqliteStore({ dataDir: busy });
    await store.saveRun({
      id: 'run-live',
      workflowName: 'w',
      tenant: 'default',
      workflow: {},
      status: 'running',
      createdAt: Date.now(),
      startedAt: Date.now(),
      host: hostname(),
      pid: process.pid,
    });
    await store.close();
    const live = await cli(['migrate', '--from', 'sqlite', '--to', 'redis', '--data-dir', busy], {
      BATON_REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    expect(live.code).toBe(2);
    expect(live.stderr).toMatch(/^error BATON_USAGE: Run run-live is going; migrate with no runs going/);
  });
});
