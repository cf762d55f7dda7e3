import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ContextEntry, ContextEntryType } from '../store/index.js';
import { renderContext } from './prompt.js';
import {
  REVISION_MARGIN,
  changesValue,
  forAnotherPurpose,
  givesReplacedValue,
  qualifiesOlder,
  revisionStrength,
  sameTopic,
  traitsOf,
  type DecisionTraits,
} from './supersede.js';
import {
  aboutAnotherThing,
  changesNoValue,
  deniesTheOther,
  differInSubject,
  replacedSpans,
  sameStatement,
  saysTheSame,
} from './duplicates.js';
import { isEmptyFact, termsOf, type Terms } from './terms.js';
import { isAggregatorFact, isPhaseOutputKey, phaseSpeakingOrder } from './keys.js';
import { countTokens } from './tokens.js';
import type { WordNet } from './wordnet.js';

/** The knobs of relevance selection; `defaultSelectionTuning` holds the defaults. */
export interface SelectionTuning {
  /** A fact goes in only if its relevance (the share of the task's term weight it covers, 0–1) reaches this... */
  minRelevance: number;
  /** ...and this share of the best fact's relevance for the same task. */
  relativeRelevance: number;
  /** No single term may carry more than this share of a task's weight (a rare word must not decide alone). */
  maxTermShare: number;
  /**
   * When everything inherited (without repetition) renders to at most this many tokens, and fits the
   * budget, the agent gets all of it: filtering so little saves less than a missed fact costs.
   */
  smallContextTokens: number;
  /**
   * Structural prior, added to every fact's relevance: this much for a decision from a direct parent
   * phase, less for other types (`typePrior`) and for older ancestors (`ancestorPrior`). It orders the
   * facts that share no word with the task — constraints from the phase just before come first.
   */
  priorWeight: number;
  /** Each fact gains this share of its source's affinity (the mean relevance of the source's best facts). */
  sourceWeight: number;
  /** A fact from a phase further back than the direct parents weighs this much (relevance and prior). */
  ancestorPrior: number;
  /**
   * The most a selection may give, as a share of naive inheritance (every inherited fact, rendered);
   * with `budgetTokens` the lower ceiling wins; 1 or more turns it off. Facts above the relevance
   * thresholds fill up to it.
   */
  contextShare: number;
  /** Pseudo-relevance feedback: how many of the best facts expand the task's terms, and their share of its weight. */
  feedbackFacts: number;
  feedbackWeight: number;
  /** Facts at least this similar are one fact said twice: only the best (then newest) is kept. */
  duplicateSimilarity: number;
  /** ...and name each other's subject at least this much (see `subjectShare`). */
  duplicateSubject: number;
  /**
   * A newer decision replaces an older one when the share of the older one's subject it names, plus
   * the evidence of a revision (see `revisionEvidence` in supersede.ts), reaches this...
   */
  conflictSimilarity: number;
  /** ...and from this similarity on when it says so of the older one ("instead of winston", "no longer"). */
  revisedSimilarity: number;
  /**
   * Speed, not choice: a candidate set analysed from scratch with at least this many candidates grows
   * with later writes (see `grownAnalysis`); a smaller one is analysed from scratch again, which is cheap.
   */
  growAnalysisFrom: number;
  /**
   * Each fact gains this share of how much its source's name (the agent id, as the heading above its
   * facts shows it) covers the task: an agent named for an area ("payments", "sync") speaks for it.
   */
  sourceNameWeight: number;
}

export const defaultSelectionTuning: SelectionTuning = {
  minRelevance: 0.03,
  relativeRelevance: 0.2,
  priorWeight: 0.05,
  ancestorPrior: 0.7,
  sourceWeight: 0.5,
  contextShare: 0.2,
  maxTermShare: 0.25,
  smallContextTokens: 200,
  feedbackFacts: 3,
  feedbackWeight: 0.3,
  duplicateSimilarity: 0.5,
  duplicateSubject: 0.3,
  conflictSimilarity: 0.8,
  revisedSimilarity: 0.25,
  growAnalysisFrom: 1000,
  sourceNameWeight: 0.3,
};

/** What the agent is about to do: everything selection ranks facts against. */
export interface TaskDescription {
  task: string;
  role?: string;
  phaseId?: string;
  files?: string[];
  /** Inherited phases, oldest first, and the direct parents among them (default: the last one). */
  phaseIds?: string[];
  parentPhaseIds?: string[];
}

/** A mild preference between equally relevant facts; relevance decides first. */
const typeFactor: Record<ContextEntryType, number> = {
  decision: 1,
  error: 0.95,
  finding: 0.9,
  file_changed: 0.85,
  artifact: 0.8,
  summary: 0.75,
};

/** How often a fact of each type is what a later agent needs: decisions and errors constrain its work. */
const typePrior: Record<ContextEntryType, number> = {
  decision: 1,
  error: 0.8,
  finding: 0.5,
  file_changed: 0.4,
  artifact: 0.3,
  summary: 0.3,
};

/** Facts from the phases the agent's phase depends on directly weigh 1; older ancestors `ancestorPrior`. */
function proximityOf(description: TaskDescription, tuning: SelectionTuning): (entry: ContextEntry) => number {
  const phases = description.phaseIds ?? [];
  const parents = new Set(description.parentPhaseIds ?? phases.slice(-1));
  return (entry) => (!entry.phaseId || parents.size === 0 || parents.has(entry.phaseId) ? 1 : tuning.ancestorPrior);
}

/**
 * Made on first use: lru-cache allocates all `max` slots at once (≈ 5–10 ms of CPU for 50,000),
 * which every command, and every `baton run` before its first agent starts, would pay at load.
 */
