import { formatUsd, neutralizeControls, type Usage } from '../core/index.js';
import type { UsageReport } from '../observability/index.js';

/**
 * A name (a workflow's, a phase's) as one cell: escaped here, newlines and tabs too, and not only when it is
 * printed, so that the padding counts the characters shown and the columns line up.
 */
const cell = (text: string): string =>
  neutralizeControls(text).replace(/[\n\t]/g, (c) => JSON.stringify(c).slice(1, -1));

/** One line: a label, a count, the four token kinds and the cost. */
function usageLine(label: string, count: string, row: Usage & { costUsd: number; estimatedCostUsd?: number }): string {
  return `  ${cell(label).padEnd(38)} ${count.padStart(14)} ${String(row.inputTokens).padStart(10)} in ${String(row.outputTokens).padStart(8)} out ${String(row.cacheReadTokens).padStart(9)} cache-read ${String(row.cacheCreationTokens).padStart(9)} cache-write  ${row.estimatedCostUsd ? '~' : ''}${formatUsd(row.costUsd)}\n`;
}

/** `baton usage` as text: the agents by one dimension, Baton's own model calls per run, and the total of both. */
export function usageText(report: UsageReport): string {
  const lines = [`Usage since ${report.since}, by ${report.by}:\n`];
  for (const row of report.rows) lines.push(usageLine(row.key, `${row.agents} agents`, row));
  const own = report.batonCalls;
  if (own.rows.length > 0) {
    lines.push("Baton's own model calls (context summaries, re-ranking), not agents', by run:\n");
    for (const row of own.rows) lines.push(usageLine(`${row.run} ${row.purpose}`, `${row.calls} calls`, row));
    lines.push(usageLine("Baton's own calls", `${own.totals.calls} calls`, own.totals));
  }
  const { totals } = report;
  const count = `${totals.agents} agents${totals.batonCalls > 0 ? ` + ${totals.batonCalls} calls` : ''}`;
  lines.push(usageLine('total', count, totals));
  if (totals.estimatedCostUsd)
    lines.push(
      `~ ${formatUsd(totals.estimatedCostUsd)} of it is Baton's estimate at list price: attempts cut off (cancelled, timed out, stopped) before Claude Code reported their cost\n`,
    );
  return lines.join('');
}
