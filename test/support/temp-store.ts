import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { openSqliteStore, type Store } from '../../src/store/index.js';

export interface TempStore {
  dir: string;
  store: Store;
}

/** A fresh SQLite store in a temp dir for each test, closed and removed after it. Read the fields inside tests. */
export function useTempStore(prefix = 'baton-store-'): TempStore {
  const current = {} as TempStore;
  beforeEach(() => {
    current.dir = mkdtempSync(join(tmpdir(), prefix));
    current.store = openSqliteStore({ dataDir: current.dir });
  });
  afterEach(async () => {
    await current.store.close();
    rmSync(current.dir, { recursive: true, force: true });
  });
  return current;
}