function onFirstUse<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}

/** Each fact's terms, analysed once per content (the checksum) for the life of the process. */
const analysed = onFirstUse(() => new LRUCache<string, Terms>({ max: 50_000 }));

interface Candidate {
  entry: ContextEntry;
  terms: Terms;
  /** Its place among the selection's candidates (in the order listed). */
  index: number;
  /** Its place among them in order of age (see `older`). */
  age: number;
  /** A decision's wording traits, once it is compared with another decision (see `traitsOf`). */
  traits?: DecisionTraits;
}

/**
 * Terms of the very entry objects an accumulator keeps in its candidate sets: held as long as those
 * sets hold the entries, so a run larger than the LRU below is not analysed again after every write.
 */
const analysedEntries = new WeakMap<ContextEntry, { wordnet: boolean; terms: Terms }>();

function termsOfEntry(entry: ContextEntry, wordnet?: WordNet): Terms {
  const held = analysedEntries.get(entry);
  if (held?.wordnet === Boolean(wordnet)) return held.terms;
  const key = `${entry.id}:${entry.checksum}:${entry.version}:${wordnet ? 'wn' : ''}`;
  const terms = analysed().get(key) ?? termsOf(entry.content, wordnet);
  analysed().set(key, terms);
  analysedEntries.set(entry, { wordnet: Boolean(wordnet), terms });
  return terms;
}

/**
 * A phase's aggregated output that repeats its agents' facts (`concat`, `merge`). A `vote`'s output is
 * not one: its tally ("db = "PostgreSQL" (2 of 3 votes)") is the outcome, which no voter's fact says.
 */
const isPhaseOutput = (entry: ContextEntry): boolean => isPhaseOutputKey(entry.key) && !entry.tags.includes('vote');

/** The phases that have facts of their own among these entries (their aggregated outputs repeat them). */
const phasesWithFactsIn = (entries: ContextEntry[]): Set<string | undefined> =>
  new Set(entries.filter((e) => !isPhaseOutput(e)).map((e) => e.phaseId));

/**
 * The facts worth ranking: empty ones ("File changed: none") dropped, and a phase's aggregated output
 * dropped when the phase's own facts are there, since it repeats them. Not yet placed (see `Corpus.add`).
 */
function candidatesOf(
  entries: ContextEntry[],
  phasesWithFacts: Set<string | undefined>,
  wordnet?: WordNet,
): Candidate[] {
  return entries
    .filter((e) => !isEmptyFact(e.content) && !(isPhaseOutput(e) && phasesWithFacts.has(e.phaseId)))
    .map((entry) => ({ entry, terms: termsOfEntry(entry, wordnet), index: -1, age: -1 }));
}

type Vector = Map<string, number>;
const MIN_IDF_DOCUMENTS = 20;
/** Words in more facts than this share (or 20 facts, if more) do not name a subject. */
const SUBJECT_DF_SHARE = 0.02;

/**
 * Order of age, by when each fact last changed: a keyed decision updated by a later agent keeps its
 * id and creation time, but is as new as its update. Ties broken by id, numbers in it compared as
 * numbers (an agent's facts are saved as `<session>:fact:<n>`, often in one millisecond).
 */
const older = (a: ContextEntry, b: ContextEntry): number => a.updatedAt - b.updatedAt || byId.compare(a.id, b.id);
const byId = new Intl.Collator('en', { numeric: true });

/**
 * An order of facts that depends neither on which agent finished first nor on session ids (new in
 * every run): by inherited phase (`phaseIds`, oldest first; others first), then by agent id, then in
 * the order each agent saved them. The same facts are presented, and equally relevant ones ranked,
 * alike in every run.
 */
export function stableOrder(phaseIds: readonly string[]): (a: ContextEntry, b: ContextEntry) => number {
  const rank = (e: ContextEntry): number => phaseIds.indexOf(e.phaseId ?? '');
  return (a, b) => rank(a) - rank(b) || byId.compare(a.agentId ?? '', b.agentId ?? '') || older(a, b);
}

/**
 * The candidates of one selection, analysed together (document frequencies per run, never the whole
 * store). It grows in place when an accumulator's write appends facts newer than all it holds.
 */
class Corpus {
  readonly candidates: Candidate[] = [];
  readonly byId = new Map<string, Candidate>();
  readonly df = new Map<string, number>();
  /** Term → the candidates that have it, oldest first: scoring visits only facts that share a term with the task. */
  readonly postings = new Map<string, Candidate[]>();
  /** Ids of the candidate decisions. */
  readonly decisions = new Set<string>();
  /** The agents whose facts are candidates. */
  readonly agents = new Set<string>();
  newest: Candidate | undefined;
  /** Idf and fact vectors at the current frequencies, computed when asked; every addition changes them. */
  private idfs = new Map<string, number>();
  private vectors = new Map<string, Vector>();

  /** Adds candidates (in the order listed); returns them oldest first. */
  add(fresh: Candidate[]): Candidate[] {
    for (const candidate of fresh) {
      candidate.index = this.candidates.length;
      this.candidates.push(candidate);
      this.byId.set(candidate.entry.id, candidate);
      for (const term of candidate.terms.keys()) this.df.set(term, (this.df.get(term) ?? 0) + 1);
      if (candidate.entry.type === 'decision') this.decisions.add(candidate.entry.id);
      if (candidate.entry.agentId) this.agents.add(candidate.entry.agentId);
    }
    const byAge = [...fresh].sort((a, b) => older(a.entry, b.entry));
    for (const candidate of byAge) {
      candidate.age = this.newest ? this.newest.age + 1 : 0;
      this.newest = candidate;
      for (const term of candidate.terms.keys()) {
        const list = this.postings.get(term);
        if (list) list.push(candidate);
        else this.postings.set(term, [candidate]);
      }
    }
    this.idfs = new Map();
    this.vectors = new Map();
    return byAge;
  }

