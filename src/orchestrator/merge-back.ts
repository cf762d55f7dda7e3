import { resolve } from 'node:path';
import { mergePhase, openHeldPullRequest, phaseAfterMerge, type MergePhaseOptions } from '../merge/index.js';
import type { AgentEntry, PhaseSpec } from '../workflow/index.js';
import type { PhaseResult, RunContext } from './run-context.js';
import type { RunAgent } from './run-agent.js';

/** After a worktree phase with `merge:` ran its agents: their branches merged into its integration branch. */
export async function mergeBack(
  ctx: RunContext,
  phase: PhaseSpec,
  result: PhaseResult,
  runAgent: RunAgent,
): Promise<PhaseResult> {
  if (!phase.merge || ctx.stop.stopped) return result;
  return phaseAfterMerge(result, await mergePhase(mergeOptions(ctx, phase, runAgent)));
}

/**
 * The phase's `after` gate, with what it holds back: a merge's pull request is opened only once the
 * gate has passed the output (a refused gate leaves the integration branch unpublished).
 */
export async function afterGate(ctx: RunContext, phase: PhaseSpec, merged: PhaseResult): Promise<PhaseResult> {
  const gated = await ctx.gates.after(phase, merged);
  // `after` gives the result itself back when it passes (no gate, or approved); a refusal is a new one.
  if (gated === merged && phase.merge && !ctx.stop.stopped)
    await openHeldPullRequest({
      store: ctx.store,
      runId: ctx.runId,
      phase,
      repo: resolve(ctx.workflowDir, phase.repo ?? '.'),
      signal: ctx.stop.signal,
    });
  return gated;
}

/** What merging a phase's branches needs: its agents, and the run's agent path for a conflict resolver. */
function mergeOptions(ctx: RunContext, phase: PhaseSpec, runAgent: RunAgent): MergePhaseOptions {
  return {
    store: ctx.store,
    runId: ctx.runId,
    phase,
    repo: resolve(ctx.workflowDir, phase.repo ?? '.'),
    dataDir: ctx.config.data_dir,
    agents: ctx.records.all().filter((a) => a.phaseId === phase.id && a.role === 'worker'),
    resolve: ({ agentId, prompt, cwd, model, allowedTools }) => {
      const entry: AgentEntry = { id: agentId, prompt, cwd, allowedTools, mcpServers: [], ...(model ? { model } : {}) };
      // The resolver works in the conflicted integration worktree, not a worktree of its own.
      return runAgent({ id: agentId, entry, prompt }, { phase: { ...phase, workspace: 'shared' }, role: 'resolver' });
    },
    onStep: (step, into) => ctx.events.emit('merge.step', { runId: ctx.runId, phaseId: phase.id, into, step }),
    redo: ctx.redoMerge?.includes(phase.id) === true,
    signal: ctx.stop.signal,
    clock: ctx.clock,
  };
}
