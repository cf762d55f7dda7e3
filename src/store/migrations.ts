import type { Database } from 'better-sqlite3';

export interface Migration {
  version: number;
  description: string;
  up(db: Database): void;
}

/** The schema, one step per version. Adding a version is adding an entry; never edit a shipped one. */
export const migrations: Migration[] = [
  {
    version: 1,
    description: 'runs, phases, agents, attempts, sessions',
    up(db) {
      db.exec(`
        CREATE TABLE runs (
          id TEXT PRIMARY KEY,
          workflow_name TEXT NOT NULL,
          workflow_path TEXT,
          workflow_json TEXT NOT NULL,
          status TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          started_at INTEGER,
          finished_at INTEGER,
          pid INTEGER,
          host TEXT,
          error_json TEXT,
          cancel_requested INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX runs_created ON runs (created_at DESC, id);

        CREATE TABLE phases (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          id TEXT NOT NULL,
          status TEXT NOT NULL,
          started_at INTEGER,
          finished_at INTEGER,
          UNIQUE (run_id, id)
        );

        CREATE TABLE agents (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          id TEXT NOT NULL,
          phase_id TEXT NOT NULL,
          session_id TEXT NOT NULL,
          status TEXT NOT NULL,
          prompt TEXT NOT NULL,
          system_prompt TEXT NOT NULL,
          model TEXT,
          output_json TEXT,
          usage_json TEXT NOT NULL,
          cost_usd REAL NOT NULL,
          turns INTEGER NOT NULL,
          attempts INTEGER NOT NULL,
          duration_ms INTEGER NOT NULL,
          error_json TEXT,
          started_at INTEGER,
          finished_at INTEGER,
          UNIQUE (run_id, id)
        );

        CREATE TABLE attempts (
          run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          agent_id TEXT NOT NULL,
          attempt INTEGER NOT NULL,
          status TEXT NOT NULL,
          resumed INTEGER NOT NULL,
          started_at INTEGER NOT NULL,
          finished_at INTEGER,
          usage_json TEXT NOT NULL,
          cost_usd REAL NOT NULL,
          duration_ms INTEGER NOT NULL,
          error_json TEXT,
          PRIMARY KEY (run_id, agent_id, attempt)
        );

        CREATE TABLE sessions (
          id TEXT PRIMARY KEY,
          run_id TEXT NOT NULL,
          agent_id TEXT NOT NULL,
          parent_id TEXT,
          status TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL
        );
        CREATE INDEX sessions_run ON sessions (run_id);
      `);
    },
  },
  {
    version: 2,
    description: 'agents.mcp_json: the MCP servers each agent ran with and the ones it missed',
    up(db) {
      db.exec('ALTER TABLE agents ADD COLUMN mcp_json TEXT');
    },
  },
];

export const SCHEMA_VERSION = Math.max(...migrations.map((m) => m.version));
