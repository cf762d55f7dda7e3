import type { AgentOutput, PhaseOutput } from '../store/index.js';
import type { AggregateSpec } from '../workflow/index.js';
import { valueAt } from './swarm.js';

/** One agent's result, as aggregation sees it. */
export interface AgentResultInput {
  agentId: string;
  output: AgentOutput;
}

/** Longest text of one result quoted into a judge's or reducer's prompt. */
const QUOTE_LIMIT = 8000;

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Every agent's text under its id, and the list of structured outputs. */
export function concatResults(results: AgentResultInput[]): PhaseOutput {
  const structured = results.filter((r) => r.output.structured !== undefined).map((r) => r.output.structured);
  return {
    strategy: 'concat',
    text: results.map((r) => `## ${r.agentId}\n${r.output.text}`).join('\n\n'),
    ...(structured.length > 0 ? { structured } : {}),
  };
}

export interface MergeConflict {
  path: string;
  values: Array<{ agentId: string; value: unknown }>;
}

/**
 * Deep-merges structured outputs in agent order: objects merge key by key, lists are joined
 * without repeats, and where two agents give different values for the same field the first one
 * stays and the disagreement is listed as a conflict.
 */
export function mergeResults(results: AgentResultInput[]): PhaseOutput {
  const conflicts = new Map<string, MergeConflict>();
  const owner = new Map<string, string>();
  /** Who gave the value at a path: the agent that first set it or the object holding it. */
  const ownerOf = (path: string): string => {
    for (let at = path; ; at = at.includes('.') ? at.slice(0, at.lastIndexOf('.')) : '') {
      const agentId = owner.get(at);
      if (agentId !== undefined || at === '') return agentId ?? '?';
    }
  };
  const merge = (target: unknown, source: unknown, path: string, agentId: string): unknown => {
    if (target === undefined) {
      owner.set(path, agentId);
      return source;
    }
    if (isObject(target) && isObject(source)) {
      const merged: Record<string, unknown> = { ...target };
      for (const [key, value] of Object.entries(source))
        merged[key] = merge(target[key], value, path ? `${path}.${key}` : key, agentId);
      return merged;
    }
    if (Array.isArray(target) && Array.isArray(source)) {
      const [before, after]: [unknown[], unknown[]] = [target, source];
      const seen = new Set(before.map((v) => JSON.stringify(v)));
      return [...before, ...after.filter((v) => !seen.has(JSON.stringify(v)))];
    }
    if (JSON.stringify(target) !== JSON.stringify(source)) {
      const conflict = conflicts.get(path) ?? {
        path: path || '(root)',
        values: [{ agentId: ownerOf(path), value: target }],
      };
      conflict.values.push({ agentId, value: source });
      conflicts.set(path, conflict);
    }
    return target;
  };
  let structured: unknown;
  for (const result of results) {
    if (result.output.structured !== undefined)
      structured = merge(structured, result.output.structured, '', result.agentId);
  }
  const listed = [...conflicts.values()];
  const note =
    listed.length > 0
      ? `\n\nConflicts (first value kept): ${listed.map((c) => `${c.path}: ${c.values.map((v) => `${v.agentId}=${JSON.stringify(v.value)}`).join(' vs ')}`).join('; ')}`
      : '';
  return {
    strategy: 'merge',
    text: `${JSON.stringify(structured ?? null, null, 2)}${note}`,
    ...(structured !== undefined ? { structured } : {}),
    details: { conflicts: listed },
  };
}

/** Majority on one field of the agents' structured outputs; a tie is reported, not broken. */
export function voteResults(results: AgentResultInput[], field: string): PhaseOutput {
  const counts = new Map<string, { value: unknown; votes: number; agents: string[] }>();
  const abstained: string[] = [];
  for (const result of results) {
    const value = valueAt(result.output.structured, field);
    if (value === undefined) {
      abstained.push(result.agentId);
      continue;
    }
    const key = JSON.stringify(value);
    const tally = counts.get(key) ?? { value, votes: 0, agents: [] };
    tally.votes++;
    tally.agents.push(result.agentId);
    counts.set(key, tally);
  }
  const ranked = [...counts.values()].sort((a, b) => b.votes - a.votes);
  const top = ranked[0]?.votes ?? 0;
  const leaders = ranked.filter((t) => t.votes === top);
  const tie = leaders.length > 1 ? leaders.map((t) => t.value) : undefined;
  const winner = leaders.length === 1 ? leaders[0]!.value : undefined;
  const votes = ranked.map((t) => ({ value: t.value, votes: t.votes, agents: t.agents }));
  const text =
    winner !== undefined
      ? `${field} = ${JSON.stringify(winner)} (${top} of ${results.length} votes)`
      : tie
        ? `tie on ${field} between ${tie.map((v) => JSON.stringify(v)).join(' and ')} (${top} votes each)`
        : `no agent gave ${field}`;
  return {
    strategy: 'vote',
    text,
    // The winner sits at the voted path, so `when:` and `foreach:` read it back with the same field,
    // also a field named `votes` or `tie` (whose tally is then in `details` only).
    structured: { votes, ...(tie ? { tie } : {}), ...objectAt(field, winner ?? null) },
    details: { votes, ...(tie ? { tie } : {}), abstained },
  };
}

/** `{a: {b: value}}` for the path `a.b`. */
function objectAt(path: string, value: unknown): Record<string, unknown> {
  return path.split('.').reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), value as never);
}

function quoteResults(results: AgentResultInput[]): string {
  return results
    .map((r) => {
      const body = r.output.structured !== undefined ? JSON.stringify(r.output.structured) : r.output.text;
      return `<result agent="${r.agentId}">\n${body.length > QUOTE_LIMIT ? `${body.slice(0, QUOTE_LIMIT)}…` : body}\n</result>`;
    })
    .join('\n');
}

/** The task of the agent that judges a phase's results. */
export function judgePrompt(spec: AggregateSpec, phaseId: string, results: AgentResultInput[]): string {
  const task =
    spec.prompt ??
    'Pick the best of these results, or combine their best parts into one better result. Say which agents you drew on and why.';
  return `You are the judge of phase "${phaseId}": ${results.length} agents worked on the same task.\n\n${task}\n\n${quoteResults(results)}`;
}

/** The task of one reducer: fold a group of results (or of earlier reductions) into one. */
export function reducePrompt(spec: AggregateSpec, phaseId: string, results: AgentResultInput[]): string {
  const task =
    spec.prompt ?? 'Combine these results into one result that keeps every distinct finding and drops repetition.';
  return `You are folding the results of phase "${phaseId}" together, ${results.length} at a time.\n\n${task}\n\n${quoteResults(results)}`;
}

/** Splits results into groups of `fanIn` for one level of a hierarchical reduce. */
export function reduceGroups<T>(items: T[], fanIn: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += fanIn) groups.push(items.slice(i, i + fanIn));
  return groups;
}