  /** Inverse document frequency; 0 for a term no candidate has. */
  readonly idf = (term: string): number => {
    const known = this.idfs.get(term);
    if (known !== undefined) return known;
    const d = this.df.get(term);
    if (d === undefined) return 0;
    // A handful of facts says little about how common a word is: below MIN_IDF_DOCUMENTS, count as if there were that many.
    const n = Math.max(this.candidates.length, MIN_IDF_DOCUMENTS);
    const idf = Math.log(1 + (n - d + 0.5) / (d + 0.5));
    this.idfs.set(term, idf);
    return idf;
  };

  vectorOf(candidate: Candidate): Vector {
    const known = this.vectors.get(candidate.entry.id);
    if (known) return known;
    const vector = weigh(candidate.terms, this.idf);
    this.vectors.set(candidate.entry.id, vector);
    return vector;
  }
}

/** A candidate set analysed together, with which facts are redundant; kept and grown per list. */
interface Analysis {
  corpus: Corpus;
  /** Each redundant fact's id → the id of the fact kept (chains followed). */
  redundant: Map<string, string>;
  /** Which fact replaced which, as found pair by pair (before chains are followed). */
  replacedBy: Map<string, string>;
  /** Facts a newer decision revised (not merely said again): of the redundant, the superseded ones. */
  revised: Set<string>;
  /** Among all entries analysed: phases with facts of their own, and phases with an aggregated output. */
  phasesWithFacts: Set<string | undefined>;
  phaseOutputs: Set<string | undefined>;
  /** How many candidates the last analysis from scratch had (see `REANALYSE_GROWTH`). */
  analysedFromScratch: number;
  settings: string;
  /** Its key in `analysedSets`, while it still describes that set. */
  setKey?: string;
  /** Also another list's (one with the same ids and versions): never grown in place. */
  shared?: boolean;
}

/** Analysed candidate sets by the set's ids and versions: a phase's agents share one. */
const analysedSets = new LRUCache<string, Analysis>({ max: 32 });

/** The analysis of the very list a caller passed before (an accumulator's cached candidate set): no hashing. */
const analysedLists = new WeakMap<ContextEntry[], Analysis>();

/** A list → an earlier list it extends (see `noteListGrowth`), whose analysis can grow instead of starting over. */
const grownFrom = new WeakMap<ContextEntry[], ContextEntry[]>();

/**
 * Idf drifts as facts are added: pairs of older facts keep the duplicate/supersession verdicts found
 * at the idf of their time, while every pair with a new fact is judged at the current idf. Once the
 * candidates grew by this share since the last analysis from scratch, the next selection analyses
 * from scratch again, which bounds the drift (an idf moves by at most about log 1.125; below
 * `growAnalysisFrom`, where one fact moves the idf a lot, there is no growing at all).
 */
const REANALYSE_GROWTH = 0.125;

/**
 * Tells selection that `next` is `previous` with entries appended or replaced in place (an
 * accumulator's write): the analysis of `previous` can then grow by the appended facts.
 */
export function noteListGrowth(previous: ContextEntry[], next: ContextEntry[]): void {
  grownFrom.set(next, analysedLists.has(previous) ? previous : (grownFrom.get(previous) ?? previous));
}

/** The candidates analysed together, and which of them are redundant; cached per candidate set. */
/**
 * `phaseOrder`: the inherited phases, oldest first (the request's `phaseIds`): of near-duplicates from
 * two phases, the later phase's is kept (see `keepOneOf`).
 */
function analyse(
  entries: ContextEntry[],
  tuning: SelectionTuning,
  wordnet: WordNet | undefined,
  phaseOrder: readonly string[],
): Analysis {
  const settings = `${wordnet ? 'wn' : ''}:${JSON.stringify(tuning)}:${JSON.stringify(phaseOrder)}`;
  const same = analysedLists.get(entries);
  if (same?.settings === settings) return same;
  const scope = { tuning, wordnet, phaseOrder };
  const analysis = grownAnalysis(entries, settings, scope) ?? analyseSet(entries, settings, scope);
  analysedLists.set(entries, analysis);
  return analysis;
}

/** What an analysis depends on besides its entries. */
interface AnalysisScope {
  tuning: SelectionTuning;
  wordnet: WordNet | undefined;
  phaseOrder: readonly string[];
}

function analyseSet(entries: ContextEntry[], settings: string, scope: AnalysisScope): Analysis {
  const { wordnet } = scope;
  const hash = createHash('sha1');
  for (const e of entries) hash.update(`${e.id}:${e.version}:${e.checksum}\n`);
  const setKey = `${hash.digest('hex')}:${settings}`;
  const known = analysedSets.get(setKey);
  if (known) {
    known.shared = true;
    return known;
  }
  const phasesWithFacts = phasesWithFactsIn(entries);
  const corpus = new Corpus();
  const replacedBy = new Map<string, string>();
  const revised = new Set<string>();
  for (const candidate of corpus.add(candidatesOf(entries, phasesWithFacts, wordnet)))
    findRedundant(candidate, corpus, scope, { replacedBy, revised });
  const phaseOutputs = new Set(entries.filter(isPhaseOutput).map((e) => e.phaseId));
  const analysis: Analysis = {
    corpus,
    redundant: survivorsOf(replacedBy),
    replacedBy,
    revised,
    phasesWithFacts,
    phaseOutputs,
    analysedFromScratch: corpus.candidates.length,
    settings,
    setKey,
  };
  analysedSets.set(setKey, analysis);
  return analysis;
}

