import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import { BatonError, ErrorCodes, systemClock, type Clock } from '../core/index.js';
import type { ContextEntry, Store } from '../store/index.js';
import type { ContextDraft } from './extract.js';
import { decisionHistory, quoteHistoryWithin, withHistory, type DecisionHistory } from './history.js';
import { agentKey, isPhaseOutputKey, phaseSpeakingOrder } from './keys.js';
import { renderContext } from './prompt.js';
import type { Reranker } from './rerank.js';
import { hasUpdatedKeys, restatedReplacedValues } from './restated.js';
import {
  defaultSelectionTuning,
  fitBudget,
  noteListGrowth,
  rankFacts,
  stableOrder,
  supersededIn,
  withoutRepetition,
  type Ranked,
  type SelectionTuning,
  type TaskDescription,
} from './select.js';
import { ExtractiveSummarizer, type Summarizer } from './summarize.js';
import { countTokens } from './tokens.js';
import { loadWordNet, type WordNet } from './wordnet.js';

/** How an agent inherits what came before it. */
export type InheritMode = 'all' | 'summary' | 'filtered' | 'none';

/** Where an entry came from. */
export interface ContextSource {
  sessionId?: string;
  agentId?: string;
  phaseId?: string;
}

/**
 * Whether a keyed fact's current value stays when an agent of its writer's phase (another session:
 * they ran side by side) writes the key too: its writer has the last word in the phase (see
 * `phaseSpeakingOrder`), so the value does not depend on which of them finished first.
 */
function keepsTheLastWord(current: ContextEntry, next: ContextEntry): boolean {
  const sideBySide =
    current.phaseId !== undefined &&
    current.phaseId === next.phaseId &&
    current.agentId !== undefined &&
    next.agentId !== undefined &&
    current.sessionId !== next.sessionId;
  return sideBySide && phaseSpeakingOrder(current, next) > 0;
}

export interface SelectionRequest {
  /** Phases whose accumulated context the agent inherits, oldest first (its phase's dependencies, transitively). */
  phaseIds: string[];
  /** Sessions whose context it inherits directly (its parent session). */
  sessionIds?: string[];
  /** The agent's task: filtering ranks entries by relevance to it. */
  task: string;
  /** The agent's role (its system prompt), its phase and the files it will touch: weaker hints of what it needs. */
  role?: string;
  phaseId?: string;
  files?: string[];
  /** The phases among `phaseIds` that the agent's phase depends on directly (default: the last one). */
  parentPhaseIds?: string[];
  mode: InheritMode;
  /** For `filtered`: the most tokens of context to give, counted on the rendered section; a ceiling, not a target. */
  budgetTokens: number;
  /** Cancels a re-ranker's model call. */
  signal?: AbortSignal;
}

export interface SelectedContext {
  mode: InheritMode;
  /** In a stable order: parent sessions, then by phase, then as saved. */
  entries: ContextEntry[];
  /** Tokens of the rendered context section (`renderContext(entries)`), exactly. */
  tokens: number;
  /** How many entries (or summaries) were candidates before filtering. */
  considered: number;
  /** Entries left out because their checksum did not match. */
  corrupt: string[];
  /** Decisions left out because a newer one replaced them: id → the replacement's id. */
  superseded?: Record<string, string>;
}

export interface AccumulatorOptions {
  store: Store;
  runId: string;
  /** `context_size_limit`: above this many bytes, older context is summarised. */
  sizeLimitBytes: number;
  summarizer?: Summarizer;
  clock?: Clock;
  /** Thresholds of `filtered` selection (see `defaultSelectionTuning`). */
  tuning?: Partial<SelectionTuning>;
  /**
   * Optional second stage of `filtered`: a model picks, among the best `RERANK_POOL` facts by the
   * deterministic ranking, the ones the agent needs. Off by default (no model call).
   */
  reranker?: Reranker;
  /**
   * The tasks of the agents that will read a summary of these phases (one phase, or the several a run
   * summary covers: agents that inherit all of them): a summary keeps first what they ask about. Without it, the task of the
   * agent whose request makes the summary.
   */
  readersOf?: (phaseIds: string[]) => TaskDescription[];
  /**
   * Read WordNet in the background now (default), so the first selection rarely waits for it; false
   * when no agent is known to inherit (25–130 ms of CPU and about 30 MB saved; a selection still loads it).
   */
  preloadWordNet?: boolean;
  /**
   * `context.superseded: show`: a decision that replaced earlier ones (a superseding unkeyed decision,
   * a keyed one's update) is given with what it replaced, quoted on its line (counted in the budget).
   * Off by default: a replaced decision is not given at all.
   */
  showSuperseded?: boolean;
}

