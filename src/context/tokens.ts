import { createRequire } from 'node:module';
import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';

let encoder: Tiktoken | undefined;

/**
 * Tokens in a text, counted with a real BPE tokenizer (cl100k_base via js-tiktoken). Claude's own
 * tokenizer is not public; cl100k is close enough for budgets, unlike a bytes/4 guess.
 */
export function countTokens(text: string): number {
  // The ranks (~1 MB) load on first use, so commands that count no tokens start faster.
  encoder ??= new Tiktoken(createRequire(import.meta.url)('js-tiktoken/ranks/cl100k_base') as TiktokenBPE);
  return encoder.encode(text).length;
}
