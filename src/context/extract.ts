import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { contextEntryTypes, type AgentOutput, type ContextEntryType } from '../store/index.js';
import { agentKey, isBatonTag } from './keys.js';
import { isEmptyFact } from './terms.js';

/** A fact before it is stored: what an agent said, typed. */
export interface ContextDraft {
  type: ContextEntryType;
  content: string;
  tags: string[];
  key?: string;
}

/** One fact of the structured `context` block an agent may return (ask for the block in its outputSchema). */
const contextItemSchema = z.object({
  type: z.enum(contextEntryTypes),
  // Trimmed like a marked line; an empty one is dropped (with its item, not the block).
  content: z.string().trim().min(1),
  // Null like absent: a strict output schema gives every optional field, null when unset.
  tags: z
    .array(z.string())
    .nullish()
    .transform((tags) => tags ?? []),
  // Trimmed like a line's `Decision[ plan ]:` key, so both name the same fact; a blank key is no key.
  key: z
    .string()
    .trim()
    .nullish()
    .transform((key) => key || undefined),
});

/**
 * A structured block as a list: models that are not held to a schema also give it as the JSON text of
 * one (`"context": "[{…}]"`) or as its one item; anything else is no block.
 */
function asList(block: unknown): unknown[] | undefined {
  let value = block;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  }
  if (Array.isArray(value)) return value as unknown[];
  return value !== null && typeof value === 'object' ? [value] : undefined;
}

/**
 * The facts of a structured block: its well-formed, non-empty items (one bad item does not cost the
 * others); undefined when it is not a list, or a list of nothing usable — the text is read then.
 */
