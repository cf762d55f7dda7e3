import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { workflowInvalid, type PhaseSpec } from '../workflow/index.js';

/**
 * Before any agent starts: every `cwd` an agent of a shared-workspace phase names (or the workflow's
 * directory, where it names none: a resumed run's may have been moved) must be a directory,
 * or its claude would fail to start, three times, with an error that blames the binary (refused here
 * naming the field, exit 2). A worktree phase's agents work in their worktree, whatever `cwd` says.
 */
export function checkAgentDirectories(phases: readonly PhaseSpec[], workflowDir: string): void {
  const problems = phases.flatMap((phase, i) =>
    phase.workspace === 'worktree'
      ? []
      : phase.agents.flatMap((agent, j) => {
          const dir = resolve(workflowDir, agent.cwd ?? '.');
          if (statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return [];
          return agent.cwd === undefined
            ? [
                `phases[${i}].agents[${j}]: works in the workflow's directory ${dir}, which is gone; put it back, or set cwd`,
              ]
            : [`phases[${i}].agents[${j}].cwd: ${dir} is not a directory; create it, or point cwd at one`];
        }),
  );
  if (problems.length > 0) throw workflowInvalid(problems);
}
