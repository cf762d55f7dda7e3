/**
 * Full-text ranking for the Redis store, which has no search module to lean on: entries are split
 * into stemmed terms when saved (`terms.ts`, kept in per-run postings in Redis), and a search scores
 * the entries of the terms it asks for with Okapi BM25, the ranking SQLite's FTS5 uses.
 */

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