function structuredFacts(given: unknown): ContextDraft[] | undefined {
  const block = asList(given);
  if (!block) return undefined;
  const items = block.flatMap((item) => {
    const parsed = contextItemSchema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
  if (items.length === 0 && block.length > 0) return undefined;
  return items.map(({ key, ...d }) => ({
    ...d,
    tags: d.tags.length > 0 ? d.tags : tagsOf(d.content),
    ...(key ? { key } : {}),
  }));
}

/**
 * Line prefixes agents are asked to use (see the system prompt), and the type each gives. A prefix may
 * carry a key — `Decision[database]: use PostgreSQL` — and a later line with the same key replaces it.
 */
const markers: Array<[RegExp, ContextEntryType]> = [
  [/^decision\s*(?:\[(.*?)\])?\s*:\s*/i, 'decision'],
  [/^finding\s*(?:\[(.*?)\])?\s*:\s*/i, 'finding'],
  [/^(?:file changed|changed file)\s*(?:\[(.*?)\])?\s*:\s*/i, 'file_changed'],
  [/^error\s*(?:\[(.*?)\])?\s*:\s*/i, 'error'],
  [/^artifact\s*(?:\[(.*?)\])?\s*:\s*/i, 'artifact'],
  [/^summary\s*(?:\[(.*?)\])?\s*:\s*/i, 'summary'],
];

/**
 * A line as plain text: without its list bullet, quote or heading marks, and a bold label unwrapped
 * (`**Decision[db]:** x`, `**Finding**: x` → `Decision[db]: x`, `Finding: x`) — agents write Markdown.
 */
function plainLine(raw: string): string {
  const line = raw.replace(/^\s*(?:(?:[-*+]|\d+[.)])\s+|>\s*|#{1,6}\s+)*/, '').trim();
  const bold = /^(\*\*|__)(.+?)(:?)\1(:?)\s*/.exec(line);
  if (!bold || !(bold[3] || bold[4])) return line;
  return `${bold[2]}: ${line.slice(bold[0].length)}`;
}

/** Words worth tagging an entry with: file paths and `code` spans it mentions. */
function tagsOf(content: string): string[] {
  const paths = content.match(/[\w./-]+\.[a-z]{1,5}\b/gi) ?? [];
  const code = [...content.matchAll(/`([^`\n]{1,60})`/g)].map((m) => m[1] ?? '');
  return [...new Set([...paths, ...code].map((t) => t.toLowerCase()))].slice(0, 10);
}

/** A line of a result: the agent's own text, a code fence, or a line quoted inside a fenced block. */
interface ResultLine {
  text: string;
  kind: 'text' | 'fence' | 'quoted';
}

/** A CommonMark code fence: three or more backticks or tildes, indented at most three spaces. */
const fencePattern = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/**
 * The result's lines (`\n`, `\r\n` or `\r`), with the fenced code blocks in it told apart. A fence
 * never closed quotes nothing: more likely a stray fence than the rest of the result being code.
 */
function linesOf(text: string): ResultLine[] {
  const lines: ResultLine[] = [];
  let open: string | undefined;
  let openedAt = 0;
  for (const line of text.split(/\r\n|\r|\n/)) {
    const [, fence = '', info = ''] = fencePattern.exec(line) ?? [];
    const opens = open === undefined && fence !== '' && !(fence.startsWith('`') && info.includes('`'));
    const closes = open !== undefined && fence.startsWith(open[0]!) && fence.length >= open.length && !info.trim();
    if (opens) [open, openedAt] = [fence, lines.length];
    if (closes) open = undefined;
    lines.push({ text: line, kind: opens || closes ? 'fence' : open === undefined ? 'text' : 'quoted' });
  }
  if (open !== undefined) for (const line of lines.slice(openedAt + 1)) line.kind = 'text';
  return lines;
}

/** The result's lines; a result that is one fenced block and nothing else is read as its inside. */
function readableLines(text: string): ResultLine[] {
  const lines = linesOf(text);
  const content = lines.filter((l) => l.text.trim() !== '');
  const fences = content.filter((l) => l.kind === 'fence').length;
  const oneBlock = content[0]?.kind === 'fence' && (fences === 1 || (fences === 2 && content.at(-1)?.kind === 'fence'));
  if (!oneBlock) return lines;
  return lines.flatMap((l) => (l.kind === 'fence' ? [] : [{ text: l.text, kind: 'text' as const }]));
}

/** The fact a marked line states (its content may be empty), or undefined for an unmarked line. */
function markedFact(rawLine: string): ContextDraft | undefined {
  const line = plainLine(rawLine);
  const marker = markers.find(([pattern]) => pattern.test(line));
  if (!marker) return undefined;
  const key = marker[0].exec(line)?.[1]?.trim();
  const content = line.replace(marker[0], '').trim();
  return { type: marker[1], content, tags: tagsOf(content), ...(key ? { key } : {}) };
}

/**
 * The facts of a text's marked lines (empty ones included), and its other lines. Marked lines in a
 * fenced block count only when the agent states no fact outside the blocks: then they are its facts
 * (a fenced list of them); else they are code or output it quotes.
 */
function markedLines(text: string): { drafts: ContextDraft[]; unmarked: string[] } {
  const lines = readableLines(text).map((l) => ({ ...l, fact: l.kind === 'fence' ? undefined : markedFact(l.text) }));
  const statesFacts = lines.some((l) => l.kind === 'text' && l.fact && !isEmptyFact(l.fact.content));
  const drafts: ContextDraft[] = [];
  const unmarked: string[] = [];
  for (const { text: rawLine, kind, fact } of lines) {
    if (!fact || (kind === 'quoted' && statesFacts)) unmarked.push(rawLine);
    else if (fact.content) drafts.push(fact);
  }
  return { drafts, unmarked };
}

const saysSomething = (drafts: ContextDraft[]): boolean => drafts.some((d) => !isEmptyFact(d.content));

/** The facts of the marked lines, with the rest as one finding when they say nothing (see `extractContext`). */
function textFacts(text: string): ContextDraft[] {
  const { drafts, unmarked } = markedLines(text);
  if (saysSomething(drafts)) return drafts;
  // No marked line, or only empty ones ("File changed: none"): what the agent knew is in the rest. The
  // empty ones are kept as the agent's record (selection never injects them).
  const rest = unmarked.join('\n').trim();
  return rest ? [...drafts, { type: 'finding', content: rest, tags: tagsOf(rest) }] : drafts;
}

/** Every string in a JSON value, depth first. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  return value !== null && typeof value === 'object' ? Object.values(value).flatMap(stringsOf) : [];
}

/**
 * The marked lines of a JSON-schema agent's answer. Claude Code's result text is then the answer's
 * JSON, one line, so its marked lines are in the answer's strings (`{"answer": "…\nDecision: …"}`).
 */
function answerFacts(output: AgentOutput): ContextDraft[] | undefined {
  if (output.structured === undefined) return undefined;
  let text: unknown;
  try {
    text = JSON.parse(output.text);
  } catch {
    return undefined;
  }
  if (!isDeepStrictEqual(text, output.structured)) return undefined;
  const { drafts } = markedLines(stringsOf(output.structured).join('\n'));
  return saysSomething(drafts) ? drafts : undefined;
}

/** Each fact once: an agent that says one thing twice (same type, key and words) said it once. */
function withoutRepeats(drafts: ContextDraft[]): ContextDraft[] {
  const seen = new Set<string>();
  return drafts.filter((d) => {
    const identity = JSON.stringify([d.type, d.key === undefined ? null : agentKey(d.key), d.content]);
    return !seen.has(identity) && seen.add(identity);
  });
}

/**
 * A keyed fact that says nothing ("Decision[db]: no change", "n/a") updates no key: it is the agent's
 * record, unkeyed (never injected), and the decision keeps the value it had.
 */
const keyedOnlyIfSaid = ({ key, ...draft }: ContextDraft): ContextDraft =>
  key !== undefined && !isEmptyFact(draft.content) ? { ...draft, key } : draft;

/**
 * The facts in an agent's result: its structured `context` block when it returned one, else the
 * lines of its text that start with a marker (`Decision:`, `Finding:`, `File changed:`, `Error:`,
 * `Artifact:`, `Summary:`, optionally keyed: `Decision[cache]:`), with the rest of the text as one more
 * finding when all of them are empty; with no marked line, the whole text as one finding. A JSON-schema
 * agent's marked lines are read in its answer's strings.
 */
export function extractContext(output: AgentOutput): ContextDraft[] {
  const structured = output.structured as { context?: unknown } | undefined;
  const block =
    structured && typeof structured === 'object' && 'context' in structured
      ? structuredFacts(structured.context)
      : undefined;
  // Baton's own tags mark its judges' and reducers' facts (see keys.ts): no result can claim them.
  return withoutRepeats((block ?? answerFacts(output) ?? textFacts(output.text)).map(keyedOnlyIfSaid)).map((d) => ({
    ...d,
    tags: d.tags.filter((t) => !isBatonTag(t)),
  }));
}
