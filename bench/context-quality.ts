import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DynamicContextAccumulator,
  countTokens,
  extractContext,
  renderContext,
  type SelectionTuning,
} from '../src/context/index.js';
import { openSqliteStore, type ContextEntry, type Store } from '../src/store/index.js';
import { contextWorkflows, type BenchChild, type BenchWorkflow } from './context-workflows.js';
import { heldOutWorkflows } from './context-workflows-heldout.js';
import { heldOut2Workflows } from './context-workflows-heldout2.js';
import { heldOut3Workflows } from './context-workflows-heldout3.js';
import { heldOut4Workflows } from './context-workflows-heldout4.js';
import { checkFactIds, readWorkflowFile } from './context-workflow-file.js';
import { round, type BenchResult } from './harness.js';
import { BenchInputError } from './input-error.js';

/** The default budget first: the targets apply to it. */
const budgets = (process.env.BENCH_CONTEXT_BUDGETS ?? '2000,1000,500').split(',').map(Number);
/** Longest phase output the orchestrator passes on (PHASE_OUTPUT_CONTEXT_CHARS in run.ts). */
const PHASE_OUTPUT_CHARS = 4000;
/** `BENCH_CONTEXT_TUNING='{"contextShare":0.3}'` measures other knobs than the defaults. */
function tuning(): Partial<SelectionTuning> {
  try {
    return JSON.parse(process.env.BENCH_CONTEXT_TUNING ?? '{}') as Partial<SelectionTuning>;
  } catch (error) {
    throw new BenchInputError(`BENCH_CONTEXT_TUNING is no JSON object: ${(error as Error).message}`);
  }
}
/**
 * `BENCH_CONTEXT_SHARES=0.15,0.2,0.25,0.3` also measures every set at each of these `contextShare`s and
 * reports the mean recall over them (`recall_<set>_at_<budget>_over_shares`): at one ceiling a change of
 * ranking moves a set's recall by whole facts, which one lucky or unlucky fact decides; the mean over
 * ceilings says whether needed facts moved up the ranking in general.
 */
function sharesToAverage(): number[] {
  return (process.env.BENCH_CONTEXT_SHARES ?? '')
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => {
      const share = Number(s);
      if (!(share > 0))
        throw new BenchInputError(`BENCH_CONTEXT_SHARES: "${s}" is no contextShare; give numbers above 0`);
      return share;
    });
}
/**
 * `BENCH_CONTEXT_HELDOUT=0` leaves the four held-out sets out (while tuning, so they stay unseen);
 * `BENCH_CONTEXT_WORKFLOWS=<file.json>` measures workflows of your own instead (a JSON array of
 * `BenchWorkflow`), reported as the set `external`.
 */
function workflowSets(): Array<{ set: string; workflows: BenchWorkflow[] }> {
  const external = process.env.BENCH_CONTEXT_WORKFLOWS;
  if (external) return [{ set: 'external', workflows: readWorkflowFile(external) }];
  return [
    { set: 'tuned', workflows: contextWorkflows },
    ...(process.env.BENCH_CONTEXT_HELDOUT === '0'
      ? []
      : [
          { set: 'held-out', workflows: heldOutWorkflows },
          { set: 'held-out-2', workflows: heldOut2Workflows },
          { set: 'held-out-3', workflows: heldOut3Workflows },
          { set: 'held-out-4', workflows: heldOut4Workflows },
        ]),
  ];
}

