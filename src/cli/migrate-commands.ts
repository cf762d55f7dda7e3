import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BatonError, ErrorCodes } from '../core/index.js';
import {
  migrateStore,
  openRedisStore,
  openSqliteStore,
  redactRedisUrl,
  storeFileName,
  type MigrationReport,
  type RecordCounts,
  type Store,
} from '../store/index.js';
import { currentRunStatus, orchestratorHere } from '../orchestrator/index.js';
import { type Output } from './commands.js';
import { auditTrail, effectiveConfig, type StoreOptions } from '../api/index.js';

export const storeKinds = ['sqlite', 'redis'] as const;
export type StoreKind = (typeof storeKinds)[number];

export interface MigrateOptions extends StoreOptions {
  from: StoreKind;
  to: StoreKind;
  redisUrl?: string;
  json?: boolean;
}

const countsLine = (c: RecordCounts): string =>
  `${c.runs} runs, ${c.phases} phases, ${c.agents} agents, ${c.attempts} attempts, ${c.toolCalls} tool calls, ${c.sessions} sessions, ${c.contextEntries} context entries, ${c.auditEvents} audit events`;

function formatReport(report: MigrationReport, from: string, to: string): string {
  const lines = [
    `Migrated ${from} → ${to}`,
    `  source:          ${countsLine(report.source)}`,
    `  copied:          ${countsLine(report.copied)}`,
    `  already there:   ${countsLine(report.alreadyPresent)}`,
    `  verified:        ${countsLine(report.verified.counts)}; ${report.verified.contextChecksums} context checksums match`,
    `  digest:          ${report.verified.digest}`,
  ];
  if (report.corrupt.length > 0)
    lines.push(`  ! not copied, they fail their checksum in the source: ${report.corrupt.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * A run still going would be copied half-way (it reads as interrupted in the target, and a later
 * migration conflicts with it): refused while its orchestrator is alive or heard from lately.
 */
async function refuseLiveRuns(source: Store): Promise<void> {
  // Known to be going: alive on this host, or heard from lately elsewhere (not a run without heartbeats).
  const live = (await source.listRuns({ status: 'running', limit: 1000 })).filter(
    (run) => currentRunStatus(run) === 'running' && (orchestratorHere(run) === 'alive' || run.aliveAt !== undefined),
  );
  if (live.length > 0)
    throw new BatonError(
      ErrorCodes.usage,
      `Run ${live.map((run) => run.id).join(', ')} is going; migrate with no runs going: wait for it to end, or stop it (baton cancel), then migrate again. Nothing was copied.`,
    );
}

/**
 * `baton migrate --from sqlite --to redis` (or back): copies the whole store and verifies the copy.
 * Exits 1 when the source had corrupt context entries (everything else is copied).
 */
export async function migrateCommand(options: MigrateOptions, output: Output): Promise<number> {
  const { from, to } = options;
  if (from === to)
    throw new BatonError(ErrorCodes.usage, `--from and --to are both ${from}: migrate between sqlite and redis.`);
  const config = effectiveConfig(options);
  const redisUrl = options.redisUrl ?? config.redis_url;
  if (redisUrl === undefined)
    throw new BatonError(
      ErrorCodes.usage,
      'Migrating to or from Redis needs its URL: pass --redis-url redis://host:6379, or set redis_url (BATON_REDIS_URL).',
    );
  if (!/^rediss?:\/\/[^/]/.test(redisUrl))
    throw new BatonError(
      ErrorCodes.usage,
      `--redis-url must be a redis:// or rediss:// URL, e.g. redis://localhost:6379, not "${redactRedisUrl(redisUrl)}".`,
    );
  const describe = (kind: StoreKind): string =>
    kind === 'sqlite' ? `sqlite (${config.data_dir})` : `redis (${redactRedisUrl(redisUrl)})`;
  const open = (kind: StoreKind): Promise<Store> | Store =>
    kind === 'sqlite' ? openSqliteStore({ dataDir: config.data_dir }) : openRedisStore({ url: redisUrl });

  const sourceFile = join(config.data_dir, storeFileName);
  if (from === 'sqlite' && !existsSync(sourceFile))
    throw new BatonError(
      ErrorCodes.usage,
      `There is no store to migrate at ${sourceFile}: check --data-dir (or data_dir, BATON_DATA_DIR).`,
    );
  const source = await open(from);
  let target: Store | undefined;
  try {
    await refuseLiveRuns(source);
    target = await open(to);
    const report = await migrateStore(source, target);
    await auditTrail(target, config).record('store.migrated', describe(from), {
      from: describe(from),
      to: describe(to),
      copied: report.copied,
      digest: report.verified.digest,
    });
    output.stdout.write(
      options.json
        ? `${JSON.stringify({ ...report, from: describe(from), to: describe(to) })}\n`
        : formatReport(report, describe(from), describe(to)),
    );
    return report.corrupt.length > 0 ? 1 : 0;
  } finally {
    await target?.close();
    await source.close();
  }
}
