import { formatUsd as usd, type ApprovalRecord } from '../core/index.js';
import type { PhaseSummary, RunEvents, RunSummary } from '../orchestrator/index.js';
import { verifyFailureLine } from '../merge/index.js';
import type { MergeReport, MergeStep, VerifyResult } from '../store/index.js';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
/** A cost, with `~` when part of it is Baton's estimate (attempts cut off before Claude Code reported theirs). */
const cost = (c: { costUsd: number; estimatedCostUsd?: number }): string =>
  c.estimatedCostUsd ? `~${usd(c.costUsd)}` : usd(c.costUsd);

/** What part of a total is estimated, and why. */
export const estimatedNote = (c: { estimatedCostUsd?: number }): string =>
  c.estimatedCostUsd
    ? ` (${usd(c.estimatedCostUsd)} of it estimated at list price: attempts cut off before their cost was reported)`
    : '';

/** How much of a budget is spent: one agent's spend can take a run from under 80 % to past all of it at once. */
const shareOf = (spent: number, budget: number): string =>
  `${Math.round((spent / budget) * 100)} %${spent > budget ? ': over the budget' : ''}`;

/** Prints a line as each agent starts, retries and finishes, so a user sees the run as it goes. */
export function printProgress(events: RunEvents, out: NodeJS.WritableStream): void {
  events.on('run.started', (e) =>
    out.write(
      `run ${e.runId} · ${e.workflowName} · ${e.agents} agents${e.resumed ? ` · resumed, ${e.reused ?? 0} finished agents kept` : ''}\n`,
    ),
  );
  events.on('agent.reused', (e) => out.write(`  = ${e.agentId} ${e.status} before, kept (not run again)\n`));
  events.on('phase.started', (e) => out.write(`▶ phase ${e.phaseId}\n`));
  events.on('agent.started', (e) => {
    const inherited =
      e.inherited.entries > 0 ? `, inherits ${e.inherited.entries} facts / ${e.inherited.tokens} tokens` : '';
    out.write(
      `  … ${e.agentId} ${e.queued ? 'queued for a worker' : 'running'} (session ${e.sessionId}${inherited})\n`,
    );
  });
  events.on('context.corrupt', (e) =>
    out.write(`  ! ${e.agentId}: context entries ${e.entryIds.join(', ')} fail their checksum and were left out\n`),
  );
  events.on('agent.mcp', (e) => {
    if (e.servers.length > 0) out.write(`  ⚙ ${e.agentId} MCP: ${e.servers.join(', ')}\n`);
    for (const missing of e.missing)
      out.write(`  ⚠ ${e.agentId} starts without MCP server ${missing.name}: ${missing.error.message}\n`);
  });
  events.on('agent.attempt', (e) => {
    if (e.attempt > 1) out.write(`  ↻ ${e.agentId} attempt ${e.attempt}${e.resumed ? ' (resuming session)' : ''}\n`);
  });
  events.on('agent.finished', (e) => {
    if (e.status === 'succeeded') out.write(`  ✓ ${e.agentId} ${seconds(e.durationMs)} ${usd(e.costUsd)}\n`);
    else out.write(`  ✗ ${e.agentId} ${e.status}${e.error ? `: ${e.error.code} ${e.error.message}` : ''}\n`);
  });
  events.on('budget.warning', (e) =>
    out.write(
      e.limit === 'usd'
        ? `⚠ run has spent ${usd(e.spentUsd)} of its ${usd(e.budgetUsd)} budget (${shareOf(e.spentUsd, e.budgetUsd)})\n`
        : `⚠ run has used ${e.spentTokens} of the ${e.budgetTokens} tokens left of its tenant's daily budget (${shareOf(e.spentTokens, e.budgetTokens)})\n`,
    ),
  );
  events.on('budget.exceeded', (e) => {
    // An agent's own cap: its ✗ line (BATON_AGENT_BUDGET_EXCEEDED) says so, and the run goes on.
    if (e.limit === 'agent') return;
    out.write(
      e.limit === 'usd'
        ? `✗ run budget spent (${usd(e.spentUsd)} of ${usd(e.budgetUsd)}): stopping every agent\n`
        : `✗ tenant's daily tokens spent (${e.spentTokens} of ${e.budgetTokens}): stopping every agent\n`,
    );
  });
  events.on('approval.requested', ({ request }) => out.write(`${approvalRequestText(request)}\n`));
  events.on('merge.step', ({ into, step }) => out.write(`  ⇄ ${step.agentId} ${mergeStepText(step)} (${into})\n`));
  events.on('phase.finished', (e) => out.write(`■ phase ${e.phaseId} ${e.status}\n`));
}