/** What rendering adds to a fact's own tokens: `- [finding] ` and the line break; and a source's heading. */
const RENDERED_LINE_TOKENS = 6;
const SOURCE_HEADING_TOKENS = 9;
/** `## Context from earlier agents`. */
const SECTION_HEADING_TOKENS = 5;

/** How many of the deterministically best facts a re-ranker chooses from. */
const RERANK_POOL = 40;

/** Parent sessions' facts first, then by inherited phase, then by agent, then as saved (see `stableOrder`). */
function presentationOrder(entries: ContextEntry[], request: SelectionRequest): ContextEntry[] {
  return [...entries].sort(stableOrder(request.phaseIds));
}

/** The level-0 entries of some phases and sessions, as the store lists them (in the order saved). */
interface CandidateSet {
  phaseIds: string[];
  sessionIds: string[];
  entries: ContextEntry[];
  corrupt: string[];
}

/**
 * `current` with, for each keyed fact whose current value is not among them, the newest of its
 * `earlier` values, placed where the fact was first saved (as the store orders it).
 */
function withEarlierValues(current: ContextEntry[], earlier: ContextEntry[]): ContextEntry[] {
  const have = new Set(current.map((e) => e.id));
  const newest = new Map<string, ContextEntry>();
  for (const e of earlier) if (!have.has(e.id) && (newest.get(e.id)?.version ?? 0) < e.version) newest.set(e.id, e);
  const entries = [...current];
  for (const e of newest.values()) {
    const at = entries.findIndex((other) => other.createdAt > e.createdAt);
    entries.splice(at === -1 ? entries.length : at, 0, e);
  }
  return entries;
}

/** The `superseded` field of a selection: decisions a newer one revised, and restatements a keyed update replaced. */
function supersededField(...maps: Array<Map<string, string>>): Pick<SelectedContext, 'superseded'> {
  const superseded = Object.fromEntries(maps.flatMap((map) => [...map]));
  return Object.keys(superseded).length > 0 ? { superseded } : {};
}

const bytesOf = (entries: ContextEntry[]): number => entries.reduce((sum, e) => sum + Buffer.byteLength(e.content), 0);

/**
 * The DynamicContextAccumulator: collects the facts agents produce across phases and picks, for each
 * next agent, what it should know — all of it (summarising older context hierarchically, entries →
 * phase summary → run summary, when it outgrows the size limit), summaries, or only the facts relevant
 * to its task within a token budget (see `rankFacts`). Nothing is deleted: summaries point to the
 * entries they replace, which stay in the store.
 */
export class DynamicContextAccumulator {
  private readonly clock: Clock;
  private readonly fallback = new ExtractiveSummarizer();
  /** Candidate sets of the running phases, kept up to date by this accumulator's writes (the run's only writer). */
  private readonly cache = new LRUCache<string, CandidateSet>({ max: 64 });

  private readonly tuning: SelectionTuning;
  /**
   * Summaries this accumulator wrote or is writing, by exactly what they cover (entries and their
   * versions): reused whatever the clock says (a summary written in the same ms as its facts too).
   */
  private readonly summaries = new LRUCache<string, Promise<ContextEntry>>({ max: 256 });

  constructor(private readonly options: AccumulatorOptions) {
    this.clock = options.clock ?? systemClock;
    this.tuning = { ...defaultSelectionTuning, ...options.tuning };
    // WordNet loads in the background now, so the first selection (after a whole phase) rarely waits for it.
    if (options.preloadWordNet !== false) void loadWordNet();
  }

