export * from './store.js';
export { openSqliteStore, SqliteStore } from './sqlite-store.js';
export type { SqliteStoreOptions } from './sqlite-store.js';
export { migrations, SCHEMA_VERSION } from './migrations.js';
export type { Migration } from './migrations.js';
import { openSqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** Opens the configured store (SQLite in data_dir; Redis arrives with the scale-out work). */
export function openStore(options: { dataDir: string }): Store {
  return openSqliteStore({ dataDir: options.dataDir });
}
