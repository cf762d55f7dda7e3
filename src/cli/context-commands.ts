import { writeFileSync } from 'node:fs';
import { ClaudeRuntime } from '../agents/index.js';
import { archiveSessions, exportContext, importContext, pruneSessions } from '../context/index.js';
import { BatonError, ErrorCodes, readUserFile } from '../core/index.js';
import { redactingStore, SecretRedactor } from '../observability/index.js';
import { continueSession, storedSession } from '../orchestrator/index.js';
import type { SessionStatus, Store, TenantScope } from '../store/index.js';
import { type Output } from './commands.js';
import { auditTrail, withExistingStore, withStore, type StoreOptions } from '../api/index.js';
import { tenantScopeOf } from './run-id.js';

const when = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString());

export async function sessionsListCommand(
  options: StoreOptions & { run?: string; status?: SessionStatus; limit?: number; json?: boolean; tenant?: string },
  output: Output,
): Promise<number> {
  return withExistingStore(options, async (store) => {
    const sessions = await tenantScopeOf(store, options.tenant).listSessions({
      runId: options.run,
      status: options.status,
      limit: options.limit ?? 50,
    });
    if (options.json) output.stdout.write(`${JSON.stringify(sessions)}\n`);
    else if (sessions.length === 0) output.stdout.write('No sessions.\n');
    else
      for (const s of sessions)
        output.stdout.write(
          `${s.id}  ${s.status.padEnd(9)}  ${s.agentId.padEnd(16)}  run ${s.runId}  expires ${when(s.expiresAt)}\n`,
        );
    return 0;
  });
}

export async function sessionsShowCommand(
  id: string,
  options: StoreOptions & { json?: boolean; tenant?: string },
  output: Output,
): Promise<number> {
  return withExistingStore(options, async (store) => {
    const session = await storedSession(store, id, tenantScopeOf(store, options.tenant));
    const { entries, corrupt } = await store.listContextEntries({ runId: session.runId, sessionIds: [id] });
    // Keyed facts it wrote that a later value replaced (by this agent or another): still what it produced.
    const replaced = (await store.listReplacedContext(session.runId)).entries.filter((e) => e.sessionId === id);
    if (options.json) {
      output.stdout.write(`${JSON.stringify({ session, context: entries, replaced, corrupt })}\n`);
      return 0;
    }
    output.stdout.write(
      `Session ${session.id}: ${session.status}\n  run ${session.runId}, agent ${session.agentId}${session.phaseId ? `, phase ${session.phaseId}` : ''}\n`,
    );
    if (session.parentId) output.stdout.write(`  parent ${session.parentId}\n`);
    output.stdout.write(
      `  created ${when(session.createdAt)}, updated ${when(session.updatedAt)}, expires ${when(session.expiresAt)}\n`,
    );
    output.stdout.write(`Context it produced (${entries.length}):\n`);
    for (const e of entries) output.stdout.write(`  - [${e.type}] ${e.content}\n`);
    if (replaced.length > 0)
      output.stdout.write(`Replaced since by a later value of their key (${replaced.length}):\n`);
    for (const e of replaced) output.stdout.write(`  - [${e.type}] ${e.key}: ${e.content}\n`);
    if (corrupt.length > 0)
      output.stdout.write(
        `  ! ${corrupt.length} entries fail their checksum and are not shown: ${corrupt.join(', ')}\n`,
      );
    return 0;
  });
}

/** Archives the given sessions, or every finished one past its expiry. */
export async function sessionsArchiveCommand(ids: string[], options: StoreOptions, output: Output): Promise<number> {
  return withExistingStore(options, async (store, config) => {
    const archived = await archiveSessions(store, Date.now(), ids.length > 0 ? ids : undefined);
    await auditTrail(store, config).record('sessions.archived', undefined, { sessions: archived.map((s) => s.id) });
    output.stdout.write(`Archived ${archived.length} session(s).\n`);
    // An id named but not archived is said by name: unknown (exit 2), or not finished (its agent may run).
    const done = new Set(archived.map((s) => s.id));
    const left = ids.filter((id) => !done.has(id));
    const unknown: string[] = [];
    for (const id of left) {
      const session = await store.getSession(id);
      if (!session) unknown.push(id);
      else
        output.stderr.write(
          `Not archived: session ${id} ${session.status === 'archived' ? 'is archived already' : `is ${session.status}, not finished`}.\n`,
        );
    }
    if (unknown.length > 0)
      throw new BatonError(
        ErrorCodes.sessionNotFound,
        `No session ${unknown.join(', ')}. List sessions with: baton sessions list`,
      );
    return 0;
  });
}