  /**
   * Saves an agent's facts; keyed facts update the current value (merging concurrent writers). With `idPrefix` the entries get ids `<idPrefix>:<n>`, so saving the same
   * facts again (a resumed run finishing an agent's bookkeeping) is a no-op instead of a duplicate.
   * `finishedAt`, when the agent finished (its facts were first saved then), does the same for keyed
   * facts: one whose current value was written since is left as it is — this agent's value, or a later
   * agent's that replaced it — so saving again neither reverts nor renews it; and an unkeyed fact
   * already stored under its id stays as stored (an older Baton may have extracted it otherwise).
   */
  async add(
    drafts: ContextDraft[],
    source: ContextSource,
    idPrefix?: string,
    finishedAt?: number,
  ): Promise<ContextEntry[]> {
    const saved: ContextEntry[] = [];
    for (const [n, draft] of drafts.entries()) {
      if (draft.key !== undefined) {
        const key = agentKey(draft.key);
        const current = finishedAt === undefined ? undefined : await this.savedSince(key, finishedAt);
        saved.push(current ?? (await this.upsertKeyed(key, () => ({ ...draft, key }), source)));
        continue;
      }
      const entry = this.entryFor(draft, source);
      if (idPrefix === undefined) {
        saved.push(await this.options.store.saveContextEntry(entry));
        continue;
      }
      const id = `${idPrefix}:${n}`;
      // Saved again: what is stored under its id stays, though an older Baton may have read the result otherwise.
      const stored = finishedAt === undefined ? undefined : await this.options.store.getContextEntry(id);
      saved.push(stored ?? (await this.options.store.saveContextEntry({ ...entry, id })));
    }
    this.remember(saved);
    return saved;
  }

  /** The keyed fact, if its current value was written at or after `time`. */
  private async savedSince(key: string, time: number): Promise<ContextEntry | undefined> {
    const current = await this.options.store.getContextEntryByKey(this.options.runId, key);
    return current && current.updatedAt >= time ? current : undefined;
  }

