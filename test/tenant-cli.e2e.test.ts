import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRun, listRuns, usage } from '../src/api/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { runCli } from './support/cli.js';
import { fillSampleStore } from './support/sample-store.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-tenant-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, BATON_DATA_DIR: join(dir, 'data') };
const cli = (...args: string[]) => runCli(args, { env });
const OWN_RUN = 'c0ffee00-1111-4000-8000-00000000000b';
const OTHERS_RUN = 'c0ffee00-2222-4000-8000-00000000000a';

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
  // Two runs whose ids start alike, one per tenant, as UUIDs may: a start names a run among the tenant's only.
  for (const [id, tenant] of [
    [OWN_RUN, 'team-b'],
    [OTHERS_RUN, 'default'],
  ] as const)
    await store.saveRun({
      id,
      workflowName: 'twin',
      tenant,
      workflow: { version: 1 },
      status: 'running',
      createdAt: at,
    });
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
    expect(other.stderr).toContain('List sessions with: baton sessions list --tenant team-b');
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
    // Every command that takes --tenant checks the name: an empty one is not "every tenant".
    for (const args of [
      ['audit', '--tenant', '../x'],
      ['kg', 'query', 'what did agents decide', '--tenant', ''],
      ['kg', 'query', 'what did agents decide', '--tenant', '-bad'],
    ]) {
      const bad = await cli(...args);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(/^error BATON_\w+: .*--tenant/);
      expect(bad.stderr).not.toMatch(/\n\s+at /);
    }
  }, 60_000);
});

describe('reads that find nothing say why', () => {
  it("names the tenant that has no runs, while the store holds others'; refuses an audit action it never records", async () => {
    for (const args of [
      ['status', '--tenant', 'nobody'],
      ['dashboard', '--once', '--tenant', 'nobody'],
    ]) {
      const none = await cli(...args);
      expect(none.code, args.join(' ')).toBe(2);
      expect(none.stderr).toContain(`Tenant nobody has no runs in ${env.BATON_DATA_DIR}.`);
      expect(none.stderr).not.toContain('No runs yet');
    }
    expect((await cli('runs', '--tenant', 'nobody')).stdout).toBe(
      `Tenant nobody has no runs in ${env.BATON_DATA_DIR}.\n`,
    );
    const bogus = await cli('audit', '--action', 'bogus');
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(
      /^error BATON_USAGE: --action bogus is not an audit action\. Use one of: config\.changed, run\.started,/,
    );
    expect(bogus.stderr).toContain('approval.webhook_failed');
    expect(bogus.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('baton run --resume --tenant', () => {
  it("reads another tenant's run as no run (it continued it as that tenant's, ignoring --tenant)", async () => {
    const resumed = await cli('run', '--resume', 'run-b', '--tenant', 'default');
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain('BATON_RUN_NOT_FOUND');
    expect(resumed.stderr).toContain('No run with id run-b for tenant default');
    // Named by the start of its id, as branch names show it, the same.
    const byPrefix = await cli('run', '--resume', 'c0ffee00', '--tenant', 'team-c');
    expect([byPrefix.code, byPrefix.stderr]).toEqual([2, expect.stringContaining('BATON_RUN_NOT_FOUND')]);
  }, 60_000);
});

describe("a tenant's commands that name a run or session never reach, match or name another tenant's", () => {
  it("a run id's start matches the tenant's runs only", async () => {
    const own = await cli('status', 'c0ffee00', '--tenant', 'team-b', '--json');
    expect(own.code, own.stderr).toBe(0);
    expect(JSON.parse(own.stdout)).toMatchObject({ runId: OWN_RUN });
    // The operator sees both, so the start is ambiguous for them.
    expect((await cli('status', 'c0ffee00')).stderr).toContain(OTHERS_RUN);
    // A start only the other tenant's run has is no run, and its full id is not told.
    for (const args of [
      ['status', 'c0ffee00-2222'],
      ['audit', '--run', 'c0ffee00-2222'],
      ['approvals', '--run', 'c0ffee00-2222'],
      ['run', '--resume', 'c0ffee00-2222'],
    ]) {
      const other = await cli(...args, '--tenant', 'team-b');
      expect(`${other.stdout}${other.stderr}`, args.join(' ')).not.toContain(OTHERS_RUN);
    }
  }, 60_000);

  it("cancel, merge and sessions resume|fork take --tenant: the other tenant's run or session is none, and is left alone", async () => {
    const cancel = await cli('cancel', 'c0ffee00-2222', '--tenant', 'team-b');
    expect(cancel.code).toBe(2);
    expect(cancel.stderr).toContain('BATON_RUN_NOT_FOUND');
    expect(cancel.stderr).not.toContain(OTHERS_RUN);
    const merge = await cli('merge', 'run-a', '--tenant', 'team-b');
    expect(merge.code).toBe(2);
    expect(merge.stderr).toContain('BATON_RUN_NOT_FOUND');
    for (const mode of ['resume', 'fork']) {
      const continued = await cli('sessions', mode, 'session-run-a-planner', 'go on', '--tenant', 'team-b');
      expect(continued.code, continued.stderr).toBe(2);
      expect(continued.stderr).toContain('BATON_SESSION_NOT_FOUND');
    }
    const store = openSqliteStore({ dataDir: env.BATON_DATA_DIR });
    try {
      expect(await store.isCancelRequested(OTHERS_RUN)).toBe(false);
      expect((await store.listSessions({ runId: 'run-a' })).map((s) => s.status)).not.toContain('running');
    } finally {
      await store.close();
    }
    // Its own run is cancelled as asked.
    const own = await cli('cancel', 'c0ffee00-1111', '--tenant', 'team-b');
    expect(own.stdout).toContain(`Cancel requested for run ${OWN_RUN}`);
  }, 60_000);

  it('the API reads (listRuns, getRun, usage) take tenant the same way', async () => {
    const where = { dataDir: env.BATON_DATA_DIR, cwd: dir };
    expect((await listRuns({ ...where, tenant: 'team-b' })).map((r) => r.id).sort()).toEqual([OWN_RUN, 'run-b']);
    expect((await listRuns(where)).map((r) => r.id)).toContain(OTHERS_RUN);
    await expect(getRun('run-a', { ...where, tenant: 'team-b' })).rejects.toMatchObject({
      code: 'BATON_RUN_NOT_FOUND',
    });
    expect(await getRun('run-b', { ...where, tenant: 'team-b' })).toMatchObject({ runId: 'run-b' });
    const report = await usage({ ...where, tenant: 'team-b', since: '10000d', by: 'run' });
    expect(report.rows.map((r) => r.key)).not.toContain('run-a');
    await expect(listRuns({ ...where, tenant: '../x' })).rejects.toMatchObject({ code: 'BATON_USAGE' });
  }, 60_000);
});

describe('baton sessions archive', () => {
  it('names each session it was given and did not archive: unknown (exit 2), or archived already', async () => {
    const result = await cli('sessions', 'archive', 'session-orphan', 'no-such-session');
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('Archived 0 session(s).\n');
    expect(result.stderr).toContain('Not archived: session session-orphan is archived already.');
    expect(result.stderr).toContain('BATON_SESSION_NOT_FOUND: No session no-such-session.');
  }, 60_000);
});