/** Stores a workflow's results as the orchestrator does; returns each fact id's entry id. */
async function record(workflow: BenchWorkflow, accumulator: DynamicContextAccumulator): Promise<Map<string, string>> {
  const entryOf = new Map<string, string>();
  const factsOf = new Map<string, number>();
  for (const result of workflow.results) {
    const drafts = extractContext({ text: result.text });
    const saved = await accumulator.add(
      drafts,
      { sessionId: `${result.agent}-session`, agentId: result.agent, phaseId: result.phase },
      `${result.agent}-session:fact`,
    );
    saved.forEach((entry, n) => entryOf.set(`${result.agent}.${n + 1}`, entry.id));
    factsOf.set(result.agent, saved.length);
  }
  checkFactIds(workflow, factsOf);
  for (const phase of workflow.phaseOutputs) {
    const text = workflow.results
      .filter((r) => r.phase === phase)
      .map((r) => `## ${r.agent}\n${r.text}`)
      .join('\n\n');
    await accumulator.upsertKeyed(
      `phase-output/${phase}`,
      () => ({
        type: 'artifact',
        content: `Output of phase ${phase} (concat):\n${text.length > PHASE_OUTPUT_CHARS ? `${text.slice(0, PHASE_OUTPUT_CHARS)}…` : text}`,
        tags: ['phase-output', 'concat'],
      }),
      { phaseId: phase },
    );
  }
  return entryOf;
}

/** Naive inheritance: every entry of every inherited phase, rendered as the agent would see it. */
async function naiveTokens(store: Store, runId: string, child: BenchChild): Promise<number> {
  const { entries } = await store.listContextEntries({ runId, phaseIds: child.inherits, level: 0 });
  const order = (e: ContextEntry): number => child.inherits.indexOf(e.phaseId ?? '');
  return countTokens(renderContext([...entries].sort((a, b) => order(a) - order(b) || a.createdAt - b.createdAt)));
}

interface ChildScore {
  found: number;
  needed: number;
  relevantInjected: number;
  injected: number;
  tokens: number;
  naive: number;
  supersededWithReplacement: number;
  supersededInjected: number;
  missed: string[];
}

function scoreChild(
  workflow: BenchWorkflow,
  child: BenchChild,
  entryOf: Map<string, string>,
  injected: ContextEntry[],
): Omit<ChildScore, 'tokens' | 'naive'> {
  const given = new Set(injected.map((e) => e.id));
  const group = (fact: string): string[] => workflow.duplicates.find((g) => g.includes(fact)) ?? [fact];
  const has = (fact: string): boolean => group(fact).some((f) => given.has(entryOf.get(f) ?? ''));
  const missed = child.needs.filter((fact) => !has(fact));
  const neededIds = new Set(child.needs.flatMap((f) => group(f).map((g) => entryOf.get(g))));
  let supersededWithReplacement = 0;
  let supersededInjected = 0;
  for (const [old, replacement] of Object.entries(workflow.superseded)) {
    const [oldId, newId] = [entryOf.get(old), entryOf.get(replacement)];
    if (oldId === newId || !oldId || !given.has(oldId)) continue; // keyed: replaced in place, nothing to inject
    supersededInjected++;
    if (newId && given.has(newId)) supersededWithReplacement++;
  }
  return {
    found: child.needs.length - missed.length,
    needed: child.needs.length,
    relevantInjected: injected.filter((e) => neededIds.has(e.id)).length,
    injected: injected.length,
    supersededWithReplacement,
    supersededInjected,
    missed,
  };
}

function summarise(scores: ChildScore[]): Record<string, number> {
  return {
    recall: round(sum(scores, 'found') / sum(scores, 'needed'), 3),
    precision: round(sum(scores, 'relevantInjected') / Math.max(1, sum(scores, 'injected')), 3),
    tokens: sum(scores, 'tokens'),
    naive: sum(scores, 'naive'),
    vs_naive: round(sum(scores, 'tokens') / sum(scores, 'naive'), 3),
    superseded_next_to_replacement: sum(scores, 'supersededWithReplacement'),
    superseded_injected: sum(scores, 'supersededInjected'),
  };
}

const missedOf = (scores: ChildScore[]): string => scores.flatMap((s) => s.missed).join(' ') || '-';

function sum(scores: ChildScore[], field: keyof Omit<ChildScore, 'missed'>): number {
  return scores.reduce((s, c) => s + c[field], 0);
}