/** The entries of `next` after those of `previous`, if `next` only appends to it (else undefined). */
function appendedTo(previous: ContextEntry[], next: ContextEntry[]): ContextEntry[] | undefined {
  if (next.length < previous.length) return undefined;
  for (let i = 0; i < previous.length; i++) if (next[i] !== previous[i]) return undefined;
  return next.slice(previous.length);
}

/**
 * The analysis of the list `entries` grew from, grown by the appended facts — when they only append
 * facts newer than all analysed, change no phase output's standing, and stay within the drift bound.
 * A replaced entry (a keyed fact updated) means analysing from scratch.
 */
function grownAnalysis(entries: ContextEntry[], settings: string, scope: AnalysisScope): Analysis | undefined {
  const { tuning, wordnet } = scope;
  const base = grownFrom.get(entries);
  const analysis = base && analysedLists.get(base);
  if (!analysis || analysis.shared || analysis.analysedFromScratch < tuning.growAnalysisFrom) return undefined;
  const appended = analysis.settings === settings ? appendedTo(base, entries) : undefined;
  if (!appended) return undefined;
  const facts = appended.filter((e) => !isPhaseOutput(e));
  // A phase's first facts after its output was a candidate would drop that output: not an append.
  if (facts.some((e) => !analysis.phasesWithFacts.has(e.phaseId) && analysis.phaseOutputs.has(e.phaseId)))
    return undefined;
  const phasesWithFacts = new Set([...analysis.phasesWithFacts, ...facts.map((e) => e.phaseId)]);
  const fresh = candidatesOf(appended, phasesWithFacts, wordnet);
  const { corpus, analysedFromScratch } = analysis;
  if (corpus.candidates.length + fresh.length > (1 + REANALYSE_GROWTH) * analysedFromScratch) return undefined;
  if (corpus.newest && fresh.some((c) => older(c.entry, corpus.newest!.entry) <= 0)) return undefined;
  // From here on the analysis is the new list's: the old list and set key no longer describe it.
  analysedLists.delete(base);
  if (analysis.setKey) analysedSets.delete(analysis.setKey);
  delete analysis.setKey;
  analysis.phasesWithFacts = phasesWithFacts;
  for (const e of appended.filter(isPhaseOutput)) analysis.phaseOutputs.add(e.phaseId);
  for (const candidate of corpus.add(fresh)) findRedundant(candidate, corpus, scope, analysis);
  analysis.redundant = survivorsOf(analysis.replacedBy);
  return analysis;
}

/**
 * The facts without repetition, in their order: no empty facts, no phase output next to its own
 * facts, no decision a newer one superseded, one of each set of near-duplicates.
 */
export function withoutRepetition(
  entries: ContextEntry[],
  tuning: SelectionTuning = defaultSelectionTuning,
  wordnet?: WordNet,
  phaseOrder: readonly string[] = [],
): ContextEntry[] {
  const { corpus, redundant } = analyse(entries, tuning, wordnet, phaseOrder);
  return corpus.candidates.map((c) => c.entry).filter((e) => !redundant.has(e.id));
}

function weigh(terms: Terms, idf: (term: string) => number, maxShare = 1): Vector {
  const vector: Vector = new Map();
  for (const [term, weight] of terms) {
    const w = weight * idf(term);
    if (w > 0) vector.set(term, w);
  }
  if (maxShare < 1) {
    const total = [...vector.values()].reduce((s, w) => s + w, 0);
    for (const [term, w] of vector) vector.set(term, Math.min(w, maxShare * total));
  }
  return vector;
}

function cosine(a: Vector, b: Vector): number {
  let dot = 0;
  for (const [term, w] of a) dot += w * (b.get(term) ?? 0);
  if (dot === 0) return 0;
  const norm = (v: Vector): number => Math.sqrt([...v.values()].reduce((s, w) => s + w * w, 0));
  return dot / (norm(a) * norm(b));
}

/**
 * How much of the task each fact speaks to: the share of the task's (idf-weighted, capped) term
 * weight found in the fact, each term counted as strongly as the fact has it. A long fact is not
 * penalised for saying more; a fact that shares only common words scores little. Only facts sharing
 * a term with the task are visited (the others cover nothing).
 */
function coverageOf(query: Vector, corpus: Corpus): Map<Candidate, number> {
  const total = [...query.values()].reduce((sum, w) => sum + w, 0);
  const found = new Float64Array(corpus.candidates.length);
  const touched: Candidate[] = [];
  for (const [term, w] of total > 0 ? query : []) {
    // A term this light (a word in nearly every fact) moves no score by a percent; skip its long list.
    if (w < NEGLIGIBLE_TERM_SHARE * total) continue;
    for (const c of corpus.postings.get(term) ?? []) {
      if (found[c.index] === 0) touched.push(c);
      found[c.index] = found[c.index]! + w * Math.min(1, c.terms.get(term)!);
    }
  }
  return new Map(touched.map((c) => [c, found[c.index]! / total]));
}

/** Query terms below this share of the task's weight are not looked up. */
const NEGLIGIBLE_TERM_SHARE = 0.002;

/**
 * Pseudo-relevance feedback (Rocchio): the task's vector plus a share of the best-matching facts'
 * vectors, so facts that use the words of the relevant facts rather than the task's words are found.
 */
