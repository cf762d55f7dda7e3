import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ErrorCodes, systemClock, validateData, type Clock } from '../core/index.js';
import type { ContextEntry, Store } from '../store/index.js';
import type { KnowledgeEntity, KnowledgeGraph, KnowledgeRelation } from './graph.js';
import { looksLikePath, mentions, ReferenceCache, repoRelative } from './references.js';

/** A decision's or finding's name: its first line, short enough to list. */
function headline(text: string): string {
  const first = text.trim().split('\n')[0]!.trim();
  return first.length > 100 ? `${first.slice(0, 99)}…` : first;
}

/** Without a session id, an agent's session in a run is named by the run and the agent. */
const sessionId = (s: { sessionId?: string; runId?: string; agentId?: string }): string | undefined =>
  s.sessionId ? `session:${s.sessionId}` : s.runId && s.agentId ? `session:${s.runId}/${s.agentId}` : undefined;

const defined = (properties: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(properties).filter(([, v]) => v !== undefined));

function sessionEntity(s: {
  sessionId?: string;
  runId?: string;
  agentId?: string;
  phaseId?: string;
}): KnowledgeEntity | undefined {
  const id = sessionId(s);
  if (!id) return undefined;
  return {
    id,
    kind: 'session',
    name: s.agentId ?? s.sessionId ?? id,
    properties: defined({ runId: s.runId, agentId: s.agentId, phaseId: s.phaseId, sessionId: s.sessionId }),
  };
}

/** The files and symbols a text mentions that the graph knows, each once. */
async function mentioned(references: ReferenceCache, text: string): Promise<KnowledgeEntity[]> {
  const found = new Map<string, KnowledgeEntity>();
  for (const mention of mentions(text)) {
    const entity = await references.unique(mention);
    if (entity && (entity.kind === 'file' || entity.kind === 'symbol')) found.set(entity.id, entity);
  }
  return [...found.values()];
}

/** Files an agent changed whose paths the repository does not have (another checkout, a new file). */
const contextFile = (path: string): KnowledgeEntity => ({
  id: path,
  kind: 'file',
  name: path.split('/').pop() ?? path,
  properties: { source: 'context' },
});

/**
 * Adds what agents learned to the graph, from the context store (all runs, or one): decisions and
 * findings (errors count as findings) with the session that produced them (`decided_by`) and the
 * files and symbols they mention (`touches`); changed files as `touches` from the session that
 * changed them. Summaries and artifacts are left out: they repeat or point outside the code.
 * Running it again updates what changed and adds nothing twice.
 */
export async function ingestContext(
  graph: KnowledgeGraph,
  store: Store,
  runId?: string,
): Promise<{ entities: number; relations: number }> {
  const { entries } = await store.listContextEntries(runId !== undefined ? { runId, level: 0 } : { level: 0 });
  const references = new ReferenceCache(graph);
  const entities = new Map<string, KnowledgeEntity>();
  const relations: KnowledgeRelation[] = [];
  const newFiles = new Map<string, KnowledgeEntity>();

  for (const entry of entries) {
    const session = sessionEntity(entry);
    if (session) entities.set(session.id, session);
    if (entry.type === 'file_changed') {
      if (!session) continue;
      for (const mentioned of mentions(entry.content).filter(looksLikePath)) {
        const path = await repoRelative(graph, mentioned);
        const file = (await references.unique(path)) ?? newFiles.get(path) ?? contextFile(path);
        if (file.properties.source === 'context') newFiles.set(file.id, file);
        relations.push({
          from: session.id,
          to: file.id,
          kind: 'touches',
          properties: { runId: entry.runId, via: 'file_changed', entryId: entry.id, text: entry.content },
        });
      }
    } else if (entry.type === 'decision' || entry.type === 'finding' || entry.type === 'error') {
      const fact = factEntity(entry);
      entities.set(fact.id, fact);
      if (session)
        relations.push({ from: fact.id, to: session.id, kind: 'decided_by', properties: { runId: entry.runId } });
      for (const about of await mentioned(references, `${entry.content} ${entry.tags.join(' ')}`)) {
        relations.push({
          from: fact.id,
          to: about.id,
          kind: 'touches',
          properties: { runId: entry.runId, via: 'mention' },
        });
      }
    }
  }
  // A fact whose text changed (keyed entries are updated in place) keeps only what it mentions now.
  await graph.removeRelations({
    from: [...entities.values()].filter((e) => e.kind !== 'session').map((e) => e.id),
    kinds: ['touches'],
  });
  await graph.ensureEntities([...newFiles.values()]);
  await graph.upsertEntities([...entities.values()]);
  const stored = await graph.upsertRelations(relations);
  return { entities: entities.size + newFiles.size, relations: stored };
}

