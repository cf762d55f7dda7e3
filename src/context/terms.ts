import { stemmer } from 'stemmer';
import type { WordNet } from './wordnet.js';

/** A text as weighted search terms: stems (`s:log`), identifiers and paths (`i:src/auth.ts`), WordNet synsets. */
export type Terms = Map<string, number>;

/** How much a term found each way counts, next to the word itself (1). */
export const termWeights = { synonym: 0.3, derived: 0.2, compoundPart: 0.6 };

/** Function words and task boilerplate: they say nothing about what a fact is about. */
const stopwords = new Set(
  (
    'a about above after again all also am an and any are as at be been before being below between both but by can ' +
    'could did do does doing done down during each either else etc few for from further had has have having he her ' +
    'here hers him his how i if in into is it its itself just let like may me might more most must my no nor not now ' +
    'of off on once only or other our ours out over own per please same shall she should so some such than that the ' +
    'their theirs them then there these they this those through to too under until up upon us very via was we were ' +
    'what when where which while who whom why will with within without would yet you your yours'
  ).split(' '),
);

/** A function word or task boilerplate ("the", "should", "please"). */
export const isStopword = (word: string): boolean => stopwords.has(word);

interface Word {
  text: string;
  /** 1 for a word as written; less for a part of one (`sign` in `signIn`). */
  weight: number;
}

/** Scripts written without spaces between words: a run of them is read as its character pairs. */
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}]+/gu;

/** `登录页面` → `登录`, `录页`, `页面`: the words of an unspaced run are unknown, its pairs match across texts. */
function pairsOf(run: string): string[] {
  const chars = [...run];
  return chars.length < 2 ? chars : chars.slice(1).map((c, i) => `${chars[i]}${c}`);
}

/**
 * Words of a text in order, lower case, in any script (`Größe`, `кэш`; Chinese, Japanese and Thai as
 * character pairs). A word written in camel case (`signIn`, `SessionStore`) counts whole and, a little
 * less, as its parts; `_`, `-`, `.` and `/` separate words.
 */
function wordsOf(text: string): Word[] {
  const words: Word[] = [];
  const spaced = text.replace(UNSPACED, (run) => ` ${pairsOf(run).join(' ')} `);
  for (const raw of spaced.split(/[^\p{L}\p{N}]+/u)) {
    if (raw === '') continue;
    const parts = raw
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
      .split(' ');
    if (parts.length === 1) words.push({ text: raw.toLowerCase(), weight: 1 });
    else {
      words.push({ text: raw.toLowerCase(), weight: 1 });
      for (const part of parts) words.push({ text: part.toLowerCase(), weight: termWeights.compoundPart });
    }
  }
  return words;
}

/**
 * Words longer than this are not words but pasted data (a base64 blob, a minified line): no WordNet
 * lemma or identifier is that long, and looking one up in them costs time (and memory) quadratic in
 * their length — a 20,000-character blob held the process for minutes.
 */
const MAX_WORD_CHARS = 100;

/** Identifiers and paths worth matching whole (`ledger_v2`, `src/auth/session.ts`). */
function identifiersOf(text: string): string[] {
  return text
    .split(/\s+/)
    .filter((chunk) => chunk.length <= 4 * MAX_WORD_CHARS)
    .flatMap((chunk) => chunk.match(/[A-Za-z0-9]+(?:[._/-][A-Za-z0-9]+)*[_/.][A-Za-z0-9]+/g) ?? [])
    .map((t) => t.toLowerCase());
}

/** WordNet's lemma for an inflected word (tokens → token, stored → store), or undefined. */
export function lemmaOf(word: string, wordnet: WordNet): string | undefined {
  const candidates = [word];
  if (word.endsWith('ies')) candidates.push(`${word.slice(0, -3)}y`);
  if (word.endsWith('es')) candidates.push(word.slice(0, -2));
  if (word.endsWith('s')) candidates.push(word.slice(0, -1));
  if (word.endsWith('ed')) candidates.push(word.slice(0, -2), word.slice(0, -1));
  if (word.endsWith('ing')) candidates.push(word.slice(0, -3), `${word.slice(0, -3)}e`);
  return candidates.find((c) => c.length > 1 && wordnet.has(c));
}

class TermBag {
  readonly terms: Terms = new Map();

  add(term: string, weight: number): void {
    if ((this.terms.get(term) ?? 0) < weight) this.terms.set(term, weight);
  }

  addConcepts(lemma: string, wordnet: WordNet, scale: number): void {
    const { synsets, derived } = wordnet.conceptsOf(lemma);
    for (const synset of synsets) this.add(synset, termWeights.synonym * scale);
    for (const synset of derived) this.add(synset, termWeights.derived * scale);
  }
}