function withFeedback(
  query: Vector,
  relevance: Map<string, number>,
  corpus: Corpus,
  tuning: SelectionTuning,
  stable: (a: ContextEntry, b: ContextEntry) => number,
): Vector {
  const entryOf = (id: string): ContextEntry => corpus.byId.get(id)!.entry;
  const top = [...relevance]
    .filter(([, score]) => score > 0)
    .sort((a, b) => b[1] - a[1] || stable(entryOf(b[0]), entryOf(a[0])))
    .slice(0, tuning.feedbackFacts);
  const sumOf = (v: Vector): number => [...v.values()].reduce((s, w) => s + w, 0);
  const queryTotal = sumOf(query);
  const expanded: Vector = new Map(query);
  for (const [id] of top) {
    const vector = corpus.vectorOf(corpus.byId.get(id)!);
    const scale = (tuning.feedbackWeight * queryTotal) / (sumOf(vector) * top.length);
    for (const [term, w] of vector) expanded.set(term, (expanded.get(term) ?? 0) + w * scale);
  }
  return expanded;
}

/**
 * How much of one fact's subject — its words and identifiers, not its numbers, weighted by rarity —
 * the other fact also names. "Log level in production will be warn" is wholly inside "Production
 * log level will be info, not warn"; "billing uses PostgreSQL" is not inside "checkout uses PostgreSQL".
 */
function subjectShare(of: Terms, inside: Terms, idf: (term: string) => number): number {
  let total = 0;
  let shared = 0;
  for (const [term, w] of of) {
    if (!(term.startsWith('s:') || term.startsWith('i:')) || /^s:\d+$/.test(term)) continue;
    const weight = w * idf(term);
    total += weight;
    if (inside.has(term)) shared += weight;
  }
  return total > 0 ? shared / total : 0;
}

/**
 * Which older facts `newer` makes redundant, recorded in `replacedBy` (redundant fact's id → the id of
 * the fact kept): a newer decision on the same subject supersedes an older one (keyed decisions are
 * already replaced in the store), and of near-duplicates (facts of one type) only the newest is kept.
 * Called for each candidate, oldest first; only older facts are compared.
 */
function findRedundant(
  newer: Candidate,
  corpus: Corpus,
  { tuning, phaseOrder }: AnalysisScope,
  { replacedBy, revised: revisedIds }: Pick<Analysis, 'replacedBy' | 'revised'>,
): void {
  const maxSubjectDf = Math.max(20, SUBJECT_DF_SHARE * corpus.candidates.length);
  const seen = new Set<Candidate>();
  for (const term of newer.terms.keys()) {
    // Facts that share only words found everywhere are not about one subject; skipping those words keeps this fast.
    if ((corpus.df.get(term) ?? 0) > maxSubjectDf) continue;
    for (const c of corpus.postings.get(term) ?? []) {
      if (c.age >= newer.age) break;
      seen.add(c);
    }
  }
  const vector = corpus.vectorOf(newer);
  const revised: Array<[older: Candidate, strength: number]> = [];
  for (const found of seen) {
    const sameAgent = found.entry.sessionId === newer.entry.sessionId && found.entry.agentId === newer.entry.agentId;
    const bothDecisions = found.entry.type === 'decision' && newer.entry.type === 'decision';
    // One agent does not repeat itself in one result: its similar facts are about different things,
    // unless it says it revised one ("…, instead of a random split").
    if (sameAgent && !(bothDecisions && decisionSide(newer).traits.revises)) continue;
    const similarity = cosine(vector, corpus.vectorOf(found));
    const pair = { similarity, sameAgent, corpus, tuning, phaseOrder };
    const settled = bothDecisions ? settleDecisions(found, newer, pair) : undefined;
    const reversed = settled?.reversed ?? (!sameAgent && speaksLast(found, newer, phaseOrder));
    const [old, later] = reversed ? [newer, found] : [found, newer];
    const oldInNew = subjectShare(old.terms, later.terms, corpus.idf);
    if (settled) {
      const { verdict } = settled;
      if (verdict > 0 && reversed && linkRedundant(replacedBy, newer.entry.id, found.entry.id))
        revisedIds.add(newer.entry.id);
      else if (verdict > 0) revised.push([found, verdict]);
      if (verdict !== MAYBE_SAID_TWICE) continue;
    }
    if (sameAgent) continue;
    const sameSubject = Math.min(oldInNew, subjectShare(later.terms, old.terms, corpus.idf)) >= tuning.duplicateSubject;
    // Facts of one type say the same thing twice; of two types only in the very same words (a finding
    // and the decision taken on it are two facts).
    const [a, b] = [old.entry.content, later.entry.content];
    const sameType = old.entry.type === later.entry.type;
    if (
      ((sameType && ((similarity >= tuning.duplicateSimilarity && sameSubject) || saysTheSame(a, b))) ||
        sameStatement(a, b)) &&
      !aboutAnotherThing(a, b) &&
      !deniesTheOther(a, b)
    )
      keepOneOf(found, newer, phaseOrder, replacedBy);
  }
  const strongest = Math.max(0, ...revised.map(([, strength]) => strength));
  const best = revised.filter(([, strength]) => strength >= strongest - REVISION_MARGIN).map(([older]) => older);
  // "… 10 MB, not 25" after two decisions giving 25 MB, neither revised more strongly: which one it
  // corrects is not known, so both stay (a repeated line costs less than a lost decision).
  const givesIt = (older: Candidate): boolean =>
    givesReplacedValue(decisionSide(older).traits, decisionSide(newer).traits);
  const ambiguous = best.filter(givesIt).length > 1;
  for (const older of best)
    if (!(ambiguous && givesIt(older)) && linkRedundant(replacedBy, older.entry.id, newer.entry.id))
      revisedIds.add(older.entry.id);
}

