import { z } from 'zod';
import { BatonError, ErrorCodes, validateData } from '../core/index.js';
import {
  contextChecksum,
  contextEntryTypes,
  type ContextEntry,
  type SessionRecord,
  type Store,
} from '../store/index.js';

const entrySchema = z.object({
  id: z.string().min(1),
  runId: z.string().min(1),
  sessionId: z.string().optional(),
  agentId: z.string().optional(),
  phaseId: z.string().optional(),
  type: z.enum(contextEntryTypes),
  key: z.string().optional(),
  content: z.string(),
  tags: z.array(z.string()),
  tokens: z.number().int().nonnegative(),
  level: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  summaryOf: z.array(z.string()).optional(),
  checksum: z.string(),
  version: z.number().int().positive(),
  createdAt: z.number(),
  updatedAt: z.number(),
});

const sessionSchema = z.object({
  id: z.string().min(1),
  runId: z.string(),
  agentId: z.string(),
  phaseId: z.string().optional(),
  parentId: z.string().optional(),
  status: z.enum(['created', 'active', 'completed', 'failed', 'archived']),
  createdAt: z.number(),
  updatedAt: z.number(),
  expiresAt: z.number().optional(),
  archivedAt: z.number().optional(),
});

export const contextExportSchema = z.object({
  format: z.literal('baton-context'),
  version: z.literal(1),
  exportedAt: z.string(),
  sessions: z.array(sessionSchema),
  entries: z.array(entrySchema),
});

export type ContextExport = z.output<typeof contextExportSchema>;

/** Everything the context store holds for a run (or for all runs). */
export async function exportContext(store: Store, runId: string | undefined, now: Date): Promise<ContextExport> {
  const [sessions, listing] = await Promise.all([
    store.listSessions(runId ? { runId } : {}),
    store.listContextEntries(runId ? { runId } : {}),
  ]);
  if (listing.corrupt.length > 0) {
    throw new BatonError(
      ErrorCodes.contextCorrupt,
      `Not exporting: context entries ${listing.corrupt.join(', ')} do not match their checksums. Restore them from a backup first.`,
    );
  }
  return {
    format: 'baton-context',
    version: 1,
    exportedAt: now.toISOString(),
    sessions: [...sessions].reverse(),
    entries: listing.entries,
  };
}

export interface ImportReport {
  entries: number;
  /** Already present, unchanged. */
  unchanged: number;
  sessions: number;
}

/**
 * Whether an exported keyed entry is newer than the one present: by when it was last written, since a
 * store counts versions from 1 when an entry first comes in (an import's version 1 may be the source's 3).
 */
function isNewer(entry: ContextEntry, existing: ContextEntry): boolean {
  if (entry.key === undefined) return entry.version > existing.version;
  return (
    entry.updatedAt > existing.updatedAt || (entry.updatedAt === existing.updatedAt && entry.version > existing.version)
  );
}

/**
 * Loads an export. Every entry's checksum is verified first, and nothing is written when any
 * fails. Entries already present are left as they are; a keyed entry is imported only if newer.
 */
export async function importContext(store: Store, data: unknown, source: string): Promise<ImportReport> {
  const file = validateData(contextExportSchema, data, {
    source,
    code: ErrorCodes.contextImportInvalid,
    what: 'Context export',
  });
  const tampered = file.entries.filter((e) => contextChecksum(e) !== e.checksum).map((e) => e.id);
  if (tampered.length > 0) {
    throw new BatonError(
      ErrorCodes.contextImportInvalid,
      `${source}: entries ${tampered.join(', ')} do not match their checksums; nothing was imported.`,
    );
  }
  const report: ImportReport = { entries: 0, unchanged: 0, sessions: 0 };
  for (const session of file.sessions as SessionRecord[]) {
    if (await store.getSession(session.id)) continue;
    await store.saveSession(session);
    report.sessions++;
  }
  for (const entry of file.entries as ContextEntry[]) {
    const existing =
      entry.key !== undefined
        ? await store.getContextEntryByKey(entry.runId, entry.key)
        : await store.getContextEntry(entry.id);
    if (existing && (existing.checksum === entry.checksum || !isNewer(entry, existing))) {
      report.unchanged++;
      continue;
    }
    await store.saveContextEntry(
      { ...entry, ...(existing ? { id: existing.id } : {}) },
      existing ? { expectedVersion: existing.version } : {},
    );
    report.entries++;
  }
  return report;
}
