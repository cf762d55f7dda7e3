import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/store/index.js';
import { runCli } from './support/cli.js';
import { fillSampleStore } from './support/sample-store.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-tenant-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, BATON_DATA_DIR: join(dir, 'data') };
const cli = (...args: string[]) => runCli(args, { env });

beforeAll(async () => {
  // Two runs: run-a of tenant default, run-b of tenant team-b, each with sessions and context.
  const store = openSqliteStore({ dataDir: env.BATON_DATA_DIR });
  await fillSampleStore(store);
  // Recent audit events (the sample's are older than the retention `baton audit` prunes to).
  const at = Date.now() - 60_000;
  await store.saveAuditEvent({ at, actor: 'ann@ci', action: 'run.started', target: 'run-a', details: {} });
  await store.saveAuditEvent({ at, actor: 'bob@ci', action: 'approval.requested', target: 'run-b', details: {} });
  await store.saveAuditEvent({ at, actor: 'bob@ci', action: 'run.finished', target: 'run-b', details: {} });
  await store.saveAuditEvent({ at, actor: 'ann@ci', action: 'config.changed', details: { keys: ['parallel_limit'] } });
  await store.close();
});

describe("the CLI's session and context reads take --tenant, and show that tenant's runs only", () => {
  it('sessions list and show', async () => {
    const listed = await cli('sessions', 'list', '--tenant', 'team-b', '--json');
    expect(listed.code).toBe(0);
    const sessions = JSON.parse(listed.stdout) as Array<{ id: string; runId: string }>;
    expect(sessions.map((s) => s.runId)).toEqual(['run-b', 'run-b']);
    expect(JSON.parse((await cli('sessions', 'list', '--json')).stdout)).toHaveLength(5);

    const own = await cli('sessions', 'show', 'session-run-b-planner', '--tenant', 'team-b', '--json');
    expect(own.code).toBe(0);
    expect(JSON.parse(own.stdout)).toMatchObject({ session: { id: 'session-run-b-planner', runId: 'run-b' } });
    // Another tenant's session reads as an unknown one.
    const other = await cli('sessions', 'show', 'session-run-a-planner', '--tenant', 'team-b');
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('BATON_SESSION_NOT_FOUND');
    expect(other.stdout).not.toContain('run-a');
    expect((await cli('sessions', 'list', '--tenant', '../x')).code).toBe(2);
  }, 60_000);

  it('context export', async () => {
    const exported = await cli('context', 'export', '--tenant', 'team-b');
    expect(exported.code).toBe(0);
    const data = JSON.parse(exported.stdout) as {
      sessions: Array<{ runId: string }>;
      entries: Array<{ runId: string }>;
      replaced: Array<{ runId: string }>;
    };
    expect(data.entries.length).toBeGreaterThan(0);
    expect(new Set([...data.sessions, ...data.entries, ...data.replaced].map((r) => r.runId))).toEqual(
      new Set(['run-b']),
    );
    // run-a's keyed decision was updated twice: the values it replaced go with run-a's export only.
    const file = join(dir, 'everything.json');
    expect((await cli('context', 'export', '--out', file)).code).toBe(0);
    const everything = JSON.parse(readFileSync(file, 'utf8')) as {
      replaced: Array<{ runId: string; content: string }>;
    };
    expect(everything.replaced.map((r) => [r.runId, r.content])).toEqual([
      ['run-a', 'Use SQLite'],
      ['run-a', 'Use Postgres'],
    ]);
    // Into another store: the values come in as the updates that replaced them, once.
    const other = { ...env, BATON_DATA_DIR: join(dir, 'imported') };
    const imported = await runCli(['context', 'import', file], { env: other });
    expect(imported.stdout).toBe(
      'Imported 5 entries (and 2 values they replaced) and 5 sessions; 0 entries were already there.\n',
    );
    const again = await runCli(['context', 'import', file], { env: other });
    expect(again.stdout).toBe('Imported 0 entries and 0 sessions; 7 entries were already there.\n');
    const otherRun = await cli('context', 'export', '--run', 'run-a', '--tenant', 'team-b');
    expect(otherRun.code).toBe(2);
    expect(otherRun.stdout).toBe('');
  }, 60_000);

  it("audit: a tenant sees the events of its own runs only, not another's nor the operator's", async () => {
    const own = await cli('audit', '--tenant', 'team-b', '--json');
    expect(own.code).toBe(0);
    const events = JSON.parse(own.stdout) as Array<{ action: string; target?: string }>;
    expect(events.map((e) => [e.action, e.target])).toEqual([
      ['approval.requested', 'run-b'],
      ['run.finished', 'run-b'],
    ]);
    const text = await cli('audit', '--tenant', 'team-b', '--action', 'run.started');
    expect(text.stdout).toBe('No audit events in that period.\n');
    expect(JSON.parse((await cli('audit', '--json')).stdout)).toHaveLength(4);
    const bad = await cli('audit', '--tenant', '../x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error BATON_\w+: .*--tenant/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('baton run --resume --tenant', () => {
  it("reads another tenant's run as no run (it continued it as that tenant's, ignoring --tenant)", async () => {
    const resumed = await cli('run', '--resume', 'run-b', '--tenant', 'default');
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain('BATON_RUN_NOT_FOUND');
    expect(resumed.stderr).toContain('No run run-b for tenant default');
  }, 60_000);
});