/**
 * Whether `found`, saved before `newer`, has the last word over it all the same — so that which agent
 * finished first never decides who revised whom. Of two inherited phases, the later one in order
 * (phases that do not depend on each other may finish in either order). Of two agents of one phase,
 * which ran side by side: a judge's or reducer's fact (it ran after them, for real), else the agent
 * last by id (`settleDecisions` lets a decision that revises the other have the last word instead).
 */
function speaksLast(found: Candidate, newer: Candidate, phaseOrder: readonly string[]): boolean {
  const rank = (c: Candidate): number => phaseOrder.indexOf(c.entry.phaseId ?? '');
  if (found.entry.phaseId !== newer.entry.phaseId) return rank(newer) >= 0 && rank(found) > rank(newer);
  return byPhaseAgent(found, newer) > 0;
}

/** What `settleDecisions` weighs besides the two decisions. */
interface PairContext {
  similarity: number;
  sameAgent: boolean;
  corpus: Corpus;
  tuning: SelectionTuning;
  phaseOrder: readonly string[];
}

/**
 * Which of two decisions has the last word (`reversed`: `found`, though saved first) and how strongly
 * it revises the other (see `judgeDecisions`). Two agents of one phase ran side by side, so neither is
 * newer: the one that revises the other has the last word whatever its id; when both would, the one
 * that says it revises (a revision word), else the one `speaksLast` puts last.
 */
function settleDecisions(
  found: Candidate,
  newer: Candidate,
  context: PairContext,
): { reversed: boolean; verdict: number } {
  const { similarity, sameAgent, corpus, tuning, phaseOrder } = context;
  const judge = (old: Candidate, later: Candidate): number =>
    judgeDecisions(
      old,
      later,
      { similarity, oldInNew: subjectShare(old.terms, later.terms, corpus.idf), sameAgent },
      tuning,
    );
  const reversed = !sameAgent && speaksLast(found, newer, phaseOrder);
  const [old, later] = reversed ? [newer, found] : [found, newer];
  const verdict = judge(old, later);
  const sideBySide =
    !sameAgent &&
    found.entry.phaseId === newer.entry.phaseId &&
    isAggregatorFact(found.entry.tags) === isAggregatorFact(newer.entry.tags);
  if (!sideBySide) return { reversed, verdict };
  const back = judge(later, old);
  const says = (c: Candidate): boolean => decisionSide(c).traits.revises;
  if (back > 0 && (verdict <= 0 || (says(old) && !says(later)))) return { reversed: !reversed, verdict: back };
  return { reversed, verdict };
}

/** Two agents of one phase in the order they speak (see `phaseSpeakingOrder`). */
const byPhaseAgent = (a: Candidate, b: Candidate): number => phaseSpeakingOrder(a.entry, b.entry);

/**
 * Of two facts saying the same thing, one is kept, chosen so that which agent finished first does not
 * decide: of two phases, the later one's in the inherited order (a phase that depends on another comes
 * after it; two that do not may run side by side); of one phase, whose agents ran side by side, the
 * agent last by id; else (phases not inherited in order: a parent session's) the newer. A pair
 * already linked the other way is left as it is.
 */
function keepOneOf(
  old: Candidate,
  newer: Candidate,
  phaseOrder: readonly string[],
  replacedBy: Map<string, string>,
): void {
  const rank = (c: Candidate): number => phaseOrder.indexOf(c.entry.phaseId ?? '');
  const [oldType, newerType] = [typeFactor[old.entry.type], typeFactor[newer.entry.type]];
  // One statement given as a decision and as a finding is kept as the decision.
  const keepNewer =
    oldType !== newerType
      ? newerType > oldType
      : old.entry.phaseId === newer.entry.phaseId
        ? byPhaseAgent(newer, old) >= 0
        : rank(newer) >= rank(old);
  if (keepNewer) linkRedundant(replacedBy, old.entry.id, newer.entry.id);
  else if (!replacedBy.has(newer.entry.id)) linkRedundant(replacedBy, newer.entry.id, old.entry.id);
}

/**
 * Records that `redundant` gives way to `kept` — unless `kept` already gives way to it (a cycle would
 * drop both); whether it was recorded.
 */
function linkRedundant(replacedBy: Map<string, string>, redundant: string, kept: string): boolean {
  for (let id: string | undefined = kept; id !== undefined; id = replacedBy.get(id)) if (id === redundant) return false;
  replacedBy.set(redundant, kept);
  return true;
}

/** `judgeDecisions`: neither a revision nor two different decisions, so perhaps one decision said twice. */
const MAYBE_SAID_TWICE = -1;

/**
 * Two decisions, the newer second: how strongly the newer revises the older (above 0); else 0 when
 * they are different decisions — on different topics, or giving different values for one thing —
 * or `MAYBE_SAID_TWICE`, left to the near-duplicate test.
 */
