import { describe, expect, it } from 'vitest';
import { emptyUsage, neutralizeControls } from '../core/index.js';
import type { UsageReport } from '../observability/index.js';
import { usageText } from './usage-text.js';

const report = (rows: UsageReport['rows']): UsageReport => ({
  since: '2025-01-01T00:00:00.000Z',
  by: 'workflow',
  rows,
  batonCalls: { rows: [], totals: { ...emptyUsage(), calls: 0, costUsd: 0 } },
  totals: { ...emptyUsage(), agents: rows.length, batonCalls: 0, costUsd: rows.reduce((s, r) => s + r.costUsd, 0) },
});

describe('usageText', () => {
  it('shows a small non-zero cost as it is, not as $0.0000', () => {
    const text = usageText(report([{ key: 'tiny', agents: 1, costUsd: 0.000045, ...emptyUsage() }]));
    expect(text).toMatch(/ {2}tiny .* \$0\.000045\n/);
    expect(text).toMatch(/ {2}total .* \$0\.000045\n/);
  });
  it('lines up a row whose name has control characters, newlines or tabs, as it is printed (escaped)', () => {
    const rows = ['plain', 'evil\u001b[2J\rname', 'two\nlines\tand tab'].map((key) => ({
      key,
      agents: 1,
      costUsd: 0.5,
      ...emptyUsage(),
    }));
    const printed = neutralizeControls(usageText(report(rows)))
      .split('\n')
      .slice(1, 4);
    expect(printed[1]).toContain('evil\\u001b[2J\\rname');
    expect(printed[2]).toContain('two\\nlines\\tand tab');
    expect(printed.map((line) => line.indexOf('1 agents'))).toEqual(Array(3).fill(printed[0]!.indexOf('1 agents')));
  });
});
