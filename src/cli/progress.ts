import type { RunEvents, RunSummary } from '../orchestrator/index.js';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
const usd = (n: number): string => `$${n.toFixed(4)}`;

/** Prints a line as each agent starts, retries and finishes, so a user sees the run as it goes. */
export function printProgress(events: RunEvents, out: NodeJS.WritableStream): void {
  events.on('run.started', (e) => out.write(`run ${e.runId} · ${e.workflowName} · ${e.agents} agents\n`));
  events.on('phase.started', (e) => out.write(`▶ phase ${e.phaseId}\n`));
  events.on('agent.started', (e) => {
    const inherited = e.inherited.entries > 0 ? `, inherits ${e.inherited.entries} facts / ${e.inherited.tokens} tokens` : '';
    out.write(`  … ${e.agentId} running (session ${e.sessionId}${inherited})\n`);
  });
  events.on('context.corrupt', (e) => out.write(`  ! ${e.agentId}: context entries ${e.entryIds.join(', ')} fail their checksum and were left out\n`));
  events.on('agent.mcp', (e) => {
    if (e.servers.length > 0) out.write(`  ⚙ ${e.agentId} MCP: ${e.servers.join(', ')}\n`);
    for (const missing of e.missing) out.write(`  ⚠ ${e.agentId} starts without MCP server ${missing.name}: ${missing.error.message}\n`);
  });
  events.on('agent.attempt', (e) => {
    if (e.attempt > 1) out.write(`  ↻ ${e.agentId} attempt ${e.attempt}${e.resumed ? ' (resuming session)' : ''}\n`);
  });
  events.on('agent.finished', (e) => {
    if (e.status === 'succeeded') out.write(`  ✓ ${e.agentId} ${seconds(e.durationMs)} ${usd(e.costUsd)}\n`);
    else out.write(`  ✗ ${e.agentId} ${e.status}${e.error ? `: ${e.error.code} ${e.error.message}` : ''}\n`);
  });
  events.on('budget.warning', (e) => out.write(`⚠ run has spent ${usd(e.spentUsd)} of its ${usd(e.budgetUsd)} budget (80 %)\n`));
  events.on('budget.exceeded', (e) => out.write(`✗ run budget spent (${usd(e.spentUsd)} of ${usd(e.budgetUsd)}): stopping every agent\n`));
  events.on('phase.finished', (e) => out.write(`■ phase ${e.phaseId} ${e.status}\n`));
}

function firstLine(text: string | null, width: number): string {
  const line = (text ?? '').split('\n').find((l) => l.trim().length > 0) ?? '';
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/** A human-readable account of a run: every agent's status, cost and result. */
export function formatSummary(summary: RunSummary): string {
  const lines = [`Run ${summary.runId} (${summary.workflow}): ${summary.status}`];
  for (const phase of summary.phases) {
    lines.push(`  phase ${phase.id}: ${phase.status}`);
    for (const agent of phase.agents) {
      const tokens = agent.usage.inputTokens + agent.usage.outputTokens;
      const detail = agent.error ? `${agent.error.code}: ${agent.error.message}` : firstLine(agent.result, 70);
      lines.push(
        `    ${agent.status.padEnd(9)} ${agent.id.padEnd(16)} ${seconds(agent.durationMs).padStart(6)} ${String(tokens).padStart(7)} tok ${usd(agent.costUsd)} ×${agent.attempts}  ${detail}`,
      );
    }
  }
  const t = summary.totals;
  lines.push(
    `Totals: ${t.succeeded}/${t.agents} agents succeeded, ${t.failed} failed · ${t.inputTokens} in / ${t.outputTokens} out tokens · ${usd(t.costUsd)} · ${seconds(t.durationMs)}`,
  );
  return lines.join('\n');
}
