import { describe, expect, it } from 'vitest';
import { listPriceUsd, priceOf } from './prices.js';

const inOut = (model: string | undefined) => {
  const price = priceOf(model);
  return [price.inputPerMTok, price.outputPerMTok, price.known];
};

describe("priceOf: Claude Code's own prices, by model id", () => {
  it.each([
    ['claude-opus-5-5', [4, 20, true]],
    ['opus', [4, 20, true]],
    [undefined, [4, 20, true]],
    ['claude-opus-5', [5, 25, true]],
    ['claude-opus-4-5-20251101', [5, 25, true]],
    ['us.anthropic.claude-opus-4-6-v1:0', [5, 25, true]],
    ['claude-opus-5-5[1m]', [4, 20, true]],
    // Claude Code sends the retired opus 4.0 and 4.1 as opus.
    ['claude-opus-4-1', [4, 20, true]],
    ['claude-sonnet-4-5-20250929', [3, 15, true]],
    ['claude-3-7-sonnet-20250219', [3, 15, true]],
    ['sonnet', [2, 10, true]],
    ['claude-haiku-4-5', [1, 5, true]],
    ['weird-model-x', [4, 20, false]],
    ['claude-opus-4-9', [4, 20, false]],
  ] as const)('%s', (model, expected) => {
    expect(inOut(model)).toEqual(expected);
  });

  it("prices cache reads and writes at the model's own rates", () => {
    const usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 1_000_000, cacheCreationTokens: 1_000_000 };
    expect(listPriceUsd('claude-opus-5-5', usage)).toBeCloseTo(0.2 + 5, 9);
    expect(listPriceUsd('claude-sonnet-4-5', usage)).toBeCloseTo(0.3 + 3.75, 9);
  });
});
