import type { ContextEntry } from '../store/index.js';
import { isPhaseOutputKey } from './keys.js';
import { renderContext } from './prompt.js';
import { countTokens } from './tokens.js';

/**
 * With `context.superseded: show`, each decision that replaced earlier ones is shown with them: what
 * it replaced, quoted after its own text on its one line — so a replaced decision is never given
 * without its replacement, nor apart from it. By decision id, the values it replaced, oldest first.
 */
export type DecisionHistory = Map<string, ContextEntry[]>;

/**
 * The history of the decisions among `candidates`: unkeyed decisions a newer one superseded (`superseded`,
 * old id → replacement id), and the earlier values of keyed ones (`replacedValues`, as the store keeps
 * them) that an inherited phase or session wrote (`inherited`) before the value the agent is given.
 * Each decision's history is in `order` (the workflow's: by phase, agent and saved order — not by
 * when side-by-side agents of one phase finished).
 */
export function decisionHistory(
  candidates: ContextEntry[],
  superseded: ReadonlyMap<string, string>,
  replacedValues: ContextEntry[],
  inherited: (entry: ContextEntry) => boolean,
  order: (a: ContextEntry, b: ContextEntry) => number,
): DecisionHistory {
  const history: DecisionHistory = new Map();
  const add = (id: string, old: ContextEntry): void => void history.set(id, [...(history.get(id) ?? []), old]);
  const byId = new Map(candidates.map((e) => [e.id, e]));
  for (const old of replacedValues) {
    const given = byId.get(old.id);
    const keyed = given?.key !== undefined && !isPhaseOutputKey(given.key);
    if (keyed && old.version < given.version && inherited(old)) add(given.id, old);
  }
  // A superseded decision's own history (a keyed one's earlier values) goes with it to its replacement.
  const ownHistory = new Map([...superseded.keys()].map((old) => [old, history.get(old) ?? []]));
  for (const [old, replacement] of superseded) {
    const entry = byId.get(old);
    if (entry) for (const earlier of [...ownHistory.get(old)!, entry]) add(replacement, earlier);
  }
  for (const old of superseded.keys()) history.delete(old);
  for (const olds of history.values()) olds.sort((a, b) => order(a, b) || a.version - b.version);
  return history;
}

const quoted = (old: ContextEntry): string =>
  `"${old.content.replace(/[\r\n]+/g, ' ')}"${old.agentId ? ` (agent ${old.agentId})` : ''}`;

/** The entry as shown with its history: its text, then what it replaced; its tokens counted again. */
export function withHistory(entry: ContextEntry, history: DecisionHistory): ContextEntry {
  const olds = history.get(entry.id);
  if (!olds || olds.length === 0) return entry;
  const content = `${entry.content} (replacing ${olds.map(quoted).join('; ')})`;
  return { ...entry, content, tokens: countTokens(content) };
}

/**
 * The facts chosen within the budget, each decision's history quoted on its line — best ranked first,
 * while the rendered text still fits. The facts are chosen first, as without the quotes: a quote is
 * shown where room is left, and never costs the agent a current decision it would otherwise get.
 */
export function quoteHistoryWithin(
  fitted: { entries: ContextEntry[]; tokens: number },
  ranked: Array<{ entry: ContextEntry }>,
  history: DecisionHistory,
  budgetTokens: number,
): { entries: ContextEntry[]; tokens: number } {
  let { entries, tokens } = fitted;
  const given = new Set(entries.map((e) => e.id));
  for (const { entry } of ranked) {
    if (!given.has(entry.id) || !history.has(entry.id)) continue;
    const quoted = entries.map((e) => (e.id === entry.id ? withHistory(e, history) : e));
    const quotedTokens = countTokens(renderContext(quoted));
    if (quotedTokens <= budgetTokens) [entries, tokens] = [quoted, quotedTokens];
  }
  return { entries, tokens };
}
