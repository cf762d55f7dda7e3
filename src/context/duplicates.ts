import { diffArrays } from 'diff';
import { stemmer } from 'stemmer';
import { isContentWord, isValue, tokensOf } from './supersede.js';

/** The most words a replaced span may have and still name one other thing ("eu-west-1" → "us-east-1"). */
const MAX_REPLACED_WORDS = 3;
/** The least share of each fact's words the two must have in common, in order. */
const MIN_SHARED = 0.6;

/** Content words as stems and values as written, in order: what a fact says, not how it is inflected. */
const wordsOf = (text: string): string[] =>
  tokensOf(text)
    .filter((t) => isContentWord(t) || isValue(t))
    .map((t) => (isValue(t) ? t : stemmer(t)));

/**
 * The same statement about another thing: "The orders service has no rate limit" and "The payments
 * service has no rate limit", "p95 latency is 900 ms" and "… 350 ms". Their words are the same, in
 * order, but for one short span where one names another service, table, region, platform or value:
 * two facts, though their terms are nearly the same, and merging them as one said twice would lose
 * one. Paraphrases differ in more places than one ("take 900 ms to render" / "render slowly, about
 * 900 ms"), and a fact that only adds words to another (nothing replaced) is that fact said twice.
 */
export function aboutAnotherThing(a: string, b: string): boolean {
  const [x, y] = [wordsOf(a), wordsOf(b)];
  const parts = diffArrays(x, y);
  const at = parts.flatMap((part, i) => (part.added || part.removed ? [i] : []));
  // One span replaced by another: one removal right next to one addition, nothing else changed.
  if (at.length !== 2 || at[1] !== at[0]! + 1) return false;
  const [first, second] = [parts[at[0]!]!, parts[at[1]]!];
  const adjacent = Boolean(first.removed) !== Boolean(second.removed);
  const shared = x.length - (first.removed ? first.value.length : second.value.length);
  return (
    adjacent &&
    first.value.length <= MAX_REPLACED_WORDS &&
    second.value.length <= MAX_REPLACED_WORDS &&
    shared >= MIN_SHARED * x.length &&
    shared >= MIN_SHARED * y.length
  );
}
