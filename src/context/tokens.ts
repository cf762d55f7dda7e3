import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';

let encoder: Tiktoken | undefined;

/**
 * Tokens in a text, counted with a real BPE tokenizer (cl100k_base via js-tiktoken). Claude's own
 * tokenizer is not public; cl100k is close enough for budgets, unlike a bytes/4 guess.
 */
export function countTokens(text: string): number {
  encoder ??= new Tiktoken(cl100k);
  return encoder.encode(text).length;
}