function judgeDecisions(
  old: Candidate,
  newer: Candidate,
  measured: { similarity: number; oldInNew: number; sameAgent: boolean },
  tuning: SelectionTuning,
): number {
  const [older, newerSide] = [decisionSide(old), decisionSide(newer)];
  // "The payments service stores its data in PostgreSQL" after "The orders service …": the same
  // sentence about another subject (or choice) is another decision, unless it says it revises.
  const spans = replacedSpans(old.entry.content, newer.entry.content);
  if (spans && !newerSide.traits.revises) {
    if (differInSubject(old.entry.content, newer.entry.content)) return 0;
    // The same sentence with another choice ("The export format is CSV" → "… is Parquet"): the newer
    // one revises, though it says so with no revision word (a changed value is weighed below).
    if (changesNoValue(spans)) return tuning.conflictSimilarity;
  }
  // One decision said again in other order or spelling ("Use PostgreSQL 16 for the orders store" /
  // "The orders store will use PostgreSQL 16") revises nothing: it is a near-duplicate.
  if (!newerSide.traits.revises && saysTheSame(old.entry.content, newer.entry.content)) return MAYBE_SAID_TWICE;
  if (forAnotherPurpose(older, newerSide)) return 0;
  const laterPhase = old.entry.phaseId !== newer.entry.phaseId;
  const strength = revisionStrength({ older, newer: newerSide, laterPhase, ...measured }, tuning);
  if (strength > 0) return strength;
  // An exception to the older rule ("Don't … on draft pull requests") or what happens at its limit is
  // another decision, not one said twice.
  if (!sameTopic(older, newerSide) || qualifiesOlder(older, newerSide)) return 0;
  if (changesValue(older.traits, newerSide.traits) || changesValue(newerSide.traits, older.traits)) return 0;
  return MAYBE_SAID_TWICE;
}

/** Decisions' wording traits by entry and content, kept like their terms (see `analysed`). */
const decisionTraits = onFirstUse(() => new LRUCache<string, DecisionTraits>({ max: 50_000 }));

/** A decision's terms and wording traits, the traits worked out on first use. */
function decisionSide(candidate: Candidate): { terms: Terms; traits: DecisionTraits } {
  if (!candidate.traits) {
    const { id, checksum, version, content } = candidate.entry;
    const key = `${id}:${checksum}:${version}`;
    candidate.traits = decisionTraits().get(key) ?? traitsOf(content);
    decisionTraits().set(key, candidate.traits);
  }
  return { terms: candidate.terms, traits: candidate.traits };
}

/** Follows chains (a → b → c) to the fact that survives. */
function survivorsOf(replacedBy: Map<string, string>): Map<string, string> {
  const survivor = (id: string): string => {
    for (let next = replacedBy.get(id), hops = 0; next !== undefined && hops < 1000; hops++) {
      id = next;
      next = replacedBy.get(id);
    }
    return id;
  };
  return new Map([...replacedBy.keys()].map((id) => [id, survivor(id)]));
}

const sourceKey = (entry: ContextEntry): string =>
  `${entry.sessionId ?? ''}\u0000${entry.agentId ?? ''}\u0000${entry.phaseId ?? ''}`;

/** How many of a source's best facts say how much it has to do with the task. */
const AFFINITY_FACTS = 3;

/**
 * How much each source (an agent's result) has to do with the task: the mean relevance of its few
 * best facts. An agent that studied the task's area usually reported more of what the task needs,
 * in words the task does not use.
 */
function sourceAffinity(candidates: Candidate[], lexical: Map<string, number>): Map<string, number> {
  const best = new Map<string, number[]>();
  for (const { entry } of candidates) {
    const score = lexical.get(entry.id);
    if (!score) continue; // facts sharing no word add nothing to the mean of the best
    const top = best.get(sourceKey(entry)) ?? [];
    top.push(score);
    top.sort((a, b) => b - a).splice(AFFINITY_FACTS);
    best.set(sourceKey(entry), top);
  }
  // When every fact has one source (one researcher before one implementer), who said it tells the
  // facts nothing apart, and must not lift them all over the relevance threshold.
  if (new Set(candidates.map((c) => sourceKey(c.entry))).size < 2) return new Map();
  return new Map([...best].map(([source, top]) => [source, top.reduce((sum, s) => sum + s, 0) / AFFINITY_FACTS]));
}

export interface Ranked {
  entry: ContextEntry;
  relevance: number;
}

export interface Ranking {
  /** Facts worth giving, best first. */
  ranked: Ranked[];
  /** Facts left out because a newer decision replaced them: id → the replacement's id. */
  superseded: Map<string, string>;
  /** Candidates after dropping empty facts and repeated phase outputs. */
  considered: number;
}

function queryTerms(description: TaskDescription, wordnet?: WordNet): Terms {
  const terms: Terms = new Map(termsOf(description.task, wordnet));
  const addScaled = (text: string | undefined, scale: number): void => {
    for (const [term, w] of text ? termsOf(text, wordnet) : [])
      terms.set(term, Math.max(terms.get(term) ?? 0, w * scale));
  };
  addScaled(description.role, 0.4);
  addScaled(description.phaseId, 0.5);
  addScaled(description.files?.join(' '), 1);
  return terms;
}

/**
 * Ranks every inherited fact by relevance to the task: the cosine of idf-weighted term vectors
 * (stems, identifiers, WordNet synsets; idf over this run's candidates; one term's weight capped),
 * with a mild preference by type. Superseded and duplicate facts give their relevance to the fact
 * that replaces them. Only facts above the relevance thresholds are ranked.
 */
