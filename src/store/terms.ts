import { stemmer } from 'stemmer';

/**
 * The one normalisation of text for full-text search, shared by both stores so they find and rank
 * alike: words as SQLite's `unicode61` tokenizer splits them (letters and digits, lower-cased,
 * diacritics removed), reduced by the Porter stemmer (the `stemmer` package; SQLite's `porter`
 * tokenizer runs the same algorithm, which `terms.test.ts` checks word for word).
 */

const wordPattern = /[\p{L}\p{N}]+/gu;
const diacritics = /\p{M}/gu;

/** Words shorter than this are neither searched for nor given postings: they carry no meaning alone. */
const minWordLength = 3;

/** At most this many words of a query are searched for. */
const maxQueryWords = 32;

/** Words too common to search for. */
const stopWords = new Set([
  'the',
  'and',
  'for',
  'are',
  'was',
  'with',
  'this',
  'that',
  'from',
  'what',
  'which',
  'into',
  'your',
  'you',
  'our',
  'has',
  'have',
  'not',
  'but',
  'all',
  'any',
  'can',
  'its',
  'about',
]);

/** A text's words, as the `unicode61` tokenizer sees them. */
function words(text: string): string[] {
  return text.normalize('NFD').replace(diacritics, '').toLowerCase().match(wordPattern) ?? [];
}

/** The Porter stem of a lower-case word: "limits", "limiting" and "limited" all give "limit". */
export const stem = (word: string): string => stemmer(word);

/** The meaningful words of a query, normalised, without duplicates (not yet stemmed). */
export function searchWords(text: string): string[] {
  const meaningful = words(text).filter((w) => w.length >= minWordLength && !stopWords.has(w));
  return [...new Set(meaningful)].slice(0, maxQueryWords);
}

/** The stems a query asks for, without duplicates. */
export const searchTerms = (text: string): string[] => [...new Set(searchWords(text).map(stem))];

/**
 * The stems of a text and how often each occurs, plus its length in words (BM25's document length,
 * counted as FTS5 counts it: every word, short ones too).
 */
export function termFrequencies(text: string): { terms: Map<string, number>; length: number } {
  const all = words(text);
  const terms = new Map<string, number>();
  for (const word of all) {
    if (word.length < minWordLength) continue;
    const term = stem(word);
    terms.set(term, (terms.get(term) ?? 0) + 1);
  }
  return { terms, length: all.length };
}

/** Document frequency above which a term is skipped (both stores): it barely moves BM25 but visits nearly every entry. */
export const commonTermThreshold = (documents: number): number => Math.max(50, documents / 10);

/** The terms worth reading postings for: the uncommon ones, or else the rarest one alone. */
export function usefulTerms(documentFrequency: Map<string, number>, documents: number): string[] {
  const ranked = [...documentFrequency.keys()].sort((a, b) => documentFrequency.get(a)! - documentFrequency.get(b)!);
  const useful = ranked.filter((t) => documentFrequency.get(t)! <= commonTermThreshold(documents));
  return useful.length > 0 ? useful : ranked.slice(0, 1);
}
