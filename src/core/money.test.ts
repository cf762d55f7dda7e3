import { describe, expect, it } from 'vitest';
import { formatUsd } from './money.js';

describe('formatUsd', () => {
  it('shows four decimals, and a small non-zero cost with two significant digits rather than as $0.0000', () => {
    expect(formatUsd(0)).toBe('$0.0000');
    expect(formatUsd(0.4551)).toBe('$0.4551');
    expect(formatUsd(12.5)).toBe('$12.5000');
    expect(formatUsd(0.0001)).toBe('$0.0001');
    expect(formatUsd(0.000045)).toBe('$0.000045');
    expect(formatUsd(0.0000012)).toBe('$0.0000012');
  });
});
