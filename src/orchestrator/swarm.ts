import { BatonError, ErrorCodes } from '../core/index.js';
import type { PhaseOutput } from '../store/index.js';
import type { AgentEntry, Foreach } from '../workflow/index.js';

/** The value at a dot path (`a.b.0.c`) of a JSON value, or undefined. */
export function valueAt(value: unknown, path: string | undefined): unknown {
  if (path === undefined) return value;
  let current = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

const asText = (value: unknown): string =>
  typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);

/** Fills `{{item}}`, `{{item.path}}`, `{{index}}` and `{{count}}` in a swarm agent's prompt. */
export function fillTemplate(prompt: string, values: { item?: unknown; index: number; count: number }): string {
  return prompt.replace(/\{\{\s*(item(?:\.[A-Za-z0-9_.-]+)?|index|count)\s*\}\}/g, (_, name: string) => {
    if (name === 'index') return String(values.index);
    if (name === 'count') return String(values.count);
    return asText(valueAt(values.item, name === 'item' ? undefined : name.slice('item.'.length)));
  });
}

/** One agent of a phase: a workflow entry, or one member of its swarm. */
export interface AgentInstance {
  /** Unique in the run: the entry id, `<entry>.<index>` for swarm members. */
  id: string;
  entry: AgentEntry;
  prompt: string;
  index?: number;
}

/** The items a `foreach` fans out over; BATON_WORKFLOW_INVALID when they cannot be had. */
function foreachItems(foreach: Foreach, outputOf: (phaseId: string) => PhaseOutput | undefined): unknown[] {
  if (Array.isArray(foreach)) return foreach;
  const output = outputOf(foreach.phase);
  const items = valueAt(output?.structured, foreach.field);
  if (Array.isArray(items)) return items;
  const where = `phase "${foreach.phase}"${foreach.field ? ` field "${foreach.field}"` : ''}`;
  throw new BatonError(
    ErrorCodes.workflowInvalid,
    `foreach: ${where} is ${items === undefined ? 'missing from its structured output' : `not a list (got ${typeof items})`}; give that phase an outputSchema with a list there`,
  );
}

/**
 * Expands a phase's entries into the agents that run: `count: N` and `foreach` give N agents with
 * their own sessions; a plain entry is one agent. Throws BATON_WORKFLOW_INVALID when a foreach's list is missing.
 */
export function expandAgents(
  entries: AgentEntry[],
  outputOf: (phaseId: string) => PhaseOutput | undefined,
): AgentInstance[] {
  const instances: AgentInstance[] = [];
  for (const entry of entries) {
    const items = entry.foreach
      ? foreachItems(entry.foreach, outputOf)
      : entry.count !== undefined
        ? Array.from({ length: entry.count }, () => undefined)
        : undefined;
    if (items === undefined) {
      instances.push({ id: entry.id, entry, prompt: entry.prompt });
      continue;
    }
    items.forEach((item, index) => {
      instances.push({
        id: `${entry.id}.${index}`,
        entry,
        index,
        prompt: fillTemplate(entry.prompt, { item, index, count: items.length }),
      });
    });
  }
  return instances;
}