/** A request waiting for a person, with the commands that answer it: the line a user can walk back to. */
export function approvalRequestText(request: ApprovalRecord): string {
  const who = request.agentId ?? `phase ${request.phaseId ?? '?'}`;
  const rule = request.rule ? ` (rule ${request.rule})` : '';
  return `  ⏸ ${who} waits for a person: ${request.summary}${rule} · baton approve ${request.id} | baton deny ${request.id}`;
}

function firstLine(text: string | null, width: number): string {
  const line = (text ?? '').split('\n').find((l) => l.trim().length > 0) ?? '';
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/** What a phase's agents added up to, when it is more than one agent's own result: a vote, a merge, a verdict, a plan. */
function phaseOutputLines(phase: PhaseSummary): string[] {
  const output = phase.output;
  if (!output || output.strategy === 'single' || output.strategy === 'concat') return [];
  if (output.strategy === 'plan')
    return output.text
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => `    ⇒ ${l}`);
  if (output.strategy === 'merge') {
    const conflicts = (output.details?.conflicts ?? []) as Array<{
      path: string;
      values: Array<{ agentId: string; value: unknown }>;
    }>;
    const listed = conflicts
      .map((c) => `${c.path}: ${c.values.map((v) => `${v.agentId}=${JSON.stringify(v.value)}`).join(' vs ')}`)
      .join('; ');
    return [
      `    ⇒ merge: ${conflicts.length === 0 ? 'no conflicts' : `${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'} (first value kept): ${listed}`}`,
    ];
  }
  return [`    ⇒ ${output.strategy}: ${firstLine(output.text, 100)}`];
}

const verifyText = (verify: VerifyResult): string => {
  const failure = verify.exitCode === 0 ? '' : `: ${firstLine(verifyFailureLine(verify.outputTail), 60)}`;
  return `verify ${verify.timedOut ? 'timed out' : `exit ${verify.exitCode}`}${failure}`;
};

/** Why a branch was skipped, its conflict and resolver, and what verify said. */
function mergeDetails(step: MergeStep): string {
  return [
    step.reason,
    step.conflictFiles && `conflict in ${step.conflictFiles.join(', ')}`,
    step.resolver && `resolver ${step.resolver.agentId} ${step.resolver.status}`,
    step.branchVerify && `branch ${verifyText(step.branchVerify)}`,
    step.verify && verifyText(step.verify),
  ]
    .filter(Boolean)
    .join(' · ');
}

const mergeStepText = (step: MergeStep): string => {
  const details = mergeDetails(step);
  return details ? `${step.outcome}: ${details}` : step.outcome;
};

/** A merged phase: its integration branch and head, then one line per agent branch. */
function mergeLines(merge: MergeReport | undefined): string[] {
  if (!merge) return [];
  const count = (outcome: string): number => merge.steps.filter((s) => s.outcome === outcome).length;
  const lines = [
    `    ⇄ merge ${merge.status}: ${merge.into} at ${merge.head.slice(0, 10)} (${count('merged')} merged, ${count('resolved')} resolved, ${count('skipped')} skipped)`,
  ];
  if (merge.error) lines.push(`      ! ${merge.error.code}: ${merge.error.message}`);
  for (const step of merge.steps)
    lines.push(`      ${step.outcome.padEnd(8)} ${step.agentId.padEnd(16)} ${mergeDetails(step)}`);
  if (merge.verified) {
    const rebuilt = merge.rebuilds ? ` (after leaving out ${merge.rebuilds} branch(es) by bisection)` : '';
    lines.push(`      verified ${merge.verified.head.slice(0, 10)} ${verifyText(merge.verified.verify)}${rebuilt}`);
  }
  if (merge.pr) lines.push(`      pr ${merge.pr.url ?? merge.pr.skipped ?? `gh exit ${merge.pr.exitCode}`}`);
  return lines;
}

/** A human-readable account of a run: every agent's status, cost and result, and each phase's combined output. */
export function formatSummary(summary: RunSummary): string {
  const waiting = summary.waiting
    ? `, waiting for ${summary.waiting} approval(s): baton approvals --run ${summary.runId}`
    : '';
  const interrupted =
    summary.status === 'interrupted'
      ? ` (its orchestrator stopped before the end; continue it with: baton run --resume ${summary.runId})`
      : '';
  const lines = [`Run ${summary.runId} (${summary.workflow}): ${summary.status}${interrupted}${waiting}`];
  if (summary.tenant !== 'default' || summary.priority !== 0)
    lines.push(`Tenant ${summary.tenant} · priority ${summary.priority}`);
  const cutOff = summary.phases.flatMap((p) =>
    p.agents.filter((a) => a.status === 'interrupted').map((a) => `${a.id} (phase ${p.id})`),
  );
  if (cutOff.length > 0) lines.push(`Cut off when its orchestrator stopped: ${cutOff.join(', ')}`);
  for (const phase of summary.phases) {
    lines.push(
      `  phase ${phase.id}: ${phase.status}${phase.generation !== undefined ? ` (generation ${phase.generation} of ${phase.parentId})` : ''}`,
    );
    // An error of the phase as a whole (an invalid plan, a missing foreach list) that no agent line shows.
    if (phase.error && !phase.agents.some((a) => a.error?.code === phase.error!.code))
      lines.push(`    ! ${phase.error.code}: ${phase.error.message}`);
    for (const agent of phase.agents) {
      const tokens = agent.usage.inputTokens + agent.usage.outputTokens;
      const detail = agent.error ? `${agent.error.code}: ${agent.error.message}` : firstLine(agent.result, 70);
      lines.push(
        `    ${agent.status.padEnd(9)} ${agent.id.padEnd(16)} ${seconds(agent.durationMs).padStart(6)} ${String(tokens).padStart(7)} tok ${cost(agent)} ×${agent.attempts}  ${detail}`,
      );
      if (agent.permissions)
        lines.push(
          `              tool calls: ${agent.permissions.asked} asked a person, ${agent.permissions.denied} denied`,
        );
      const ws = agent.workspace;
      if (ws) {
        const changed = ws.commit
          ? `commit ${ws.commit.slice(0, 10)}, ${ws.diffStat.files} file(s) +${ws.diffStat.insertions} -${ws.diffStat.deletions}`
          : 'no changes';
        lines.push(`              branch ${ws.branch} (${changed})`);
        if (ws.embeddedRepositories)
          lines.push(
            `              repositories it made, committed as its files: ${ws.embeddedRepositories.join(', ')}`,
          );
      }
    }
    lines.push(...phaseOutputLines(phase), ...mergeLines(phase.merge));
  }
  const t = summary.totals;
  const own = summary.batonCalls;
  if (own) {
    const purposes = Object.entries(own.byPurpose).map(([purpose, p]) => `${purpose} ${p.calls}× ${usd(p.costUsd)}`);
    lines.push(
      `Baton's own model calls: ${own.calls} (${purposes.join(', ')}) · ${own.inputTokens} in / ${own.outputTokens} out tokens · ${usd(own.costUsd)} (in the totals)`,
    );
  }
  lines.push(
    `Totals: ${t.succeeded}/${t.agents} agents succeeded, ${t.failed} failed · ${t.inputTokens} in / ${t.outputTokens} out tokens · ${cost(t)}${estimatedNote(t)} · ${seconds(t.durationMs)}`,
  );
  return lines.join('\n');
}
