import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { bundledClaude } from '../agents/index.js';
import type { BatonConfig } from '../config/index.js';
import { BatonError, ErrorCodes } from '../core/index.js';
import { backupStore, checkStoreFile, listBackups, restoreStore, storeFileName, type Store } from '../store/index.js';
import { orchestratorHere } from '../orchestrator/index.js';
import { type Output } from './commands.js';
import { effectiveConfig, openConfiguredStore, type StoreOptions } from '../api/index.js';

function requireSqlite(config: BatonConfig, what: string): void {
  if (config.redis_url)
    throw new BatonError(
      ErrorCodes.usage,
      `${what} is for the SQLite store in data_dir; with redis_url set, back Redis up with its own tools (RDB/AOF).`,
    );
}

/** `baton backup`: an online backup of the store into data_dir/backups/ (rotating, keeps backup_keep). */
export async function backupCommand(options: StoreOptions, output: Output): Promise<number> {
  const config = effectiveConfig(options);
  requireSqlite(config, 'baton backup');
  const path = backupStore(config.data_dir, { keep: config.backup_keep, reason: 'manual' });
  output.stdout.write(`Backed up the store to ${path}\n`);
  return 0;
}

/** Runs recorded as running whose orchestrator process on this host is gone. */
async function runsOfDeadOrchestrators(store: Store): Promise<Array<{ id: string; pid: number }>> {
  const running = await store.listRuns({ status: 'running' });
  return running.filter((run) => orchestratorHere(run) === 'gone').map((run) => ({ id: run.id, pid: run.pid! }));
}

/** `baton restore <file>`: checks the backup, keeps the current store, then puts the backup in its place. */
export async function restoreCommand(file: string, options: StoreOptions, output: Output): Promise<number> {
  const config = effectiveConfig(options);
  requireSqlite(config, 'baton restore');
  const live = await liveRuns(config);
  if (live.length > 0)
    throw new BatonError(
      ErrorCodes.usage,
      `Run ${live.join(', ')} is going in a live process; stop it (baton cancel) before restoring the store.`,
    );
  const { keptAs } = restoreStore(config.data_dir, resolve(file), { keep: config.backup_keep });
  output.stdout.write(
    `Restored the store from ${file}${keptAs ? `; the store it replaced is kept at ${keptAs}` : ''}\n`,
  );
  return 0;
}

async function liveRuns(config: BatonConfig): Promise<string[]> {
  const check = checkStoreFile(join(config.data_dir, storeFileName));
  if (check.problems.length > 0) return []; // a damaged store is what restore is for
  const store = await openConfiguredStore(config);
  try {
    const running = await store.listRuns({ status: 'running' });
    return running.filter((run) => orchestratorHere(run) === 'alive').map((r) => r.id);
  } finally {
    await store.close();
  }
}

interface Finding {
  ok: boolean;
  what: string;
  detail: string;
}

/** The `claude` executable agents run: claude_path, else the one shipped with the Agent SDK for this platform. */
function claudeExecutable(config: BatonConfig): string {
  const path = config.claude_path ?? bundledClaude();
  if (path === undefined)
    throw new Error(`the Agent SDK has no claude for ${process.platform}-${process.arch} installed; set claude_path`);
  return path;
}

async function checkClaude(config: BatonConfig): Promise<Finding> {
  try {
    const path = claudeExecutable(config);
    const { stdout } = await promisify(execFile)(path, ['--version'], { timeout: 20_000 });
    return { ok: true, what: 'claude', detail: `${path}: ${stdout.trim()}` };
  } catch (error) {
    return { ok: false, what: 'claude', detail: `cannot run claude: ${(error as Error).message.split('\n')[0]}` };
  }
}

function checkSqlite(config: BatonConfig): Finding {
  const path = join(config.data_dir, storeFileName);
  const check = checkStoreFile(path);
  if (check.problems.length === 1 && check.problems[0]!.endsWith('does not exist'))
    return { ok: true, what: 'store', detail: `${path} does not exist yet (created by the first run)` };
  const backups = listBackups(config.data_dir);
  const newest = backups[0] ? `; newest backup ${backups[0]}` : '; no backups yet';
  if (check.problems.length > 0)
    return {
      ok: false,
      what: 'store',
      detail: `${path}: ${check.problems.join('; ')}${newest} (baton restore <file>)`,
    };
  return {
    ok: true,
    what: 'store',
    detail: `${path}: integrity ok, checksums ok, schema version ${check.schemaVersion}${newest}`,
  };
}

async function checkLeftovers(config: BatonConfig): Promise<Finding[]> {
  let store: Store;
  try {
    store = await openConfiguredStore(config);
  } catch (error) {
    const what = config.redis_url ? 'redis' : 'store';
    return [{ ok: false, what, detail: (error as Error).message }];
  }
  try {
    const found: Finding[] = config.redis_url ? [{ ok: true, what: 'redis', detail: 'answered' }] : [];
    for (const run of await runsOfDeadOrchestrators(store)) {
      const agents = await leftoverAgentPids(store, run.id);
      found.push({
        ok: agents.length === 0,
        what: 'run',
        detail: `${run.id}: orchestrator (pid ${run.pid}) is gone; ${agents.length ? `agent processes still alive: ${agents.join(', ')}` : 'no agent process left'}; continue it with baton run --resume ${run.id}`,
      });
    }
    return found;
  } finally {
    await store.close();
  }
}

/** Agent processes of a run, on this host, that are alive and still the claude of their session. */
async function leftoverAgentPids(store: Store, runId: string): Promise<number[]> {
  const agents = await store.listAgents(runId);
  const attempts = await store.listAttempts(runId);
  return attempts
    .filter((a) => a.pid !== undefined && a.host === hostname() && a.finishedAt === undefined)
    .filter((a) => {
      const sessionId = agents.find((agent) => agent.id === a.agentId)?.sessionId ?? '';
      try {
        return readFileSync(`/proc/${a.pid}/cmdline`, 'utf8').includes(sessionId);
      } catch {
        return false;
      }
    })
    .map((a) => a.pid!);
}

/** `baton doctor`: the store (integrity, checksums, schema), the claude binary, Redis, leftovers of dead orchestrators. */
export async function doctorCommand(options: StoreOptions & { json?: boolean }, output: Output): Promise<number> {
  const config = effectiveConfig(options);
  const findings: Finding[] = [];
  if (!config.redis_url) findings.push(checkSqlite(config));
  findings.push(await checkClaude(config));
  if (findings[0]?.ok !== false) findings.push(...(await checkLeftovers(config)));
  if (options.json) output.stdout.write(`${JSON.stringify({ ok: findings.every((f) => f.ok), findings })}\n`);
  else for (const f of findings) output.stdout.write(`${f.ok ? 'ok  ' : 'FAIL'} ${f.what}: ${f.detail}\n`);
  return findings.every((f) => f.ok) ? 0 : 1;
}
