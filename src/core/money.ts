/**
 * A cost in USD as every command and dashboard prints it: four decimals, but a non-zero amount below
 * $0.0001 (a few tokens' worth) with two significant digits, so that it never reads as `$0.0000`.
 * Self-contained (no imports, nothing but `Math`): the web dashboard's page embeds its source.
 */
export function formatUsd(usd: number): string {
  if (usd === 0 || Math.abs(usd) >= 0.0001) return '$' + usd.toFixed(4);
  const decimals = Math.min(20, 1 - Math.floor(Math.log10(Math.abs(usd))));
  return '$' + usd.toFixed(decimals);
}
