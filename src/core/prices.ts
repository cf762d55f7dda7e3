import type { Usage } from './values.js';

/** USD per million tokens: input, output, a (5-minute) cache write and a cache read. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
  cacheWritePerMTok: number;
  cacheReadPerMTok: number;
}

const tier = (input: number, output: number, cacheWrite: number, cacheRead: number): ModelPrice => ({
  inputPerMTok: input,
  outputPerMTok: output,
  cacheWritePerMTok: cacheWrite,
  cacheReadPerMTok: cacheRead,
});

/**
 * Claude Code's own prices, per model id: its model catalog (`pricing_tiers` and `models` in the
 * claude binary of @anthropic-ai/claude-agent-sdk 0.3.x). Baton prices what Claude Code did not (an
 * attempt cut off before its result, `baton plan`'s range) as Claude Code prices what it reports,
 * so the two agree model by model. (haiku-5-5's dearer prompts above 100k tokens are not modelled.)
 */
const claudeCodePrices: Record<string, ModelPrice> = {
  'claude-3-5-haiku': tier(0.8, 4, 1, 0.08),
  'claude-haiku-4-5': tier(1, 5, 1.25, 0.1),
  'claude-haiku-5-5': tier(0.1, 0.5, 0.125, 0.01),
  'claude-3-5-sonnet': tier(3, 15, 3.75, 0.3),
  'claude-3-7-sonnet': tier(3, 15, 3.75, 0.3),
  'claude-sonnet-4-0': tier(3, 15, 3.75, 0.3),
  'claude-sonnet-4-5': tier(3, 15, 3.75, 0.3),
  'claude-sonnet-4-6': tier(3, 15, 3.75, 0.3),
  'claude-sonnet-5': tier(2, 10, 2.5, 0.2),
  'claude-sonnet-5-5': tier(2, 10, 2.5, 0.1),
  'claude-opus-4-0': tier(15, 75, 18.75, 1.5),
  'claude-opus-4-1': tier(15, 75, 18.75, 1.5),
  'claude-opus-4-5': tier(5, 25, 6.25, 0.5),
  'claude-opus-4-6': tier(5, 25, 6.25, 0.5),
  'claude-opus-4-7': tier(5, 25, 6.25, 0.5),
  'claude-opus-4-8': tier(5, 25, 6.25, 0.5),
  'claude-opus-5': tier(5, 25, 6.25, 0.5),
  'claude-opus-5-5': tier(4, 20, 5, 0.2),
  'claude-fable-5': tier(10, 50, 12.5, 1),
  'claude-fable-5-1': tier(10, 50, 12.5, 0.25),
  'claude-fable-5-2': tier(8, 40, 10, 0.2),
  'claude-mythos-5': tier(10, 50, 12.5, 1),
  'claude-mythos-5-1': tier(10, 50, 12.5, 0.25),
  'claude-mythos-5-2': tier(8, 40, 10, 0.2),
};

/** The model each alias stands for in Claude Code (its catalog's `aliases`, first party). */
const aliases: Record<string, string> = {
  opus: 'claude-opus-5-5',
  sonnet: 'claude-sonnet-5-5',
  haiku: 'claude-haiku-5-5',
  fable: 'claude-fable-5-2',
};

/**
 * Model ids Claude Code sends as `opus` instead (its legacy model remap, on unless
 * CLAUDE_CODE_DISABLE_LEGACY_MODEL_REMAP is set): what they cost is what opus costs.
 */
const remappedToOpus = new Set([
  'claude-opus-4-20250514',
  'claude-opus-4-1-20250805',
  'claude-opus-4-0',
  'claude-opus-4-1',
]);

/**
 * Claude Code's default model (its catalog's `best`), which it also charges for a model its catalog
 * does not hold (measured: an agent on `weird-model-x` costs what one on opus does).
 */
const defaultModel = 'opus';
export const unknownModelPrice: ModelPrice = claudeCodePrices[aliases[defaultModel]!]!;

/**
 * How a model name holds each catalog id, the longest first (`claude-opus-4-5` before `claude-opus-4`):
 * followed by no further digit, so that a dated or provider id (`claude-opus-4-1-20250805`,
 * `us.anthropic.claude-opus-4-1-v1:0`) finds its own. A 4.0 model is also written without its `-0`
 * (`claude-opus-4-20250514`): that form only alone or before a date.
 */
const catalogPatterns: Array<[RegExp, string]> = Object.keys(claudeCodePrices)
  .flatMap((id): Array<[string, string, string]> => {
    const exact: [string, string, string] = [id, id, '(?!\\d)'];
    return id.endsWith('-0') ? [exact, [id.slice(0, -2), id, '(?=$|-\\d{8}|@)']] : [exact];
  })
  .sort(([a], [b]) => b.length - a.length)
  .map(([written, id, after]) => [new RegExp(`${written}${after}`), id]);

function catalogId(model: string): string | undefined {
  // Claude Code's `[1m]` suffix asks for the long context window, at the same price.
  const name = model.toLowerCase().replace(/\[1m\]$/, '');
  const alias = remappedToOpus.has(name) ? 'opus' : name;
  return aliases[alias] ?? catalogPatterns.find(([pattern]) => pattern.test(name))?.[1];
}

/** The price of a model as Claude Code charges it; `known: false` for a model its catalog does not hold. */
export function priceOf(model: string | undefined): ModelPrice & { known: boolean } {
  const id = catalogId(model ?? defaultModel);
  return id ? { ...claudeCodePrices[id]!, known: true } : { ...unknownModelPrice, known: false };
}

/**
 * What these tokens cost at Claude Code's prices: Baton's estimate where Claude Code reported no cost
 * (an attempt cut off before its result message), never a replacement for the cost it did report.
 */
export function listPriceUsd(model: string | undefined, usage: Usage): number {
  const price = priceOf(model);
  return (
    (usage.inputTokens * price.inputPerMTok +
      usage.cacheReadTokens * price.cacheReadPerMTok +
      usage.cacheCreationTokens * price.cacheWritePerMTok +
      usage.outputTokens * price.outputPerMTok) /
    1_000_000
  );
}