/**
 * Splits a closed compound WordNet does not know into two parts it does: `login` → `log_in` (a
 * collocation), `webhook` → `web` + `hook`. Collocations win; otherwise both parts must be real words.
 */
function addCompound(word: Word, wordnet: WordNet, bag: TermBag): void {
  const text = word.text;
  if (text.length < 5 || /\d/.test(text)) return;
  let parts: [string, string] | undefined;
  for (let i = 2; i <= text.length - 2; i++) {
    const [head, tail] = [text.slice(0, i), text.slice(i)];
    if (wordnet.has(`${head}_${tail}`)) return bag.addConcepts(`${head}_${tail}`, wordnet, word.weight);
    if (!parts && head.length >= 3 && tail.length >= 3 && wordnet.has(head) && lemmaOf(tail, wordnet)) {
      parts = [head, tail];
    }
  }
  for (const part of parts ?? []) bag.add(`s:${stemmer(part)}`, termWeights.compoundPart * word.weight);
}

/** Adds the synsets of two- and three-word collocations (`sign in`, `single sign on`) in the text. */
function addCollocations(words: Word[], wordnet: WordNet, bag: TermBag): void {
  for (let i = 0; i + 1 < words.length; i++) {
    for (const length of [2, 3]) {
      const group = words.slice(i, i + length);
      if (group.length < length || group.some((w) => w.text.length > MAX_WORD_CHARS)) continue;
      const last = group[length - 1]!.text;
      const collocation = [...group.slice(0, -1).map((w) => w.text), lemmaOf(last, wordnet) ?? last].join('_');
      if (wordnet.has(collocation)) bag.addConcepts(collocation, wordnet, Math.min(...group.map((w) => w.weight)));
    }
  }
}

/**
 * The search terms of a text: each content word's Porter stem, whole identifiers and paths, and —
 * with WordNet — the synsets of its words and collocations (so `sign-in`/`log in`/`login` and
 * `authenticate`/`authentication` meet), with compounds split. Deterministic.
 */
export function termsOf(text: string, wordnet?: WordNet): Terms {
  const bag = new TermBag();
  const words = wordsOf(text);
  for (const identifier of identifiersOf(text)) bag.add(`i:${identifier}`, 1);
  for (const word of words) {
    if (stopwords.has(word.text) || word.text.length > MAX_WORD_CHARS) continue;
    bag.add(`s:${stemmer(word.text)}`, word.weight);
    if (!wordnet || /^\d+$/.test(word.text)) continue;
    const lemma = lemmaOf(word.text, wordnet);
    if (lemma) bag.addConcepts(lemma, wordnet, word.weight);
    else addCompound(word, wordnet, bag);
  }
  if (wordnet) addCollocations(words, wordnet, bag);
  return bag.terms;
}

/** Words that say there is nothing: a fact of them alone is empty ("none", "N/A"). */
const vacuousWords = new Set([
  '0',
  'none',
  'nothing',
  'n',
  'na',
  'nil',
  'null',
  'undefined',
  'empty',
  'yet',
  'noted',
  'unchanged',
  'ok',
  'tbd',
]);

/** Words that open a "nothing to say" fact: "No files changed", "Nothing changed", "n/a — research only". */
const nothingWords = new Set(['no', 'none', 'nothing', 'n', 'na', 'nil', 'not', 'zero', '0']);

/**
 * Bookkeeping and filler that may follow a nothing-word and still say nothing: what there is none of
 * (files, changes, errors, artifacts), and why ("read-only task", "research only", "so far").
 */
const bookkeepingWords = new Set(
  (
    'file files change changes changed modified modification modifications edit edits edited touched written ' +
    'created new error errors encountered occurred issue issues found made artifact artifacts produced generated ' +
    'applicable report reported far needed required read only research review task investigation step phase agent ' +
    'finding findings decision decisions code blocker blockers problem problems warning warnings concern concerns'
  ).split(' '),
);

/** True when a fact says nothing: empty, "none" / "n/a", or a nothing-word and bookkeeping ("No files were modified"). */
export function isEmptyFact(content: string): boolean {
  const all = wordsOf(content).map((w) => w.text);
  const meaningful = all.filter((w) => !stopwords.has(w));
  if (meaningful.every((w) => vacuousWords.has(w))) return true;
  // "None of the endpoints validate input" starts like one but names something: only bookkeeping may
  // come with the nothing-word, before it too ("Files changed: none", "Code review: no findings").
  return (
    all.some((w) => nothingWords.has(w)) &&
    meaningful.every((w) => vacuousWords.has(w) || bookkeepingWords.has(w) || nothingWords.has(w))
  );
}
