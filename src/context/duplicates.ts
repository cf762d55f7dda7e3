import { diffArrays } from 'diff';
import { stemmer } from 'stemmer';
import { isContentWord, isValue, tokensOf } from './supersede.js';

/** The most words a replaced span may have and still name one other thing ("eu-west-1" → "us-east-1"). */
const MAX_REPLACED_WORDS = 3;
/** How many places two facts may differ in and still be one statement about two things ("EU … eu-west-1"). */
const MAX_SPANS = 2;
/** The least share of each fact's words the two must have in common, in order. */
const MIN_SHARED = 0.6;

/** Units of one measurement, each as a base unit and its size in it: `900 ms`, `0.9 s` and `900 milliseconds` are one value. */
const units = new Map<string, [base: string, scale: number]>(
  (
    [
      ['ms', 1, 'ms msec msecs millisecond milliseconds'],
      ['ms', 1_000, 's sec secs second seconds'],
      ['ms', 60_000, 'min mins minute minutes'],
      ['ms', 3_600_000, 'h hr hrs hour hours'],
      ['ms', 86_400_000, 'd day days'],
      ['ms', 604_800_000, 'week weeks'],
      ['b', 1, 'b byte bytes'],
      ['b', 1e3, 'kb kilobyte kilobytes'],
      ['b', 1e6, 'mb megabyte megabytes'],
      ['b', 1e9, 'gb gigabyte gigabytes'],
      ['b', 1e12, 'tb terabyte terabytes'],
      ['%', 1, 'percent pct'],
    ] as const
  ).flatMap(([base, scale, names]) => names.split(' ').map((name) => [name, [base, scale]] as const)),
);
const numberWords = new Map(
  'one two three four five six seven eight nine ten eleven twelve'.split(' ').map((word, i) => [word, String(i + 1)]),
);

/**
 * Values as one spelling: a number with its unit in the base unit (`0.9 s` → `900ms`, `2 hours` and
 * `120 minutes` → `7200000ms`, `10 MB` → `10000000b`), small number words as digits (`five` → `5`).
 */
function canonicalValues(tokens: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = numberWords.get(tokens[i]!) ?? tokens[i]!;
    const unit = units.get(tokens[i + 1] ?? '');
    if (unit && /^\d+(?:\.\d+)?$/.test(token)) {
      out.push(`${Number((Number(token) * unit[1]).toPrecision(12))}${unit[0]}`);
      i++;
    } else out.push(token);
  }
  return out;
}

/** Words written in capitals that would read as function words in lower case: "US", "IT". */
const acronymsIn = (text: string): Set<string> =>
  new Set((text.match(/\b[A-Z]{2,5}\b/g) ?? []).map((word) => word.toLowerCase()));

/**
 * Content words as stems and values in one spelling, in order: what a fact says, not how it is
 * written. An acronym is a word however it reads in lower case ("US customers" are not "us").
 */
function wordsOf(text: string): string[] {
  const acronyms = acronymsIn(text);
  return canonicalValues(tokensOf(text))
    .filter((t) => isContentWord(t) || isValue(t) || acronyms.has(t))
    .map((t) => (isValue(t) ? t : stemmer(t)));
}

/** Words that turn a statement around: "Use Redis" and "Do not use Redis" share every content word. */
const negations = new Set(
  (
    'no not never nor neither nobody cannot don doesn didn isn wasn won aren ' +
    'without lack lacks lacking lacked missing miss absent'
  ).split(' '),
);
/**
 * One fact denies what the other says in nearly its words: "The orders API caches responses" / "The
 * orders API never caches responses" — two facts (that contradict each other), not one said twice. A
 * paraphrase that denies in other words ("Product pages take 900 ms to render without cache" /
 * "… when the cache is cold") shares too few words to be one.
 */
export const deniesTheOther = (a: string, b: string): boolean =>
  !sameNegation(a, b) && saysTheSame(a, b, SAME_WORDS, false);

/** Both facts deny, or neither does. */
const sameNegation = (a: string, b: string): boolean => {
  const negated = (text: string): boolean => tokensOf(text).some((t) => negations.has(t));
  return negated(a) === negated(b);
};

/** How much of their words (as a set) two facts must share to say the same thing in another order. */
const SAME_WORDS = 0.75;

/**
 * Two facts that say the same thing, worded in another order or with its values spelled otherwise:
 * "Use PostgreSQL 16 for the orders store" / "The orders store will use PostgreSQL 16", "p95 is 900 ms"
 * / "p95 is 0.9 s", "cache TTL is 60 seconds" / "cache TTL is 1 minute". The same values, the same
 * negations, and nearly all their words (stems) in common.
 */
export function saysTheSame(a: string, b: string, share = SAME_WORDS, negationsCount = true): boolean {
  // The words stated, a negation apart (stems: "lacks" is "lack").
  const affirmed = (text: string): Set<string> => new Set(wordsOf(text).filter((w) => !negations.has(w)));
  const [x, y] = [affirmed(a), affirmed(b)];
  const valuesOf = (words: Set<string>): string => [...words].filter(isValue).sort().join(' ');
  if (valuesOf(x) !== valuesOf(y) || (negationsCount && !sameNegation(a, b))) return false;
  const shared = [...x].filter((w) => y.has(w)).length;
  const union = x.size + y.size - shared;
  return union > 0 && shared / union >= share;
}

