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
  /**
   * The values keyed entries had before updates replaced them (`Store.listReplacedContext`), oldest
   * first: an agent inheriting the phase of such a value, but not the updater's, is given it. Absent
   * from exports of Baton before they were written.
   */
  replaced: z.array(entrySchema).default([]),
});

export type ContextExport = z.output<typeof contextExportSchema>;

/** Everything the context store holds for a run (or for all runs). */
export async function exportContext(store: Store, runId: string | undefined, now: Date): Promise<ContextExport> {
  const [sessions, listing] = await Promise.all([
    store.listSessions(runId ? { runId } : {}),
    store.listContextEntries(runId ? { runId } : {}),
  ]);
  // A value is replaced only by an update of an entry that exists, so the entries name every run that has some.
  const runIds = runId ? [runId] : [...new Set(listing.entries.map((e) => e.runId))];
  const replaced = await Promise.all(runIds.map((id) => store.listReplacedContext(id)));
  const corrupt = [...listing.corrupt, ...replaced.flatMap((r) => r.corrupt)];
  if (corrupt.length > 0) {
    throw new BatonError(
      ErrorCodes.contextCorrupt,
      `Not exporting: context entries ${corrupt.join(', ')} do not match their checksums. Restore them from a backup first.`,
    );
  }
  return {
    format: 'baton-context',
    version: 1,
    exportedAt: now.toISOString(),
    sessions: [...sessions].reverse(),
    entries: listing.entries,
    replaced: replaced.flatMap((r) => r.entries),
  };
}

export interface ImportReport {
  entries: number;
  /** Earlier values of keyed entries, written as the updates that replaced them. */
  replaced: number;
  /** Already present, unchanged. */
  unchanged: number;
  sessions: number;
}

/**
 * Whether an exported keyed entry is newer than the one present: by when it was last written, since a
 * store counts versions from 1 when an entry first comes in (an import's version 1 may be the source's 3).
 */
function isNewer(entry: ContextEntry, existing: ContextEntry): boolean {
  return (
    entry.updatedAt > existing.updatedAt || (entry.updatedAt === existing.updatedAt && entry.version > existing.version)
  );
}

/**
 * Loads an export. Every entry's checksum is verified first, and nothing is written when any
 * fails. Entries already present are left as they are; a keyed entry is imported only if newer.
 * A keyed entry's replaced values are written before it, oldest first, through the same updates
 * that replaced them at the source: the importing store then keeps them as its own replaced values.
 */
export async function importContext(store: Store, data: unknown, source: string): Promise<ImportReport> {
  const file = validateData(contextExportSchema, data, {
    source,
    code: ErrorCodes.contextImportInvalid,
    what: 'Context export',
  });
  const tampered = [...file.replaced, ...file.entries]
    .filter((e) => contextChecksum(e) !== e.checksum)
    .map((e) => e.id);
  if (tampered.length > 0) {
    throw new BatonError(
      ErrorCodes.contextImportInvalid,
      `${source}: entries ${[...new Set(tampered)].join(', ')} do not match their checksums; nothing was imported.`,
    );
  }
  await refuseIdConflicts(store, [...file.replaced, ...file.entries] as ContextEntry[], source);
  const report: ImportReport = { entries: 0, replaced: 0, unchanged: 0, sessions: 0 };
  for (const session of file.sessions as SessionRecord[]) {
    if (await store.getSession(session.id)) continue;
    await store.saveSession(session);
    report.sessions++;
  }
  for (const entry of file.replaced as ContextEntry[]) {
    if (await importEntry(store, entry)) report.replaced++;
    else report.unchanged++;
  }
  for (const entry of file.entries as ContextEntry[]) {
    if (await importEntry(store, entry)) report.entries++;
    else report.unchanged++;
  }
  return report;
}

/**
 * Refuses, before anything is written, an import whose entries would take an id that another entry
 * holds — in the store (another run's, another key's, or an unkeyed fact saying something else) or
 * earlier in the file — since saving it would fail half-way or overwrite an unrelated fact. Keyed
 * entries update the entry of their key.
 */
async function refuseIdConflicts(store: Store, entries: ContextEntry[], source: string): Promise<void> {
  const owners = new Map<string, string>(); // id → run and key (or none) of what takes it
  const conflicts = new Set<string>();
  const claim = (id: string, owner: string): void => {
    const held = owners.get(id);
    if (held !== undefined && held !== owner) conflicts.add(id);
    owners.set(id, owner);
  };
  for (const entry of entries) {
    const owner = `${entry.runId}\u0000${entry.key ?? ''}`;
    const byKey = entry.key === undefined ? undefined : await store.getContextEntryByKey(entry.runId, entry.key);
    if (byKey) {
      claim(byKey.id, owner);
      continue;
    }
    const present = await store.getContextEntry(entry.id);
    if (present) claim(entry.id, `${present.runId}\u0000${present.key ?? ''}`);
    // An unkeyed fact is never rewritten: the same id saying something else is another fact.
    if (present && entry.key === undefined && present.checksum !== entry.checksum) conflicts.add(entry.id);
    claim(entry.id, owner);
  }
  if (conflicts.size > 0)
    throw new BatonError(
      ErrorCodes.contextImportInvalid,
      `${source}: entries ${[...conflicts].join(', ')} have the id of another entry (another run's or another key's, or one that says something else, in this store or the file); nothing was imported.`,
    );
}

/** Saves one exported entry unless it is present or older than the value present; whether it was saved. */
async function importEntry(store: Store, entry: ContextEntry): Promise<boolean> {
  const existing =
    entry.key !== undefined
      ? await store.getContextEntryByKey(entry.runId, entry.key)
      : await store.getContextEntry(entry.id);
  if (existing && (existing.checksum === entry.checksum || !isNewer(entry, existing))) return false;
  await store.saveContextEntry(
    { ...entry, ...(existing ? { id: existing.id } : {}) },
    existing ? { expectedVersion: existing.version } : {},
  );
  return true;
}
