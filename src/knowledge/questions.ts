import { BatonError, ErrorCodes } from '../core/index.js';
import {
  searchWords,
  type KnowledgeAnswer,
  type KnowledgeEntity,
  type KnowledgeGraph,
  type KnowledgeRelation,
  type RelationKind,
} from './graph.js';
import { resolveReference } from './references.js';

export interface AnswerOptions {
  /** The run "this run" means (the MCP server passes the agent's run). */
  runId?: string;
  /** At most this many entities in an answer (default 100); the text says how many more there were. */
  limit?: number;
}

interface Asked {
  graph: KnowledgeGraph;
  question: string;
  options: AnswerOptions;
  limit: number;
}

type Answerer = (asked: Asked, ...groups: string[]) => Promise<KnowledgeAnswer>;

/** Words that carry no meaning in a search ("decisions about the database" searches for "database"). */
const stopWords = new Set([
  'a',
  'an',
  'the',
  'of',
  'for',
  'to',
  'in',
  'on',
  'and',
  'or',
  'is',
  'are',
  'was',
  'we',
  'our',
  'about',
  'with',
  'what',
  'which',
  'who',
  'how',
  'did',
  'does',
  'do',
  'any',
  'all',
  'agents',
  'agent',
  'there',
]);
const meaningfulWords = (text: string): string =>
  searchWords(text)
    .filter((w) => !stopWords.has(w))
    .join(' ');

/** One line per entity, as people name them: paths for files, `name (file:line)` for symbols, the text of facts. */
function describe(entity: KnowledgeEntity): string {
  const p = entity.properties;
  // Properties are JSON: a string as it is, anything else as JSON.
  const text = (value: unknown): string => (typeof value === 'string' ? value : `${JSON.stringify(value)}`);
  switch (entity.kind) {
    case 'symbol':
      return `${entity.name} (${text(p.declaration ?? 'symbol')} in ${text(p.file)}:${text(p.line)})`;
    case 'module':
      return `${p.url === true ? 'URL module' : 'package'} ${entity.name}`;
    case 'decision':
    case 'finding': {
      const who = [p.agentId ? `agent ${text(p.agentId)}` : undefined, p.runId ? `run ${text(p.runId)}` : undefined]
        .filter(Boolean)
        .join(', ');
      return `[${entity.kind}] ${text(p.text ?? entity.name).replace(/\s+/g, ' ')}${who ? ` (${who})` : ''}`;
    }
    case 'session':
      return `session of agent ${entity.name}${p.runId ? ` in run ${text(p.runId)}` : ''}`;
    default:
      return entity.id;
  }
}

