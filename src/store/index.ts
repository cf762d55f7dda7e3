export * from './store.js';
export { openEmptySqliteStore, openSqliteStore } from './sqlite-store.js';
export { openRedisStore, redactRedisUrl } from './redis-store.js';
export { createRedisClient } from './redis-client.js';
export { migrations, SCHEMA_VERSION } from './migrations.js';
export { migrateStore } from './migrate.js';
export { TenantScope } from './tenant-scope.js';
export type { MigrationReport, RecordCounts } from './migrate.js';
import { existsSync } from 'node:fs';
import { checkDataDirPath } from '../core/index.js';
import { join } from 'node:path';
import { storeFileName } from './backup.js';
import { openRedisStore } from './redis-store.js';
import { openEmptySqliteStore, openSqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/**
 * Opens the configured store: Redis when redis_url is set (shared by several machines), else SQLite in
 * data_dir. `create: false` is for commands that only read or change what is stored: with no SQLite
 * file in data_dir they get an empty store in memory instead of a new file.
 */
export async function openStore(options: { dataDir: string; redisUrl?: string; create?: boolean }): Promise<Store> {
  if (options.redisUrl !== undefined) return openRedisStore({ url: options.redisUrl });
  if (options.create === false && !existsSync(join(options.dataDir, storeFileName))) {
    checkDataDirPath(options.dataDir); // a file, or /proc, is a mistake to name, not an empty store
    return openEmptySqliteStore(options.dataDir);
  }
  return openSqliteStore({ dataDir: options.dataDir });
}
export { diskFullError, diskReserveFile, isDiskFull, markInterrupted, reserveDiskSpace } from './disk-full.js';
export {
  backupStore,
  checkStoreFile,
  listBackups,
  restoreStore,
  scheduleBackups,
  storeDamagedError,
  storeFileName,
} from './backup.js';