export function rankFacts(
  entries: ContextEntry[],
  description: TaskDescription,
  tuning: SelectionTuning,
  wordnet?: WordNet,
): Ranking {
  const analysis = analyse(entries, tuning, wordnet, description.phaseIds ?? []);
  const { corpus, redundant } = analysis;
  const { candidates } = corpus;
  const query = weigh(queryTerms(description, wordnet), corpus.idf, tuning.maxTermShare);

  const proximity = proximityOf(description, tuning);
  const stable = stableOrder(description.phaseIds ?? []);
  const scoreAll = (q: Vector): Map<string, number> => {
    const relevance = new Map<string, number>();
    for (const [c, covered] of coverageOf(q, corpus)) {
      const score = proximity(c.entry) * covered * typeFactor[c.entry.type];
      const owner = redundant.get(c.entry.id) ?? c.entry.id;
      relevance.set(owner, Math.max(relevance.get(owner) ?? 0, score));
    }
    return relevance;
  };
  const first = scoreAll(query);
  const lexical = tuning.feedbackFacts > 0 ? scoreAll(withFeedback(query, first, corpus, tuning, stable)) : first;
  const affinity = sourceAffinity(candidates, lexical);
  const nameScore = sourceNameRelevance(corpus.agents, query, wordnet);
  // The priors come after feedback, so facts that share no word with the task never expand it.
  const relevanceOf = (entry: ContextEntry): number =>
    (lexical.get(entry.id) ?? 0) +
    tuning.sourceWeight * (affinity.get(sourceKey(entry)) ?? 0) +
    tuning.sourceNameWeight * (nameScore.get(entry.agentId ?? '') ?? 0) +
    proximity(entry) * tuning.priorWeight * typePrior[entry.type];
  const scored = candidates
    .filter((c) => !redundant.has(c.entry.id))
    .map((c) => ({ entry: c.entry, relevance: relevanceOf(c.entry) }));
  const best = scored.reduce((max, r) => Math.max(max, r.relevance), 0);
  const floor = Math.max(tuning.minRelevance, tuning.relativeRelevance * best);
  const ranked = scored
    .filter((r) => r.relevance >= floor)
    .sort((a, b) => b.relevance - a.relevance || stable(b.entry, a.entry));
  return { ranked, superseded: supersededAmong(analysis), considered: candidates.length };
}

/**
 * The decisions left out because a newer one revised them — on their way to the fact kept, a revision:
 * one decision said twice by two agents is a near-duplicate, not a replaced decision (with
 * `superseded: show` it would be quoted as "replacing" its own repetition).
 */
function supersededAmong({ corpus, redundant, replacedBy, revised }: Analysis): Map<string, string> {
  const wasRevised = (id: string): boolean => {
    for (let at: string | undefined = id, hops = 0; at !== undefined && hops < 1000; at = replacedBy.get(at), hops++)
      if (revised.has(at)) return true;
    return false;
  };
  return new Map([...redundant].filter(([id]) => corpus.decisions.has(id) && wasRevised(id)));
}

/** The decisions among these entries that a newer one replaced: id → the replacement's id. */
export function supersededIn(
  entries: ContextEntry[],
  tuning: SelectionTuning,
  wordnet: WordNet | undefined,
  phaseOrder: readonly string[],
): Map<string, string> {
  return supersededAmong(analyse(entries, tuning, wordnet, phaseOrder));
}

/**
 * How much each source's name covers the task: the share of the task's (idf-weighted) terms found in
 * the agent id's terms, its numbering left out ("explorer-3" is an explorer). Rendering names each
 * source above its facts, and an agent named for the task's area ("payments" for the pay page, "sync"
 * for a sync endpoint) reported in that area, often in words the task does not use.
 */
function sourceNameRelevance(agents: Set<string>, task: Vector, wordnet?: WordNet): Map<string, number> {
  const total = [...task.values()].reduce((sum, w) => sum + w, 0);
  const relevance = new Map<string, number>();
  for (const agent of total > 0 ? agents : []) {
    let covered = 0;
    for (const term of nameTermsOf(agent, wordnet)) covered += task.get(term) ?? 0;
    if (covered > 0) relevance.set(agent, covered / total);
  }
  return relevance;
}

/** An agent id's terms without its numbering, analysed once per process. */
const analysedNames = onFirstUse(() => new LRUCache<string, string[]>({ max: 10_000 }));

function nameTermsOf(agent: string, wordnet?: WordNet): string[] {
  const key = `${wordnet ? 'wn' : ''}:${agent}`;
  const known = analysedNames().get(key);
  if (known) return known;
  const terms = [...termsOf(agent, wordnet).keys()].filter((t) => !/^s:\d+$/.test(t));
  analysedNames().set(key, terms);
  return terms;
}

/** `- [error] x` plus its line break: fewer tokens than any rendered fact. */
const MIN_LINE_TOKENS = 5;

/**
 * The best-ranked facts whose rendered section (see `renderContext`) fits the budget, counted
 * exactly, in presentation order. `present` puts a set of facts in the order they are shown.
 * Lines are counted one by one to choose, then the whole text once to be exact; if the whole counts
 * more than its lines (tokens can merge across a line break), the lowest-ranked facts go until it fits.
 */
export function fitBudget(
  ranked: Ranked[],
  budgetTokens: number,
  present: (entries: ContextEntry[]) => ContextEntry[],
): { entries: ContextEntry[]; tokens: number } {
  const linesOf = (entry: ContextEntry): string[] => renderContext([entry]).split('\n');
  const seen = new Set<string>();
  let estimate = 0;
  let chosen: Ranked[] = [];
  for (const item of ranked) {
    if (budgetTokens - estimate < MIN_LINE_TOKENS) break; // full: no fact line is this short
    if (estimate + item.entry.tokens > budgetTokens) continue; // cannot fit, whatever its line adds
    const [heading, source, line] = linesOf(item.entry);
    const extra = [...(estimate === 0 ? [heading!] : []), ...(seen.has(source!) ? [] : [source!]), line!];
    const cost = extra.reduce((sum, text) => sum + countTokens(text) + 1, 0);
    if (estimate + cost > budgetTokens + 1) continue;
    estimate += cost;
    seen.add(source!);
    chosen.push(item);
  }
  for (;;) {
    const entries = present(chosen.map((c) => c.entry));
    const tokens = countTokens(renderContext(entries));
    // Nothing chosen is 0 tokens, whatever the budget (even one below zero).
    if (tokens <= budgetTokens || chosen.length === 0) return { entries, tokens };
    chosen = chosen.slice(0, -1);
  }
}