  /**
   * Read-modify-write of a keyed fact with optimistic concurrency: `update` sees the current value
   * and returns the next; when another writer got there first, it runs again on the newer value, so
   * no update is lost.
   */
  async upsertKeyed(
    key: string,
    update: (current: ContextEntry | undefined) => ContextDraft,
    source: ContextSource,
  ): Promise<ContextEntry> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.options.store.getContextEntryByKey(this.options.runId, key);
      const next = this.entryFor({ ...update(current), key }, source);
      if (current && keepsTheLastWord(current, next)) return current;
      try {
        const saved = await this.options.store.saveContextEntry(current ? { ...next, id: current.id } : next, {
          expectedVersion: current?.version ?? 0,
        });
        this.remember([saved]);
        if (current) this.replacedValues = undefined; // one more replaced value
        return saved;
      } catch (error) {
        if (!(error instanceof BatonError && error.code === ErrorCodes.contextConflict) || attempt >= 50) throw error;
        // Another writer won; back off a little (with jitter, so contenders spread out) and re-read.
        await sleep(Math.random() * Math.min(50, 2 * attempt));
      }
    }
  }

  async select(request: SelectionRequest): Promise<SelectedContext> {
    if (request.mode === 'none' || (request.phaseIds.length === 0 && !request.sessionIds?.length)) {
      return { mode: request.mode, entries: [], tokens: 0, considered: 0, corrupt: [] };
    }
    if (request.mode === 'filtered') return this.filtered(request);

    const candidates = await this.candidates(request.phaseIds, request.sessionIds ?? []);
    const { entries: all, restated } = await this.withoutRestated(candidates.entries);
    const corrupt = candidates.corrupt;
    const wordnet = await loadWordNet();
    const history = request.mode === 'all' ? await this.historyOf(all, request, wordnet) : undefined;
    const inherited = presentationOrder(withoutRepetition(all, this.tuning, wordnet, request.phaseIds), request);
    const fromParents = inherited.filter(
      (e) => request.sessionIds?.includes(e.sessionId ?? '') && !request.phaseIds.includes(e.phaseId ?? ''),
    );
    const byPhase = request.phaseIds.map((phaseId) => ({
      phaseId,
      entries: inherited.filter((e) => e.phaseId === phaseId && !fromParents.includes(e)),
    }));
    let entries: ContextEntry[];
    if (request.mode === 'summary') {
      entries = [...fromParents];
      for (const phase of byPhase)
        if (phase.entries.length > 0) entries.push(await this.summaryOf(1, phase.phaseId, phase.entries, request));
    } else {
      // Summaries are of the current decisions only (one summary serves both modes): the facts given
      // as they are carry their history.
      entries = (await this.withinSizeLimit(fromParents, byPhase, request)).map((entry) =>
        history && entry.level === 0 ? withHistory(entry, history) : entry,
      );
    }
    return {
      mode: request.mode,
      entries,
      tokens: countTokens(renderContext(entries)),
      considered: entries.length,
      corrupt,
      ...this.supersededOf(all, request, wordnet, restated),
    };
  }

  /** With `showSuperseded`, what each candidate decision replaced (see `decisionHistory`); else undefined. */
  private async historyOf(
    all: ContextEntry[],
    request: SelectionRequest,
    wordnet: WordNet | undefined,
  ): Promise<DecisionHistory | undefined> {
    if (!this.options.showSuperseded) return undefined;
    const superseded = supersededIn(all, this.tuning, wordnet, request.phaseIds);
    const keyed = all.some((e) => e.key !== undefined && !isPhaseOutputKey(e.key));
    const replaced = keyed ? (await this.options.store.listReplacedContext(this.options.runId)).entries : [];
    const inherited = (e: ContextEntry): boolean =>
      request.phaseIds.includes(e.phaseId ?? '') || (request.sessionIds ?? []).includes(e.sessionId ?? '');
    return decisionHistory(all, superseded, replaced, inherited, stableOrder(request.phaseIds));
  }

  /** `superseded` of a selection, when a decision was left out for a newer one (or a keyed update: `restated`). */
  private supersededOf(
    all: ContextEntry[],
    request: SelectionRequest,
    wordnet: WordNet | undefined,
    restated: Map<string, string>,
  ): Pick<SelectedContext, 'superseded'> {
    return supersededField(supersededIn(all, this.tuning, wordnet, request.phaseIds), restated);
  }

  /** Replaced values of the run's keyed facts: read once, and again after this accumulator updates a key. */
  private replacedValues: Promise<ContextEntry[]> | undefined;

  /**
   * The candidates without the unkeyed decisions that restate a keyed value an update replaced since
   * (see `restatedReplacedValues`), and those: id → the keyed decision's id.
   */
  private async withoutRestated(
    candidates: ContextEntry[],
  ): Promise<{ entries: ContextEntry[]; restated: Map<string, string> }> {
    if (!hasUpdatedKeys(candidates)) return { entries: candidates, restated: new Map() };
    const read = (this.replacedValues ??= this.options.store
      .listReplacedContext(this.options.runId)
      .then((r) => r.entries));
    read.catch(() => this.replacedValues === read && (this.replacedValues = undefined));
    const restated = restatedReplacedValues(candidates, await read);
    return { entries: candidates.filter((e) => !restated.has(e.id)), restated };
  }

  /**
   * Every inherited fact is a candidate; those relevant enough to the agent's task go in, best first,
   * while the rendered section fits the budget (a ceiling: irrelevant facts never fill it). Superseded
   * decisions, repeated phase outputs, near-duplicates and empty facts never go in.
   */
  private async filtered(request: SelectionRequest): Promise<SelectedContext> {
    const [candidates, wordnet] = await Promise.all([
      this.candidates(request.phaseIds, request.sessionIds ?? []),
      loadWordNet(),
    ]);
    const { entries: all, restated } = await this.withoutRestated(candidates.entries);
    const corrupt = candidates.corrupt;
    const history = await this.historyOf(all, request, wordnet);
    const small = this.smallContext(all, request, wordnet, history);
    if (small)
      return {
        mode: 'filtered',
        ...small,
        considered: small.entries.length,
        corrupt,
        ...this.supersededOf(all, request, wordnet, restated),
      };
    const { ranked: deterministic, superseded, considered } = rankFacts(all, request, this.tuning, wordnet);
    const chosen = this.options.reranker ? await this.reranked(all, request, deterministic, wordnet) : deterministic;
    const present = (entries: ContextEntry[]): ContextEntry[] => presentationOrder(entries, request);
    const ceiling = this.ceilingOf(all, request);
    const fitted = fitBudget(chosen, ceiling, present);
    const { entries, tokens } = history ? quoteHistoryWithin(fitted, chosen, history, ceiling) : fitted;
    return {
      mode: 'filtered',
      entries,
      tokens,
      considered,
      corrupt,
      ...supersededField(superseded, restated),
    };
  }

  /**
   * The budget, or `contextShare` of what naive inheritance would render (every inherited entry, each
   * source named once), if that is lower — but never below `smallContextTokens`; a share of 1 or more
   * sets no such ceiling. Naive is estimated from the stored token counts; only when the share could
   * be below the budget (a context of at most a few hundred facts) is it rendered and counted exactly.
   */
  private ceilingOf(all: ContextEntry[], request: SelectionRequest): number {
    const { contextShare, smallContextTokens } = this.tuning;
    const sources = new Set(all.map((e) => `${e.agentId}\u0000${e.phaseId}`)).size;
    const lines = all.reduce((sum, e) => sum + e.tokens + RENDERED_LINE_TOKENS, 0);
    const estimate = SECTION_HEADING_TOKENS + sources * SOURCE_HEADING_TOKENS + lines;
    if (contextShare >= 1 || contextShare * estimate >= 2 * request.budgetTokens) return request.budgetTokens;
    const naive = countTokens(renderContext(presentationOrder(all, request)));
    return Math.min(request.budgetTokens, Math.floor(Math.max(smallContextTokens, contextShare * naive)));
  }

  /** All inherited facts (without repetition) when they are few enough to give whole; else undefined. */
  private smallContext(
    all: ContextEntry[],
    request: SelectionRequest,
    wordnet: WordNet | undefined,
    history: DecisionHistory | undefined,
  ): { entries: ContextEntry[]; tokens: number } | undefined {
    const limit = Math.min(request.budgetTokens, this.tuning.smallContextTokens);
    // Without repetition first (the analysis ranking reuses): phase outputs and duplicates count for nothing.
    const unrepeated = withoutRepetition(all, this.tuning, wordnet, request.phaseIds);
    if (unrepeated.reduce((sum, e) => sum + e.tokens, 0) > limit) return undefined; // rendered is longer still
    const entries = presentationOrder(unrepeated, request);
    const tokens = countTokens(renderContext(entries));
    if (!(tokens <= limit)) return undefined; // a budget that is not a number too
    // Small without the quotes, so given whole (as with `omit`); the quotes added within the budget.
    return history
      ? quoteHistoryWithin(
          { entries, tokens },
          entries.map((entry) => ({ entry })),
          history,
          request.budgetTokens,
        )
      : { entries, tokens };
  }

  /**
   * The facts a re-ranker picks from a wider pool (the deterministic ranking with no relative
   * threshold), in its order; when it fails, the deterministic choice — a run never stops for it.
   */
  private async reranked(
    all: ContextEntry[],
    request: SelectionRequest,
    deterministic: Ranked[],
    wordnet: WordNet | undefined,
  ): Promise<Ranked[]> {
    // Facts that share no word with the task are in the pool too: the model may see what words miss.
    const loose = { ...this.tuning, minRelevance: 0, relativeRelevance: 0 };
    const pool = rankFacts(all, request, loose, wordnet).ranked.slice(0, RERANK_POOL);
    if (pool.length === 0) return deterministic;
    try {
      const ids = await this.options.reranker!.rerank(
        { task: request.task, facts: pool.map((r) => r.entry) },
        request.signal,
      );
      const byId = new Map(pool.map((r) => [r.entry.id, r]));
      return ids.flatMap((id) => byId.get(id) ?? []);
    } catch {
      return deterministic;
    }
  }

  /**
   * When this accumulator last wrote: write times strictly increase, so an agent's facts saved in one
   * millisecond are ordered as it gave them — a tie would fall to ids, random for keyed facts.
   */
  private lastWrite = 0;

  private entryFor(draft: ContextDraft, source: ContextSource): ContextEntry {
    const now = Math.max(this.clock.now(), this.lastWrite + 1);
    this.lastWrite = now;
    return {
      id: randomUUID(),
      runId: this.options.runId,
      ...source,
      type: draft.type,
      ...(draft.key !== undefined ? { key: draft.key } : {}),
      content: draft.content,
      tags: draft.tags,
      tokens: countTokens(draft.content),
      level: 0,
      checksum: '',
      version: 0,
      createdAt: now,
      updatedAt: now,
    };
  }

  /**
   * Puts saved entries into the cached candidate sets they belong to (a new entry at the end, an
   * updated keyed entry in its place), so the next agent's selection need not read the run again.
   */
  private remember(saved: ContextEntry[]): void {
    for (const [key, set] of [...this.cache.entries()]) {
      // A keyed fact updated by an agent of a phase this set does not inherit keeps, here, the value
      // it had (as `candidates` reads it from the store): only an inherited writer's update replaces it.
      const mine = saved.filter(
        (e) => e.level === 0 && (set.phaseIds.includes(e.phaseId ?? '') || set.sessionIds.includes(e.sessionId ?? '')),
      );
      if (mine.length === 0) continue;
      const savedById = new Map(mine.map((e) => [e.id, e]));
      const entries = set.entries.map((e) => savedById.get(e.id) ?? e);
      const known = new Set(set.entries.map((e) => e.id));
      entries.push(...mine.filter((e) => !known.has(e.id)));
      noteListGrowth(set.entries, entries);
      this.cache.set(key, { ...set, entries });
    }
  }

  /**
   * The inherited facts: every level-0 entry of these phases and sessions, in the order saved — of a
   * keyed fact, the newest value an inherited phase or session wrote (an update by a phase not
   * inherited leaves the value before it: what the agent sees does not depend on whether that update
   * came first).
   */
  private async candidates(phaseIds: string[], sessionIds: string[]): Promise<CandidateSet> {
    const key = JSON.stringify([phaseIds, sessionIds]);
    const hit = this.cache.get(key);
    if (hit) return hit;
    const { store, runId } = this.options;
    const [byPhase, bySession, replaced] = await Promise.all([
      store.listContextEntries({ runId, phaseIds, level: 0 }),
      sessionIds.length > 0
        ? store.listContextEntries({ runId, sessionIds, level: 0 })
        : Promise.resolve({ entries: [], corrupt: [] }),
      store.listReplacedContext(runId),
    ]);
    const seen = new Set<string>();
    const current = [...bySession.entries, ...byPhase.entries].filter((e) => !seen.has(e.id) && seen.add(e.id));
    const inherited = (e: ContextEntry): boolean =>
      phaseIds.includes(e.phaseId ?? '') || sessionIds.includes(e.sessionId ?? '');
    const entries = withEarlierValues(current, replaced.entries.filter(inherited));
    const corrupt = [...new Set([...byPhase.corrupt, ...bySession.corrupt, ...replaced.corrupt])];
    const result = { phaseIds, sessionIds, entries, corrupt };
    this.cache.set(key, result);
    return result;
  }

  /** Over the size limit, the oldest phases are replaced by their summaries, then everything by a run summary. */
  private async withinSizeLimit(
    fromParents: ContextEntry[],
    byPhase: Array<{ phaseId: string; entries: ContextEntry[] }>,
    request: SelectionRequest,
  ): Promise<ContextEntry[]> {
    const limit = this.options.sizeLimitBytes;
    const parts = byPhase.map((p) => p.entries);
    const flat = (): ContextEntry[] => [...fromParents, ...parts.flat()];
    for (let i = 0; i < byPhase.length && bytesOf(flat()) > limit; i++) {
      const phase = byPhase[i]!;
      if (phase.entries.length > 0) parts[i] = [await this.summaryOf(1, phase.phaseId, phase.entries, request)];
    }
    if (bytesOf(flat()) <= limit) return flat();
    const originals = byPhase.flatMap((p) => p.entries);
    return [...fromParents, await this.summaryOf(2, undefined, originals, request)];
  }

  /**
   * The entries some reader's task names, in its words or their paraphrases: lexical relevance only,
   * without the source and type priors (which pass every fact of a phase with one agent).
   */
  private async askedAbout(entries: ContextEntry[], readers: TaskDescription[]): Promise<Set<string>> {
    const wordnet = await loadWordNet();
    const lexical = { ...this.tuning, sourceWeight: 0, sourceNameWeight: 0, priorWeight: 0 };
    const asked = new Set<string>();
    for (const reader of readers)
      for (const { entry } of rankFacts(entries, reader, lexical, wordnet).ranked) asked.add(entry.id);
    return asked;
  }

  /**
   * The summary of exactly these entries: the stored one if it exists, else a new one — one for agents
   * asking at the same time (a phase's agents start together), not one summarizer call each.
   */
  private async summaryOf(
    level: 1 | 2,
    phaseId: string | undefined,
    entries: ContextEntry[],
    requester: SelectionRequest,
  ): Promise<ContextEntry> {
    const ids = entries.map((e) => e.id).sort();
    // A keyed entry is updated in place (same id): a summary written before its update is stale.
    const newest = entries.reduce((max, e) => Math.max(max, e.updatedAt), 0);
    const key = JSON.stringify([level, phaseId ?? null, entries.map((e) => `${e.id}@${e.version}`).sort()]);
    const known = this.summaries.get(key);
    // Written for an agent that was cancelled meanwhile: this one, still running, writes it again.
    if (known)
      return known.catch((error: unknown) => {
        if (requester.signal?.aborted) throw error;
        return this.summaryOf(level, phaseId, entries, requester);
      });
    const made = (async () => {
      const existing = await this.options.store.listContextEntries({
        runId: this.options.runId,
        level,
        ...(phaseId ? { phaseIds: [phaseId] } : {}),
      });
      const same = existing.entries.find(
        (s) =>
          s.phaseId === phaseId &&
          s.createdAt > newest &&
          JSON.stringify([...(s.summaryOf ?? [])].sort()) === JSON.stringify(ids),
      );
      return same ?? this.writeSummary(level, phaseId, entries, requester);
    })();
    this.summaries.set(key, made);
    // One that failed (the run stopped) is written again when next asked for.
    made.catch(() => this.summaries.get(key) === made && this.summaries.delete(key));
    return made;
  }

  private async writeSummary(
    level: 1 | 2,
    phaseId: string | undefined,
    entries: ContextEntry[],
    requester: SelectionRequest,
  ): Promise<ContextEntry> {
    // The requester too: `readersOf` may not know it (no readersOf, or a reader it leaves out).
    const declared = this.options.readersOf?.(phaseId ? [phaseId] : requester.phaseIds) ?? [];
    const readers = [...new Map([...declared, requester].map((reader) => [reader.task, reader])).values()];
    const request = {
      scope: phaseId ? `phase ${phaseId}` : 'the run so far',
      entries,
      maxBytes: Math.max(500, Math.floor(this.options.sizeLimitBytes / 4)),
      laterTasks: readers.map((reader) => reader.task),
      askedAbout: await this.askedAbout(entries, readers),
    };
    let content: string;
    let method = this.options.summarizer?.name ?? this.fallback.name;
    try {
      content = await (this.options.summarizer ?? this.fallback).summarize(request, requester.signal);
    } catch (error) {
      // Stopped with the run: no summary, rather than a stored extract a resumed run would reuse.
      if (requester.signal?.aborted) throw error;
      // No model (or it failed): a deterministic extract keeps the run going.
      method = this.fallback.name;
      content = await this.fallback.summarize(request);
    }
    const summary: ContextEntry = {
      ...this.entryFor({ type: 'summary', content, tags: ['summary', method] }, phaseId ? { phaseId } : {}),
      level,
      summaryOf: entries.map((e) => e.id).sort(),
    };
    // A summary (level 1 or 2) is never a candidate of `filtered`: the candidate sets stay as they are.
    return this.options.store.saveContextEntry(summary);
  }
}