/** Deletes archived, expired sessions and their Claude Code transcripts; their context stays. */
export async function sessionsPruneCommand(options: StoreOptions, output: Output): Promise<number> {
  return withExistingStore(options, async (store, config) => {
    const { deleteSession } = await import('@anthropic-ai/claude-agent-sdk');
    const pruned = await pruneSessions(store, Date.now(), (id) => deleteSession(id));
    await auditTrail(store, config).record('sessions.pruned', undefined, { sessions: pruned });
    output.stdout.write(`Pruned ${pruned.length} session(s).\n`);
    return 0;
  });
}

/**
 * `baton sessions resume|fork <id> <prompt>`: continues a finished session, in place or as a new
 * forked session, in the agent's original working directory, on the path every agent takes.
 */
export async function sessionsContinueCommand(
  mode: 'resume' | 'fork',
  id: string,
  prompt: string,
  options: StoreOptions & { json?: boolean; tenant?: string },
  output: Output,
): Promise<number> {
  return withExistingStore(options, async (rawStore, config) => {
    await storedSession(rawStore, id, tenantScopeOf(rawStore, options.tenant));
    // Secrets in the environment never reach the store, as in `baton run`.
    const store = redactingStore(rawStore, SecretRedactor.fromEnvironment(process.env));
    const runtime = new ClaudeRuntime({
      claudePath: config.claude_path,
      streamIdleTimeoutMs: config.stream_idle_timeout_ms,
    });
    let continued: Awaited<ReturnType<typeof continueSession>>;
    try {
      continued = await continueSession({ mode, sessionId: id, prompt, store, runtime, env: process.env, config });
    } finally {
      await runtime.close();
    }
    const { sessionId, result } = continued;
    if (options.json) output.stdout.write(`${JSON.stringify({ sessionId, ...result })}\n`);
    else
      output.stdout.write(
        result.status === 'succeeded'
          ? `${result.output?.text ?? ''}\n(session ${sessionId})\n`
          : `error ${result.error?.code}: ${result.error?.message}\n`,
      );
    return result.status === 'succeeded' ? 0 : 1;
  });
}

/**
 * A run this reader may export: a stored one of its own, or — for a reader of every tenant — one
 * whose context alone is stored (imported from another store with `baton context import`).
 */
async function knownRun(store: Store, scope: TenantScope, runId: string): Promise<boolean> {
  if (await scope.getRun(runId)) return true;
  if (scope.tenant !== undefined) return false;
  const [sessions, context] = await Promise.all([store.listSessions({ runId }), store.listContextEntries({ runId })]);
  return sessions.length > 0 || context.entries.length > 0;
}

export async function contextExportCommand(
  options: StoreOptions & { run?: string; out?: string; tenant?: string },
  output: Output,
): Promise<number> {
  return withExistingStore(options, async (store) => {
    const scope = tenantScopeOf(store, options.tenant);
    if (options.run !== undefined && !(await knownRun(store, scope, options.run)))
      throw new BatonError(
        ErrorCodes.runNotFound,
        `No run with id ${options.run}${scope.tenant ? ` for tenant ${scope.tenant}` : ''}. List them with: baton runs${scope.tenant ? ` --tenant ${scope.tenant}` : ''}`,
      );
    const all = await exportContext(store, options.run, new Date());
    const data = {
      ...all,
      sessions: await scope.ofOwnRuns(all.sessions),
      entries: await scope.ofOwnRuns(all.entries),
      replaced: await scope.ofOwnRuns(all.replaced),
    };
    const text = `${JSON.stringify(data, null, 2)}\n`;
    if (options.out) {
      writeFileSync(options.out, text);
      output.stderr.write(
        `Exported ${data.entries.length} entries and ${data.sessions.length} sessions to ${options.out}.\n`,
      );
    } else output.stdout.write(text);
    return 0;
  });
}

/** An export holds a whole run's context: larger than a workflow may be, but not endless (`/dev/zero`). */
const MAX_IMPORT_BYTES = 256 * 1024 * 1024;

export async function contextImportCommand(file: string, options: StoreOptions, output: Output): Promise<number> {
  const text = readUserFile(file, {
    code: ErrorCodes.contextImportInvalid,
    what: 'Context export',
    limitBytes: MAX_IMPORT_BYTES,
  });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new BatonError(
      ErrorCodes.contextImportInvalid,
      `${file} is not a readable JSON export: ${(cause as Error).message}`,
      { cause },
    );
  }
  return withStore(options, async (store, config) => {
    const report = await importContext(store, data, file);
    await auditTrail(store, config).record('context.imported', file, { ...report });
    output.stdout.write(
      `Imported ${report.entries} entries${report.replaced > 0 ? ` (and ${report.replaced} values they replaced)` : ''} and ${report.sessions} sessions; ${report.unchanged} entries were already there.\n`,
    );
    return 0;
  });
}