function bulleted(lines: string[], total: number): string {
  const more = total > lines.length ? `\n…and ${total - lines.length} more.` : '';
  return `${lines.map((l) => `- ${l}`).join('\n')}${more}`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The one entity a question names, or the answer explaining why there is not exactly one. */
async function target(
  asked: Asked,
  reference: string,
  interpretation: string,
): Promise<KnowledgeEntity | KnowledgeAnswer> {
  const found = await resolveReference(asked.graph, reference);
  if (found.length === 1) return found[0]!;
  if (found.length > 1) {
    return answer(
      asked,
      interpretation,
      found,
      [],
      `"${reference}" could mean ${plural(found.length, 'thing')}; ask again with one of them:\n${bulleted(
        found.map((e) => e.id),
        found.length,
      )}`,
    );
  }
  const similar = await asked.graph.search(reference, { kinds: ['file', 'symbol', 'module'], limit: 5, anyWord: true });
  const hint =
    similar.length > 0
      ? ` Similar names:\n${bulleted(
          similar.map((e) => e.id),
          similar.length,
        )}`
      : ' Run baton kg build to add the repository.';
  return answer(
    asked,
    interpretation,
    [],
    [],
    `The knowledge graph has no file, symbol or package called "${reference}".${hint}`,
  );
}

const isAnswer = (value: KnowledgeEntity | KnowledgeAnswer): value is KnowledgeAnswer => 'question' in value;

function answer(
  asked: Asked,
  interpretation: string,
  entities: KnowledgeEntity[],
  relations: KnowledgeRelation[],
  text: string,
): KnowledgeAnswer {
  return { question: asked.question, interpretation, entities, relations, text };
}

/** What follows a change of `reference`: importers of a file or package, callers of a symbol, transitively. */
const impact: Answerer = async (asked, reference) => {
  const interpretation = `impact: what depends on ${reference}, directly or transitively`;
  const subject = await target(asked, reference, interpretation);
  if (isAnswer(subject)) return subject;
  const kinds: RelationKind[] = subject.kind === 'symbol' ? ['calls'] : ['imports'];
  const how =
    subject.kind === 'symbol'
      ? { direct: 'calls it', relation: 'calls' }
      : { direct: 'imports it', relation: 'imports' };
  const { reached, total, relations } = await asked.graph.reach(subject.id, {
    direction: 'in',
    kinds,
    limit: asked.limit,
  });
  const direct = (await asked.graph.findRelations({ to: [subject.id], kinds })).length;
  const lines = reached.map(
    (r) => `${describe(r.entity)} — ${r.depth === 1 ? how.direct : `through ${r.via} (${r.depth} steps)`}`,
  );
  const text =
    total === 0
      ? `Nothing in the graph depends on ${subject.id} (nothing ${how.relation} it).`
      : `${plural(total, subject.kind === 'symbol' ? 'caller' : 'file')} depend on ${subject.id} (${direct} directly):\n${bulleted(lines, total)}`;
  return answer(
    asked,
    `${interpretation} (${kinds[0]} relations, reversed)`,
    [subject, ...reached.map((r) => r.entity)],
    relations,
    text,
  );
};

/** What `reference` uses: one step (`import`) or all the way down (`dependencies`). */
function dependencies(transitive: boolean): Answerer {
  return async (asked, reference) => {
    const interpretation = transitive
      ? `dependencies: everything ${reference} imports, directly or transitively`
      : `imports: what ${reference} imports directly`;
    const subject = await target(asked, reference, interpretation);
    if (isAnswer(subject)) return subject;
    const kinds: RelationKind[] = subject.kind === 'symbol' ? ['calls'] : ['imports'];
    const found = transitive
      ? await asked.graph
          .reach(subject.id, { direction: 'out', kinds, limit: asked.limit })
          .then((r) => ({ entities: r.reached.map((x) => x.entity), total: r.total, relations: r.relations }))
      : await asked.graph
          .neighbours(subject.id, { direction: 'out', kinds })
          .then((n) => ({ ...n, total: n.entities.length }));
    const shown = found.entities.slice(0, asked.limit);
    const kept = new Set([subject.id, ...shown.map((e) => e.id)]);
    const text =
      shown.length === 0
        ? `${subject.id} ${kinds[0] === 'calls' ? 'calls' : 'imports'} nothing the graph knows.`
        : `${subject.id} ${transitive ? 'depends on' : kinds[0] === 'calls' ? 'calls' : 'imports'} ${plural(found.total, 'entity', 'entities')}:\n${bulleted(shown.map(describe), found.total)}`;
    return answer(
      asked,
      interpretation,
      [subject, ...shown],
      found.relations.filter((r) => kept.has(r.from) && kept.has(r.to)),
      text,
    );
  };
}

/** One relation away, in one direction: who imports a file, who calls a symbol, what a file defines. */
function related(kind: RelationKind, direction: 'in' | 'out', phrase: string): Answerer {
  return async (asked, reference) => {
    const interpretation = `${kind} (${direction === 'in' ? 'incoming' : 'outgoing'}): ${phrase.replace('X', reference)}`;
    const subject = await target(asked, reference, interpretation);
    if (isAnswer(subject)) return subject;
    const found = await asked.graph.neighbours(subject.id, { direction, kinds: [kind] });
    const shown = found.entities.slice(0, asked.limit);
    const text =
      shown.length === 0
        ? `None: ${phrase.replace('X', subject.id)} — the graph has no such relation.`
        : `${phrase.replace('X', subject.id)}:\n${bulleted(shown.map(describe), found.entities.length)}`;
    return answer(asked, interpretation, [subject, ...shown], found.relations, text);
  };
}

/**
 * Decisions and findings about a subject: those linked to it (or to the symbols a file defines)
 * by `touches`, then those whose text mentions its words; decisions first, newest first.
 */
const decisions: Answerer = async (asked, verb, subject) => {
  const interpretation = `decisions and findings about "${subject}" (linked to it, or mentioning it)`;
  const references = await resolveReference(asked.graph, subject);
  const ids = references.map((e) => e.id);
  const files = references.filter((e) => e.kind === 'file').map((e) => e.id);
  if (files.length > 0)
    ids.push(...(await asked.graph.findRelations({ from: files, kinds: ['defines'] })).map((r) => r.to));
  const linked = ids.length > 0 ? await asked.graph.findRelations({ to: ids, kinds: ['touches'] }) : [];
  const facts = new Map<string, KnowledgeEntity>();
  for (const e of await asked.graph.findEntities({
    ids: [...new Set(linked.map((r) => r.from))],
    kinds: ['decision', 'finding'],
  }))
    facts.set(e.id, e);
  const words = meaningfulWords(subject);
  if (words) {
    const all = await asked.graph.search(words, { kinds: ['decision', 'finding'], limit: asked.limit });
    // Loosen to any word only for a topic; for a named file or symbol, "sqlite" alone would find facts about other files.
    const loose =
      all.length === 0 && references.length === 0
        ? await asked.graph.search(words, { kinds: ['decision', 'finding'], limit: asked.limit, anyWord: true })
        : [];
    for (const e of [...all, ...loose]) facts.set(e.id, e);
  }
  const first = /^find|^found|^finding/i.test(verb ?? '') ? 'finding' : 'decision';
  const ordered = [...facts.values()].sort(
    (a, b) =>
      Number(b.kind === first) - Number(a.kind === first) ||
      Number(b.properties.createdAt ?? 0) - Number(a.properties.createdAt ?? 0),
  );
  const shown = ordered.slice(0, asked.limit);
  const shownIds = new Set(shown.map((e) => e.id));
  const text =
    shown.length === 0
      ? `Agents recorded no decisions or findings about "${subject}".`
      : `Agents recorded ${plural(ordered.length, 'decision or finding', 'decisions and findings')} about "${subject}":\n${bulleted(shown.map(describe), ordered.length)}`;
  return answer(
    asked,
    interpretation,
    [...references, ...shown],
    linked.filter((r) => shownIds.has(r.from)),
    text,
  );
};

/** Files agents reported changing (`file_changed` context entries) in a run. */
const filesChanged: Answerer = async (asked, runReference) => {
  const named = runReference?.replace(/^(?:the\s+)?run\s+/i, '').trim();
  const runId =
    !named || /^(?:this|the current|current|this one)(?:\s+run)?$/i.test(named) ? asked.options.runId : named;
  if (!runId)
    throw new BatonError(
      ErrorCodes.knowledgeInvalid,
      `run: name the run ("which files changed in run <runId>", or --run <runId>); "${asked.question}" does not say which.`,
    );
  const touches = (await asked.graph.findRelations({ kinds: ['touches'], runId })).filter(
    (r) => r.properties?.via === 'file_changed',
  );
  const fileIds = [...new Set(touches.map((r) => r.to))];
  const files = await asked.graph.findEntities({ ids: fileIds });
  const sessions = new Map(
    (await asked.graph.findEntities({ ids: [...new Set(touches.map((r) => r.from))] })).map((s) => [s.id, s.name]),
  );
  const shown = files.slice(0, asked.limit);
  const lines = shown.map(
    (f) =>
      `${f.id} — by ${[...new Set(touches.filter((t) => t.to === f.id).map((t) => sessions.get(t.from) ?? t.from))].join(', ')}`,
  );
  const text =
    files.length === 0
      ? `No agent reported changing a file in run ${runId}.`
      : `${plural(files.length, 'file')} changed in run ${runId}:\n${bulleted(lines, files.length)}`;
  return answer(
    asked,
    `files changed in run ${runId} (file_changed context entries)`,
    shown,
    touches.filter((t) => shown.some((f) => f.id === t.to)),
    text,
  );
};

/** How one thing leads to another: forwards along relations first, then ignoring their direction. */
function path(undirectedOnly: boolean): Answerer {
  return async (asked, fromReference, toReference) => {
    const interpretation = `path from ${fromReference} to ${toReference}`;
    const from = await target(asked, fromReference, interpretation);
    if (isAnswer(from)) return from;
    const to = await target(asked, toReference, interpretation);
    if (isAnswer(to)) return to;
    const forward = undirectedOnly ? undefined : await asked.graph.path(from.id, to.id, { direction: 'out' });
    const found = forward ?? (await asked.graph.path(from.id, to.id, { direction: 'both' }));
    if (!found)
      return answer(
        asked,
        interpretation,
        [from, to],
        [],
        `No path of up to 6 relations connects ${from.id} and ${to.id}.`,
      );
    const steps = found.relations.map((r) => `${r.from} —${r.kind}→ ${r.to}`);
    const text = `${forward ? `${from.id} reaches ${to.id}` : `${from.id} and ${to.id} are connected`} in ${plural(steps.length, 'step')}:\n${bulleted(steps, steps.length)}`;
    return answer(
      asked,
      `${interpretation} (${forward ? 'following relations forwards' : 'relations in either direction'})`,
      found.entities,
      found.relations,
      text,
    );
  };
}

/** No pattern matched: the entity the question names, with what it is related to; else a search. */
const lookup: Answerer = async (asked) => {
  const subject = await resolveReference(asked.graph, asked.question);
  if (subject.length === 1) {
    const around = await asked.graph.neighbours(subject[0]!.id, { limit: asked.limit });
    const lines = around.relations.map((r) => `${r.from} —${r.kind}→ ${r.to}`);
    return answer(
      asked,
      `lookup: ${subject[0]!.id} and what it is related to`,
      [subject[0]!, ...around.entities],
      around.relations,
      `${describe(subject[0]!)}\n${lines.length ? bulleted(lines, lines.length) : 'It has no relations.'}`,
    );
  }
  const words = meaningfulWords(asked.question);
  const found = words ? await asked.graph.search(words, { limit: asked.limit, anyWord: true }) : [];
  const text =
    found.length === 0
      ? `Nothing in the knowledge graph matches "${asked.question}". Questions it understands are listed in docs/knowledge-graph.md.`
      : `Best matches for "${words}":\n${bulleted(found.map(describe), found.length)}`;
  return answer(asked, `search: entities matching any of "${words}"`, found, [], text);
};

/**
 * The questions `answerQuestion` understands, tried in order; the first whose pattern matches the
 * whole question answers it. docs/knowledge-graph.md lists them for users.
 */
const patterns: Array<{ pattern: RegExp; answer: Answerer }> = [
  { pattern: /^(?:what|which files?|which modules?|who)\s+(?:depends?|relies?|rely)\s+on\s+(.+)$/i, answer: impact },
  { pattern: /^(?:what\s+is\s+)?(?:the\s+)?(?:impact|blast radius)\s+of\s+(?:changing\s+)?(.+)$/i, answer: impact },
  {
    pattern: /^what\s+(?:breaks|would break|is affected|changes)\s+if\s+(?:i|we|you|someone)\s+changes?\s+(.+)$/i,
    answer: impact,
  },
  { pattern: /^(?:dependents|importers|reverse dependencies)\s+of\s+(.+)$/i, answer: impact },
  {
    pattern: /^(?:what|which files?|who)\s+imports?\s+(.+)$/i,
    answer: related('imports', 'in', 'files that import X directly'),
  },
  { pattern: /^(?:who|what)\s+calls\s+(.+)$/i, answer: related('calls', 'in', 'what calls X') },
  { pattern: /^callers\s+of\s+(.+)$/i, answer: related('calls', 'in', 'what calls X') },
  {
    pattern: /^what\s+does\s+(.+?)\s+(?:define|export|declare)$/i,
    answer: related('defines', 'out', 'what X defines'),
  },
  {
    pattern: /^(?:symbols|exports|definitions)\s+(?:of|in)\s+(.+)$/i,
    answer: related('defines', 'out', 'what X defines'),
  },
  { pattern: /^what\s+does\s+(.+?)\s+(?:import|use)$/i, answer: dependencies(false) },
  { pattern: /^(?:imports)\s+of\s+(.+)$/i, answer: dependencies(false) },
  { pattern: /^what\s+does\s+(.+?)\s+depend\s+on$/i, answer: dependencies(true) },
  { pattern: /^(?:dependencies)\s+of\s+(.+)$/i, answer: dependencies(true) },
  {
    pattern:
      /^what\s+(?:did|have|has)\s+(?:the\s+)?(?:agents?|we|anyone|anybody)\s+(decided?|found|find|learned|learnt|learn|said|say|noted|note|concluded?)\s+(?:about|on|regarding|for|concerning)\s+(.+)$/i,
    answer: decisions,
  },
  { pattern: /^(decisions?|findings?|facts?)\s+(?:about|on|regarding|for|concerning)\s+(.+)$/i, answer: decisions },
  {
    pattern:
      /^(?:which|what)\s+files?\s+(?:were\s+|have\s+been\s+|has\s+been\s+|got\s+)?(?:changed|modified|touched|edited)(?:\s+(?:in|during|by)\s+(.+))?$/i,
    answer: filesChanged,
  },
  {
    pattern:
      /^(?:which|what)\s+files?\s+did\s+(?:the\s+)?agents?\s+(?:change|modify|touch|edit)(?:\s+(?:in|during)\s+(.+))?$/i,
    answer: filesChanged,
  },
  { pattern: /^(?:files\s+)?changed\s+(?:files\s+)?in\s+(.+)$/i, answer: filesChanged },
  {
    pattern: /^(?:show\s+)?(?:the\s+|a\s+)?(?:path|route)\s+(?:from\s+)?(.+?)\s+(?:to|->|→)\s+(.+)$/i,
    answer: path(false),
  },
  { pattern: /^how\s+does\s+(.+?)\s+(?:reach|get\s+to|depend\s+on|lead\s+to|use)\s+(.+)$/i, answer: path(false) },
  { pattern: /^how\s+(?:is|are)\s+(.+?)\s+(?:related|connected|linked)\s+to\s+(.+)$/i, answer: path(true) },
  { pattern: /^(?:connection|relation)\s+between\s+(.+?)\s+and\s+(.+)$/i, answer: path(true) },
];

/**
 * Answers a question about the code and what agents learned, deterministically (no model): the
 * question is matched against the patterns above, and anything else is a lookup of the name it
 * gives, or a search.
 */
export async function answerQuestion(
  graph: KnowledgeGraph,
  question: string,
  options: AnswerOptions = {},
): Promise<KnowledgeAnswer> {
  const normalized = question
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/[?!.]+$/, '')
    .trim();
  if (!normalized)
    throw new BatonError(
      ErrorCodes.knowledgeInvalid,
      'question: is empty; ask e.g. "what depends on src/core/errors.ts".',
    );
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1)
    throw new BatonError(ErrorCodes.knowledgeInvalid, `limit: must be a whole number of at least 1, not ${limit}.`);
  const asked: Asked = { graph, question: normalized, options, limit };
  for (const { pattern, answer: answerer } of patterns) {
    const match = pattern.exec(normalized);
    if (match) return answerer(asked, ...match.slice(1).map((g) => g ?? ''));
  }
  return lookup(asked);
}
