/**
 * Full-text ranking for the Redis store, which has no search module to lean on: entries are split
 * into stemmed terms when saved (kept in per-run postings in Redis), and a search scores the entries
 * of the terms it asks for with Okapi BM25, the ranking SQLite's FTS5 uses.
 */

const wordPattern = /[\p{L}\p{N}_]{3,}/gu;
const vowel = /[aeiou]/;

/**
 * A light English stemmer: folds the inflections facts are written in (plurals, -ing, -ed, a final
 * -e or -y) so "limits", "limiting" and "limited" meet at "limit", as Porter stemming does for them.
 */
export function stem(word: string): string {
  let w = word;
  if (w.length <= 3) return w;
  if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('ies') || w.endsWith('ied')) w = `${w.slice(0, -3)}i`;
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);
  for (const suffix of ['ing', 'ed']) {
    const base = w.slice(0, -suffix.length);
    if (w.endsWith(suffix) && base.length >= 3 && vowel.test(base)) {
      // running → run, stopped → stop (but passed → pass, called → call)
      w = /([^aeiouslz])\1$/.test(base) ? base.slice(0, -1) : base;
      break;
    }
  }
  if (w.length > 3 && w.endsWith('e')) w = w.slice(0, -1);
  if (w.length > 3 && /[^aeiou]y$/.test(w)) w = `${w.slice(0, -1)}i`;
  return w;
}

/** The indexed terms of a text and how often each occurs, plus its length in terms (BM25's document length). */
export function termFrequencies(text: string): { terms: Map<string, number>; length: number } {
  const terms = new Map<string, number>();
  const words = text.toLowerCase().match(wordPattern) ?? [];
  for (const word of words) {
    const term = stem(word);
    terms.set(term, (terms.get(term) ?? 0) + 1);
  }
  return { terms, length: words.length };
}

/** Document frequency above which a term is skipped (same rule as the SQLite store): it barely moves BM25 but visits nearly every entry. */
export const commonTermThreshold = (documents: number): number => Math.max(50, documents / 10);

/** The terms worth reading postings for: the uncommon ones, or else the rarest one alone. */
export function usefulTerms(documentFrequency: Map<string, number>, documents: number): string[] {
  const ranked = [...documentFrequency.keys()].sort((a, b) => documentFrequency.get(a)! - documentFrequency.get(b)!);
  const useful = ranked.filter((t) => documentFrequency.get(t)! <= commonTermThreshold(documents));
  return useful.length > 0 ? useful : ranked.slice(0, 1);
}

export interface Bm25Corpus {
  documents: number;
  averageLength: number;
}

const k1 = 1.2;
const b = 0.75;

/** One term's BM25 contribution to one document (the +1 keeps the idf positive even for common terms). */
export function bm25Term(
  corpus: Bm25Corpus,
  documentFrequency: number,
  termFrequency: number,
  documentLength: number,
): number {
  const idf = Math.log(1 + (corpus.documents - documentFrequency + 0.5) / (documentFrequency + 0.5));
  const norm = 1 - b + b * (documentLength / (corpus.averageLength || 1));
  return (idf * termFrequency * (k1 + 1)) / (termFrequency + k1 * norm);
}