/**
 * The very same statement, whatever the order or spelling of its words: two agents giving it under
 * two types ("Finding: The orders API has no rate limit" / "Error: …") said it twice.
 */
export const sameStatement = (a: string, b: string): boolean => saysTheSame(a, b, 1);

/**
 * Where two facts read the same but for short spans, the spans (each side's words, stems and values):
 * "The orders service has no rate limit" / "The payments service has no rate limit" → [[order],
 * [payment]]. Undefined when they differ otherwise: in more than two places, in a longer span, in
 * words only one of them has (an addition, not a replacement), or in most of their words.
 */
export function replacedSpans(a: string, b: string): Array<[string[], string[]]> | undefined {
  const [x, y] = [wordsOf(a), wordsOf(b)];
  const parts = diffArrays(x, y);
  const spans: Array<[string[], string[]]> = [];
  let shared = 0;
  for (let i = 0; i < parts.length; i++) {
    const [part, next] = [parts[i]!, parts[i + 1]];
    if (!part.added && !part.removed) shared += part.value.length;
    else if (next && Boolean(next.removed) === Boolean(part.added) && (next.added || next.removed)) {
      spans.push(part.removed ? [part.value, next.value] : [next.value, part.value]);
      i++;
    } else return undefined; // words only one of them has
  }
  const short = spans.every(([from, to]) => from.length <= MAX_REPLACED_WORDS && to.length <= MAX_REPLACED_WORDS);
  const close = shared >= MIN_SHARED * x.length && shared >= MIN_SHARED * y.length;
  return spans.length >= 1 && spans.length <= MAX_SPANS && short && close ? spans : undefined;
}

/**
 * The same statement about another thing: "The orders service has no rate limit" and "The payments
 * service has no rate limit", "p95 latency is 900 ms" and "… 350 ms", "EU customers are stored in
 * eu-west-1" and "US customers … us-east-1". Their words are the same, in order, but for a short span
 * or two where one names another service, table, region, platform or value: two facts, though their
 * terms are nearly the same, and merging them as one said twice would lose one. Paraphrases differ in
 * words only one of them has ("take 900 ms to render" / "render slowly, about 900 ms"), and a fact
 * that only adds words to another (nothing replaced) is that fact said twice.
 */
export const aboutAnotherThing = (a: string, b: string): boolean => replacedSpans(a, b) !== undefined;

/**
 * Verbs a decision may start with, the choice right after them ("Use Redis for the session cache");
 * not "Run X on deploy", where X is what is done (two things run on deploy are two decisions).
 */
const choiceVerbs = new Set(['use', 'adopt', 'choose', 'pick', 'prefer', 'standardize', 'standardise']);

/**
 * Whether two decisions that read the same but for short spans differ in their subject — "The orders
 * service stores …" / "The payments service stores …", "EU customers …" / "US customers …": a span
 * that is neither the words they end with ("… stores its data in PostgreSQL" / "… in MongoDB": the
 * choice, so one revises the other) nor, in an imperative ("Use Redis for sessions"), the words right
 * after its verb — whose last words say what the choice is for ("Use Redis for queues" is another
 * decision). A changed value is a choice wherever it stands.
 */
export function differInSubject(a: string, b: string): boolean {
  const [x, y] = [wordsOf(a), wordsOf(b)];
  const parts = diffArrays(x, y);
  // Where the choice starts in an imperative: after its verb, which may be a stopword ("use") or not.
  const first = tokensOf(a)[0] ?? '';
  const choiceAt = choiceVerbs.has(first) ? (x[0] === stemmer(first) ? 1 : 0) : -1;
  let [i, j] = [0, 0];
  for (let k = 0; k < parts.length; k++) {
    const part = parts[k]!;
    if (!part.added && !part.removed) {
      [i, j] = [i + part.value.length, j + part.value.length];
      continue;
    }
    const [from, to] = [i, j];
    // One change: the removed words, the added words, or both next to each other.
    for (; k < parts.length && (parts[k]!.added || parts[k]!.removed); k++)
      if (parts[k]!.removed) i += parts[k]!.value.length;
      else j += parts[k]!.value.length;
    k--;
    // "Use X for Y": the choice is X, right after the verb, and Y (its last words) what it is for.
    const imperative = choiceAt >= 0 && tokensOf(b)[0] === first;
    const atEnd = !imperative && i === x.length && j === y.length;
    const afterVerb = imperative && from === choiceAt && to === choiceAt;
    // A value is what is chosen, wherever it stands ("Use Node 18 for the build").
    const values = [...x.slice(from, i), ...y.slice(to, j)].every(isValue);
    if (!atEnd && !afterVerb && !values) return true;
  }
  return false;
}

/** No replaced span changes a value ("eu-west-1" → "us-east-1" keeps its 1): another subject or choice, not a changed number. */
export const changesNoValue = (spans: Array<[string[], string[]]>): boolean =>
  spans.every(([from, to]) => from.filter(isValue).join(' ') === to.filter(isValue).join(' '));
