import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

type CountTokens = (text: string) => number;
let count: CountTokens | undefined;
let preloading = false;

// The CommonJS build, whichever way it is loaded: `import()` of a CommonJS file goes through
// require's cache, so a count made while the preload is still loading shares its one instance
// (the package's ES build would be a second copy, ≈ 0.25 CPU-s and 30 MB more).
const tokenizerPath = () => createRequire(import.meta.url).resolve('gpt-tokenizer/encoding/cl100k_base');

/**
 * Tokens in a text, counted with a real BPE tokenizer (cl100k_base via gpt-tokenizer). Claude's own
 * tokenizer is not public; cl100k is close enough for budgets, unlike a bytes/4 guess.
 */
export function countTokens(text: string): number {
  // Loaded on first use (~0.2 s), so commands that count no tokens start faster.
  count ??= (createRequire(import.meta.url)(tokenizerPath()) as { countTokens: CountTokens }).countTokens;
  return count(text);
}

/**
 * Loads the tokenizer in the background, so the first count (when the first agent's result is added
 * to the context) does not pay for it. Call it while agents run, once their process has started:
 * Baton is idle then. Called again, it does nothing.
 */
export function preloadTokenizer(): void {
  if (count || preloading) return;
  preloading = true;
  void import(pathToFileURL(tokenizerPath()).href).then(
    (tokenizer: { default: { countTokens: CountTokens } }) => (count ??= tokenizer.default.countTokens),
    () => undefined, // countTokens loads it itself, and reports a failure where it matters
  );
}
