import { describe, expect, it } from 'vitest';
import { pickedNumbers } from './rerank.js';

describe("reading a re-ranker's answer", () => {
  it.each([
    ['2, 5, 7', [2, 5, 7]],
    ['**2, 9**', [2, 9]],
    ['Facts 2 and 5.', [2, 5]],
    ['1-3, 6', [1, 2, 3, 6]],
    ['12, 99, 12', [12]],
    // Prose around the list: the list is the answer, not the numbers the prose names.
    ['The task needs the 3-D Secure fact and the 2 retry rules.\n4, 1', [4, 1]],
    ['It needs fact 3-D? No: 7.', [7]],
    ['none', []],
    ['None of them.', []],
  ])('%j names %j', (answer, picked) => {
    expect(pickedNumbers(answer, 40)).toEqual(picked);
  });

  it('is unreadable (so the deterministic choice stands) when it names no fact and does not say "none"', () => {
    expect(pickedNumbers('I am not sure what the task is about.', 40)).toBeUndefined();
  });
});
