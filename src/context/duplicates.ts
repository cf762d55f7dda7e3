import { diffArrays } from 'diff';
import { stemmer } from 'stemmer';
import { isContentWord, isValue, tokensOf } from './supersede.js';

/** The most words a replaced span may have and still name one other thing ("eu-west-1" → "us-east-1"). */
const MAX_REPLACED_WORDS = 3;
/** How many places two facts may differ in and still be one statement about two things ("EU … eu-west-1"). */
const MAX_SPANS = 2;
/** The least share of each fact's words the two must have in common, in order. */
const MIN_SHARED = 0.6;

/** Content words as stems and values as written, in order: what a fact says, not how it is inflected. */
const wordsOf = (text: string): string[] =>
  tokensOf(text)
    .filter((t) => isContentWord(t) || isValue(t))
    .map((t) => (isValue(t) ? t : stemmer(t)));

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

/** No replaced span changes a value ("eu-west-1" → "us-east-1" keeps its 1): another subject or choice, not a changed number. */
export const changesNoValue = (spans: Array<[string[], string[]]>): boolean =>
  spans.every(([from, to]) => from.filter(isValue).join(' ') === to.filter(isValue).join(' '));
