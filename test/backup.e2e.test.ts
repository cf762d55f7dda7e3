import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/store/index.js';
import { runCli } from './support/cli.js';
import { fillSampleStore } from './support/sample-store.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-backup-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const dataDir = join(dir, 'data');
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, BATON_DATA_DIR: dataDir };

interface DoctorReport {
  ok: boolean;
  findings: Array<{ ok: boolean; what: string; detail: string }>;
}
async function doctor(): Promise<{ code: number | null; report: DoctorReport }> {
  const result = await runCli(['doctor', '--json'], { env });
  return { code: result.code, report: JSON.parse(result.stdout) as DoctorReport };
}

describe('baton backup, restore and doctor', () => {
  it('backs up, detects deliberate corruption, restores, and lists a dead orchestrator’s run', async () => {
    const store = openSqliteStore({ dataDir });
    await fillSampleStore(store);
    // A run whose orchestrator died: recorded running, with the pid of a process that has exited.
    const deadPid = spawnSync('true').pid;
    await store.saveRun({
      id: 'run-orphaned',
      workflowName: 'ship',
      tenant: 'default',
      workflow: { version: 1, name: 'ship', phases: [] },
      status: 'running',
      createdAt: Date.now(),
      pid: deadPid,
      host: hostname(),
      priority: 0,
    });
    await store.close();

    const healthy = await doctor();
    expect(healthy.report.findings.find((f) => f.what === 'store')).toMatchObject({ ok: true });
    expect(healthy.report.findings.find((f) => f.what === 'claude')).toMatchObject({ ok: true });
    expect(healthy.report.findings.find((f) => f.what === 'run')?.detail).toMatch(
      new RegExp(`run-orphaned: orchestrator \\(pid ${deadPid}\\) is gone; no agent process left`),
    );

    const backup = await runCli(['backup'], { env });
    expect(backup.code).toBe(0);
    const file = /Backed up the store to (\S+)/.exec(backup.stdout)![1]!;

    const db = new Database(join(dataDir, 'baton.db'));
    db.prepare("UPDATE context_entries SET content = 'forged'").run();
    db.close();
    const damaged = await doctor();
    expect(damaged.code).toBe(1);
    expect(damaged.report.findings.find((f) => f.what === 'store')).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/context entries do not match their checksums/),
    });

    const refused = await runCli(['restore', join(dir, 'missing.bak')], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error BATON_BACKUP_INVALID: .*nothing was restored/);

    const restored = await runCli(['restore', file], { env });
    expect(restored.code).toBe(0);
    expect(restored.stdout).toMatch(/the store it replaced is kept at /);
    const after = await doctor();
    expect(after.report.findings.find((f) => f.what === 'store')).toMatchObject({ ok: true });
  });

  it('a command on a damaged store file is BATON_STORE naming the newest backup, and the restore it prints brings the runs back', async () => {
    const { stdout: before } = await runCli(['runs', '--json'], { env });
    const backup = await runCli(['backup'], { env });
    expect(backup.code, backup.stderr).toBe(0);
    const path = join(dataDir, 'baton.db');
    const bytes = readFileSync(path);
    bytes.fill(0x5a, 4096, bytes.length);
    writeFileSync(path, bytes);
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });

    const status = await runCli(['runs'], { env });
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/^error BATON_STORE: The store .*baton\.db is damaged/);
    expect(status.stderr).not.toMatch(/\n\s+at /);
    const restore = /baton restore (\S+)/.exec(status.stderr)?.[1];
    expect(restore).toBeDefined();
    // The damaged store is no backup to take: refused, and the sound one stays.
    expect((await runCli(['backup'], { env })).code).toBe(1);
    expect((await runCli(['restore', restore!], { env })).code).toBe(0);
    expect((await runCli(['runs', '--json'], { env })).stdout).toBe(before);
  });
});