function factEntity(entry: ContextEntry): KnowledgeEntity {
  return {
    id: `${entry.type === 'decision' ? 'decision' : 'finding'}:${entry.id}`,
    kind: entry.type === 'decision' ? 'decision' : 'finding',
    name: headline(entry.content),
    properties: defined({
      text: entry.content,
      type: entry.type,
      runId: entry.runId,
      agentId: entry.agentId,
      phaseId: entry.phaseId,
      sessionId: entry.sessionId,
      tags: entry.tags,
      entryId: entry.id,
      createdAt: entry.createdAt,
    }),
  };
}

/** A fact an agent (or a person) adds directly, e.g. through the MCP tool `add_knowledge`. */
export const knowledgeFactSchema = z
  .object({
    kind: z.enum(['decision', 'finding']),
    text: z.string().trim().min(1, 'must not be empty: say what was decided or found').max(10_000),
    about: z.array(z.string().trim().min(1)).max(50).optional(),
    runId: z.string().min(1).optional(),
    agentId: z.string().min(1).optional(),
    sessionId: z.string().min(1).optional(),
  })
  .strict();

export type KnowledgeFact = z.input<typeof knowledgeFactSchema>;

/**
 * Records a decision or finding, linked to what it is `about` (file paths or symbol names the
 * graph knows; an unknown path becomes a file entity) and to the session that made it. The same
 * fact from the same agent and run is one entity however often it is added.
 */
export async function addKnowledge(
  graph: KnowledgeGraph,
  input: KnowledgeFact,
  options: { clock?: Clock } = {},
): Promise<KnowledgeEntity> {
  const fact = validateData(knowledgeFactSchema, input, {
    source: 'add_knowledge',
    code: ErrorCodes.knowledgeInvalid,
    what: 'The fact',
  });
  const key = createHash('sha256')
    .update(JSON.stringify([fact.kind, fact.text, fact.runId ?? null, fact.agentId ?? null]))
    .digest('hex')
    .slice(0, 16);
  const about = await Promise.all((fact.about ?? []).map((path) => repoRelative(graph, path)));
  const entity: KnowledgeEntity = {
    id: `${fact.kind}:${key}`,
    kind: fact.kind,
    name: headline(fact.text),
    properties: defined({
      text: `${fact.text}${about.length ? `\nAbout: ${about.join(', ')}` : ''}`,
      type: fact.kind,
      source: 'agent',
      about,
      runId: fact.runId,
      agentId: fact.agentId,
      sessionId: fact.sessionId,
      createdAt: (options.clock ?? systemClock).now(),
    }),
  };
  const session = await knownSession(graph, fact);
  const references = new ReferenceCache(graph);
  const targets: KnowledgeEntity[] = [];
  for (const name of [...about, ...mentions(fact.text)]) {
    const found = await references.unique(name);
    if (found) targets.push(found);
    else if (about.includes(name) && looksLikePath(name)) targets.push(contextFile(name));
  }
  await graph.ensureEntities([...(session ? [session] : []), ...targets]);
  await graph.upsertEntities([entity]);
  await graph.removeRelations({ from: [entity.id], kinds: ['touches'] });
  await graph.upsertRelations([
    ...(session
      ? [{ from: entity.id, to: session.id, kind: 'decided_by' as const, properties: defined({ runId: fact.runId }) }]
      : []),
    ...targets.map((t) => ({
      from: entity.id,
      to: t.id,
      kind: 'touches' as const,
      properties: defined({ runId: fact.runId, via: 'about' }),
    })),
  ]);
  return entity;
}

/** The session entity of the agent that states a fact: the one context ingestion made, when it did. */
async function knownSession(
  graph: KnowledgeGraph,
  fact: { sessionId?: string; runId?: string; agentId?: string },
): Promise<KnowledgeEntity | undefined> {
  if (!fact.sessionId && fact.runId && fact.agentId) {
    const sessions = await graph.findEntities({ kinds: ['session'], runId: fact.runId });
    const existing = sessions.find((s) => s.properties.agentId === fact.agentId);
    if (existing) return existing;
  }
  return sessionEntity(fact);
}
