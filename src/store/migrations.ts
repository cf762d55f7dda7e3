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
  {
    version: 3,
    description: 'context entries (checksummed, versioned, full-text indexed) and session lifecycle',
    up(db) {
      db.exec(`
        ALTER TABLE agents ADD COLUMN context_json TEXT;
        ALTER TABLE sessions ADD COLUMN phase_id TEXT;
        ALTER TABLE sessions ADD COLUMN expires_at INTEGER;
        ALTER TABLE sessions ADD COLUMN archived_at INTEGER;
        CREATE INDEX sessions_status ON sessions (status, updated_at);

        CREATE TABLE context_entries (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          id TEXT NOT NULL UNIQUE,
          run_id TEXT NOT NULL,
          session_id TEXT,
          agent_id TEXT,
          phase_id TEXT,
          type TEXT NOT NULL,
          key TEXT,
          content TEXT NOT NULL,
          tags_json TEXT NOT NULL,
          tokens INTEGER NOT NULL,
          level INTEGER NOT NULL,
          summary_of_json TEXT,
          checksum TEXT NOT NULL,
          version INTEGER NOT NULL,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX context_run_key ON context_entries (run_id, key) WHERE key IS NOT NULL;
        CREATE INDEX context_run_phase ON context_entries (run_id, phase_id, level, created_at);
        CREATE INDEX context_session ON context_entries (session_id);
        CREATE INDEX context_run_type ON context_entries (run_id, type, level, seq);

        CREATE VIRTUAL TABLE context_fts USING fts5(content, tags, content = 'context_entries', content_rowid = 'seq', tokenize = 'porter unicode61');
        -- Document frequency per indexed term: lets a search skip words that are in nearly every entry.
        CREATE VIRTUAL TABLE context_vocab USING fts5vocab(context_fts, 'row');
        CREATE TRIGGER context_fts_insert AFTER INSERT ON context_entries BEGIN
          INSERT INTO context_fts (rowid, content, tags) VALUES (new.seq, new.content, new.tags_json);
        END;
        CREATE TRIGGER context_fts_delete AFTER DELETE ON context_entries BEGIN
          INSERT INTO context_fts (context_fts, rowid, content, tags) VALUES ('delete', old.seq, old.content, old.tags_json);
        END;
        CREATE TRIGGER context_fts_update AFTER UPDATE OF content, tags_json ON context_entries BEGIN
          INSERT INTO context_fts (context_fts, rowid, content, tags) VALUES ('delete', old.seq, old.content, old.tags_json);
          INSERT INTO context_fts (rowid, content, tags) VALUES (new.seq, new.content, new.tags_json);
        END;
      `);
    },
  },
  {
    version: 4,
    description: 'append-only audit trail; runs carry a tenant',
    up(db) {
      db.exec(`
        ALTER TABLE runs ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
        CREATE TABLE audit_events (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          at INTEGER NOT NULL,
          actor TEXT NOT NULL,
          action TEXT NOT NULL,
          target TEXT,
          details_json TEXT NOT NULL
        );
        CREATE INDEX audit_at ON audit_events (at);
      `);
    },
  },
  {
    version: 5,
    description:
      'orchestration: run priority and resumes, generated phases and their outputs, swarm instances, worktrees, agent pids',
    up(db) {
      db.exec(`
        ALTER TABLE runs ADD COLUMN priority INTEGER;
        ALTER TABLE runs ADD COLUMN resumes INTEGER;
        ALTER TABLE phases ADD COLUMN generation INTEGER;
        ALTER TABLE phases ADD COLUMN parent_id TEXT;
        ALTER TABLE phases ADD COLUMN spec_json TEXT;
        ALTER TABLE phases ADD COLUMN output_json TEXT;
        ALTER TABLE phases ADD COLUMN error_json TEXT;
        ALTER TABLE agents ADD COLUMN entry_id TEXT;
        ALTER TABLE agents ADD COLUMN generation INTEGER;
        ALTER TABLE agents ADD COLUMN idx INTEGER;
        ALTER TABLE agents ADD COLUMN role TEXT;
        ALTER TABLE agents ADD COLUMN workspace_json TEXT;
        ALTER TABLE attempts ADD COLUMN pid INTEGER;
        ALTER TABLE attempts ADD COLUMN host TEXT;
      `);
    },
  },
  {
    version: 6,
    description: 'approval requests: tool calls and phase gates waiting for a person',
    up(db) {
      db.exec(`
        CREATE TABLE approvals (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          id TEXT NOT NULL UNIQUE,
          run_id TEXT NOT NULL,
          status TEXT NOT NULL,
          requested_at INTEGER NOT NULL,
          record_json TEXT NOT NULL
        );
        CREATE INDEX approvals_run ON approvals (run_id, status);
        CREATE INDEX approvals_status ON approvals (status);
      `);
    },
  },
  {
    version: 7,
    description: 'merge reports: the integration branch of each merged worktree phase and what became of each branch',
    up(db) {
      db.exec(`
        CREATE TABLE merge_reports (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          phase_id TEXT NOT NULL,
          report_json TEXT NOT NULL,
          UNIQUE (run_id, phase_id)
        );
      `);
    },
  },
  {
    version: 8,
    description: 'tool calls of every attempt (a timeline per agent), pruned by tool_call_retention_days',
    up(db) {
      db.exec(`
        CREATE TABLE tool_calls (
          run_id TEXT NOT NULL,
          agent_id TEXT NOT NULL,
          attempt INTEGER NOT NULL,
          seq INTEGER NOT NULL,
          started_at INTEGER NOT NULL,
          json TEXT NOT NULL,
          PRIMARY KEY (run_id, agent_id, attempt, seq)
        );
        CREATE INDEX tool_calls_started ON tool_calls (started_at);
      `);
    },
  },
  {
    version: 9,
    description: "MCP servers' health over each run, as the orchestrator and each worker saw it",
    up(db) {
      db.exec(`
        CREATE TABLE mcp_health (
          run_id TEXT NOT NULL,
          source TEXT NOT NULL,
          server TEXT NOT NULL,
          json TEXT NOT NULL,
          PRIMARY KEY (run_id, source, server)
        );
      `);
    },
  },
  {
    version: 10,
    description: "When each run's orchestrator last said it was alive, for hosts that cannot check its pid",
    up(db) {
      db.exec('ALTER TABLE runs ADD COLUMN alive_at INTEGER');
    },
  },
  {
    version: 11,
    description: "Baton's own model calls (context summaries, re-ranking): their spend belongs to the run",
    up(db) {
      db.exec(`
        CREATE TABLE baton_calls (
          id TEXT PRIMARY KEY,
          run_id TEXT NOT NULL,
          tenant TEXT NOT NULL,
          started_at INTEGER NOT NULL,
          json TEXT NOT NULL
        );
        CREATE INDEX baton_calls_run ON baton_calls (run_id, started_at, id);
      `);
    },
  },
  {
    version: 12,
    description: 'The values keyed context entries had before an update replaced them, with their own source',
    up(db) {
      db.exec(`
        CREATE TABLE context_replaced (
          entry_id TEXT NOT NULL,
          version INTEGER NOT NULL,
          run_id TEXT NOT NULL,
          json TEXT NOT NULL,
          PRIMARY KEY (entry_id, version)
        );
        CREATE INDEX context_replaced_run ON context_replaced (run_id);
      `);
    },
  },
  {
    version: 13,
    description:
      "The part of an attempt's and an agent's cost Baton estimated: attempts cut off before Claude Code reported it",
    up(db) {
      db.exec(`
        ALTER TABLE attempts ADD COLUMN estimated_cost_usd REAL;
        ALTER TABLE agents ADD COLUMN estimated_cost_usd REAL;
      `);
    },
  },
];

export const SCHEMA_VERSION = Math.max(...migrations.map((m) => m.version));