async function measureWorkflow(
  workflow: BenchWorkflow,
  knobs: Partial<SelectionTuning> = tuning(),
): Promise<Map<number, ChildScore[]>> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-quality-'));
  const store = openSqliteStore({ dataDir: dir });
  try {
    const runId = workflow.name;
    const accumulator = new DynamicContextAccumulator({
      store,
      runId,
      sizeLimitBytes: Number.MAX_SAFE_INTEGER,
      tuning: knobs,
    });
    const entryOf = await record(workflow, accumulator);
    const byBudget = new Map<number, ChildScore[]>();
    for (const budgetTokens of budgets) {
      const scores: ChildScore[] = [];
      for (const child of workflow.children) {
        const selected = await accumulator.select({
          phaseIds: child.inherits,
          task: child.task,
          ...(child.role ? { role: child.role } : {}),
          phaseId: child.phase,
          mode: 'filtered',
          budgetTokens,
        });
        const naive = await naiveTokens(store, runId, child);
        scores.push({ ...scoreChild(workflow, child, entryOf, selected.entries), tokens: selected.tokens, naive });
      }
      byBudget.set(budgetTokens, scores);
    }
    return byBudget;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each set's recall and tokens vs naive at every `BENCH_CONTEXT_SHARES` share, averaged over the shares. */
async function recallOverShares(shares: number[]): Promise<BenchResult['metrics']> {
  const perGroup = new Map<string, Array<Record<string, number>>>();
  for (const share of shares) {
    const totals = new Map<string, ChildScore[]>();
    for (const { set, workflows } of workflowSets())
      for (const workflow of workflows)
        for (const [budget, scores] of await measureWorkflow(workflow, { ...tuning(), contextShare: share }))
          totals.set(`${set}_at_${budget}`, [...(totals.get(`${set}_at_${budget}`) ?? []), ...scores]);
    for (const [group, scores] of totals) perGroup.set(group, [...(perGroup.get(group) ?? []), summarise(scores)]);
  }
  const mean = (list: Array<Record<string, number>>, field: string): number =>
    round(list.reduce((sum, s) => sum + (s[field] ?? 0), 0) / list.length, 3);
  const metrics: BenchResult['metrics'] = {};
  for (const [group, list] of perGroup) {
    metrics[`recall_${group}_over_shares`] = mean(list, 'recall');
    metrics[`vs_naive_${group}_over_shares`] = mean(list, 'vs_naive');
  }
  return metrics;
}

/**
 * How well `filtered` inheritance picks what each child needs, on workflows whose children's tasks
 * paraphrase the facts they need, with near-duplicates, contradicting decisions, empty facts and
 * phase outputs present: recall of needed facts, precision, tokens versus naive full inheritance.
 */
export async function contextQuality(): Promise<BenchResult> {
  const rows: BenchResult['rows'] = [];
  const metrics: BenchResult['metrics'] = {};
  const totals = new Map<string, ChildScore[]>();
  for (const { set, workflows } of workflowSets()) {
    for (const workflow of workflows) {
      for (const [budget, scores] of await measureWorkflow(workflow)) {
        for (const group of [`${set}_at_${budget}`, `all_at_${budget}`])
          totals.set(group, [...(totals.get(group) ?? []), ...scores]);
        rows.push({ set, workflow: workflow.name, budget, ...summarise(scores), missed: missedOf(scores) });
      }
    }
  }
  for (const [group, scores] of totals) {
    const { recall, precision, vs_naive, superseded_next_to_replacement } = summarise(scores);
    Object.assign(metrics, {
      [`recall_${group}`]: recall,
      [`precision_${group}`]: precision,
      [`vs_naive_${group}`]: vs_naive,
      [`superseded_next_to_replacement_${group}`]: superseded_next_to_replacement,
    });
  }
  const shares = sharesToAverage();
  if (shares.length > 0) Object.assign(metrics, await recallOverShares(shares));
  return {
    name: 'context_quality',
    goal: 'at the default budget (2000), on tuned and on held-out workflows: recall ≥ 0.95, tokens ≤ 0.2× naive, no superseded decision next to its replacement',
    rows,
    metrics,
  };
}
