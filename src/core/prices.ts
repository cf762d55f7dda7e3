import type { Usage } from './values.js';

/** USD per million tokens (Anthropic list prices), by model family; the cheapest first. */
export const modelPrices = [
  { family: 'haiku', inputPerMTok: 1, outputPerMTok: 5 },
  { family: 'sonnet', inputPerMTok: 3, outputPerMTok: 15 },
  { family: 'opus', inputPerMTok: 15, outputPerMTok: 75 },
] as const;

/** What cached input costs, as a share of the input price: read from the cache, written to it (5-minute cache). */
const CACHE_READ_SHARE = 0.1;
const CACHE_WRITE_SHARE = 1.25;

/** The model family a model name belongs to; Claude Code's default (sonnet) when none is set or known. */
export function priceOf(model: string | undefined): (typeof modelPrices)[number] {
  const name = (model ?? 'sonnet').toLowerCase();
  return modelPrices.find((p) => name.includes(p.family)) ?? modelPrices[1];
}

/**
 * What these tokens cost at list price: Baton's estimate where Claude Code reported no cost (an
 * attempt cut off before its result message), never a replacement for the cost it did report.
 */
export function listPriceUsd(model: string | undefined, usage: Usage): number {
  const price = priceOf(model);
  const inputTokens =
    usage.inputTokens + usage.cacheReadTokens * CACHE_READ_SHARE + usage.cacheCreationTokens * CACHE_WRITE_SHARE;
  return (inputTokens * price.inputPerMTok + usage.outputTokens * price.outputPerMTok) / 1_000_000;
}
