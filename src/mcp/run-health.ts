import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';

/** One server's health over a run, as `baton status` shows it. */
export const serverRunHealthSchema = z.object({
  name: z.string(),
  scope: z.enum(['run', 'agent', 'remote']),
  breaker: z.enum(['closed', 'open', 'half-open']),
  calls: z.number(),
  failures: z.number(),
  crashes: z.number(),
  restarts: z.number(),
  p50Ms: z.number().optional(),
  lastError: z.string().optional(),
});
export type ServerRunHealth = z.output<typeof serverRunHealthSchema>;

/** Where a run's MCP health is kept: beside the agents' MCP config files. */
export const runHealthPath = (dataDir: string, runId: string): string =>
  join(dataDir, 'runs', runId, 'mcp', 'health.json');

export function writeRunHealth(path: string, health: ServerRunHealth[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(health, null, 2)}\n`);
}

/** A run's MCP health, or undefined for a run without MCP servers (or from before the gateway). */
export function readRunHealth(dataDir: string, runId: string): ServerRunHealth[] | undefined {
  let text: string;
  try {
    text = readFileSync(runHealthPath(dataDir, runId), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = z.array(serverRunHealthSchema).safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

export function formatRunHealth(health: ServerRunHealth[]): string {
  const lines = health.map((h) => {
    const latency = h.p50Ms === undefined ? '' : `  p50 ${h.p50Ms.toFixed(1)} ms`;
    const trouble = h.crashes ? `  ${h.crashes} crash(es), ${h.restarts} restart(s)` : '';
    const error = h.lastError ? `  last error: ${h.lastError}` : '';
    return `  ${h.name.padEnd(14)} ${h.scope.padEnd(6)} breaker ${h.breaker.padEnd(9)} ${h.calls} call(s), ${h.failures} failed${latency}${trouble}${error}`;
  });
  return ['MCP servers:', ...lines].join('\n');
}
