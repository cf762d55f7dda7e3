import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { defineWorkflow, run } from '../src/api/index.js';
import { ErrorCodes } from '../src/core/index.js';
import { diskReserveFile, openSqliteStore } from '../src/store/index.js';
import { runCli } from './support/cli.js';
import { useScriptedModel } from './support/scripted-model.js';

const model = useScriptedModel(
  {
    rules: [
      {
        match: { prompt: 'Write the long report' },
        reply: { text: `Report: ${'all is well. '.repeat(25_000)}` },
        sequencePer: 'session',
      },
    ],
    default: { text: 'Short answer.' },
  },
  'baton-disk-full-',
);

const workflow = defineWorkflow({
  version: 1,
  name: 'filling',
  phases: [
    { id: 'first', agents: [{ id: 'short', prompt: 'Say something short' }] },
    { id: 'second', dependsOn: ['first'], agents: [{ id: 'long', prompt: 'Write the long report' }] },
  ],
});

/**
 * The disk fills up once the first phase is done: the store may grow no further than it is then
 * (SQLite's max_page_count, the same SQLITE_FULL a full disk gives), so the long report cannot be saved.
 */
function capStoreWhenFirstPhaseEnds(db: BetterSqlite3.Database) {
  return (event: { type: string; payload: unknown }): void => {
    if (event.type === 'phase.finished' && (event.payload as { phaseId: string }).phaseId === 'first')
      db.pragma(`max_page_count = ${String(db.pragma('page_count', { simple: true }))}`);
  };
}

describe('a disk that fills up mid-run (real claude)', () => {
  it('ends with BATON_DISK_FULL, the run stored and shown as interrupted, and --resume finishes it', async () => {
    const dataDir = join(model.home.dir, 'data');
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: dataDir });
    const store = openSqliteStore({ dataDir });
    const db = (store as unknown as { db: BetterSqlite3.Database }).db;
    let runId = '';
    const failure = await run(workflow, {
      store,
      dataDir,
      env: env as Record<string, string>,
      onEvent: (event) => {
        if (event.type === 'run.started') runId = (event.payload as { runId: string }).runId;
        capStoreWhenFirstPhaseEnds(db)(event);
      },
    }).result.then(
      () => undefined,
      (error: unknown) => error as { code: string; message: string },
    );
    await store.close();
    expect(failure?.code).toBe(ErrorCodes.diskFull);
    expect(failure?.message).toContain(`baton run --resume ${runId}`);
    // The reserve gave back the room for the last write, which stored the run as interrupted.
    expect(existsSync(diskReserveFile(dataDir))).toBe(false);
    const reopened = openSqliteStore({ dataDir });
    expect(await reopened.getRun(runId)).toMatchObject({
      status: 'interrupted',
      error: { code: ErrorCodes.diskFull },
    });
    await reopened.close();

    const status = await runCli(['status', runId], { env });
    expect(status.stdout).toContain(`${runId} (filling): interrupted`);
    expect(status.stdout).toContain(`baton run --resume ${runId}`);
    const runs = await runCli(['runs', '--json'], { env });
    expect((JSON.parse(runs.stdout) as Array<{ runId: string; status: string }>)[0]).toMatchObject({
      runId,
      status: 'interrupted',
    });

    // Space is back: the run continues, keeping the first phase's agent, and makes a new reserve.
    const resumed = await runCli(['run', '--resume', runId, '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: 'succeeded' });
    expect(model.server.messageRequests().filter((r) => r.view!.prompt.includes('Say something short'))).toHaveLength(
      1,
    );
    expect(existsSync(diskReserveFile(dataDir))).toBe(true);
  }, 180_000);

  it('a run whose orchestrator died while running reads as interrupted, and status says to --resume it', async () => {
    const dataDir = join(model.home.dir, 'data-killed');
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: dataDir });
    const store = openSqliteStore({ dataDir });
    // A pid that was this host's and has exited: the orchestrator is gone without a word.
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
    await store.saveRun({
      id: 'run-left-running',
      workflowName: 'filling',
      tenant: 'default',
      workflow,
      status: 'running',
      createdAt: 1,
      startedAt: 1,
      pid: deadPid,
      host: hostname(),
    });
    await store.close();
    const status = await runCli(['status', 'run-left-running'], { env });
    expect(status.stdout).toContain('run-left-running (filling): interrupted');
    expect(status.stdout).toContain('baton run --resume run-left-running');
    const runs = await runCli(['runs'], { env });
    expect(runs.stdout).toMatch(/^run-left-running\s+interrupted\s/m);
  }, 60_000);
});
