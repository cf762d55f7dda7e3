import { BatonError, ErrorCodes } from '../core/index.js';
import { z } from 'zod';
import { runCommand, type Output, type RunCommandOptions } from './commands.js';
import { withExistingStore } from '../api/index.js';
import { ownRunId } from './run-id.js';

/** The merged phases of a stored run that `baton merge` redoes: all of them, or the one asked for. */
async function phasesToMerge(runId: string, phase: string | undefined, options: RunCommandOptions): Promise<string[]> {
  return withExistingStore(options, async (store) => {
    const run = await store.getRun(runId);
    if (!run) throw new BatonError(ErrorCodes.runNotFound, `No run with id ${runId}. List runs with: baton runs`);
    const workflow = storedPhases.parse(run.workflow);
    const merged = workflow.phases.filter((p) => p.merge).map((p) => p.id);
    if (merged.length === 0)
      throw new BatonError(ErrorCodes.usage, `Run ${runId} has no phase with merge:; there is nothing to merge.`);
    if (phase !== undefined && !merged.includes(phase))
      throw new BatonError(
        ErrorCodes.usage,
        `--phase ${phase} is not a merged phase of run ${runId}; merged phases: ${merged.join(', ')}`,
      );
    return phase === undefined ? merged : [phase];
  });
}

/** What `baton merge` reads of a run's stored workflow (validated in full when the run started). */
const storedPhases = z.object({ phases: z.array(z.object({ id: z.string(), merge: z.unknown().optional() })) });

/**
 * `baton merge <runId> [--phase <id>]`: merges a finished run's worktree branches again from each
 * phase's base commit (after fixing `verify`, say). It continues the run like `--resume`, so agents
 * that finished are kept, never rerun; a resolver agent runs again under a new id.
 */
export async function mergeCommand(
  runId: string,
  options: RunCommandOptions & { phase?: string },
  output: Output,
): Promise<number> {
  const { phase, ...rest } = options;
  const id = await withExistingStore(rest, (store) => ownRunId(store, runId, rest.tenant));
  const redoMerge = await phasesToMerge(id, phase, rest);
  return runCommand(undefined, { ...rest, resume: id, redoMerge }, output);
}
