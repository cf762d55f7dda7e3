export * from './store.js';
export { openSqliteStore } from './sqlite-store.js';
export { openRedisStore, redactRedisUrl } from './redis-store.js';
export { createRedisClient } from './redis-client.js';
export { migrations, SCHEMA_VERSION } from './migrations.js';
export { migrateStore } from './migrate.js';
export { TenantScope } from './tenant-scope.js';
export type { MigrationReport, RecordCounts } from './migrate.js';
import { openRedisStore } from './redis-store.js';
import { openSqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** Opens the configured store: Redis when redis_url is set (shared by several machines), else SQLite in data_dir. */
export async function openStore(options: { dataDir: string; redisUrl?: string }): Promise<Store> {
  return options.redisUrl !== undefined
    ? openRedisStore({ url: options.redisUrl })
    : openSqliteStore({ dataDir: options.dataDir });
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
