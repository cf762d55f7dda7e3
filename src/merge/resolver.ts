import type { AgentRecord } from '../store/index.js';
import type { MergeSpec } from '../workflow/index.js';

/** One side of a conflict, as the resolver is told it: what the agent was asked and what it answered. */
export interface ConflictSide {
  agent: AgentRecord;
  branch: string;
}

const sideText = (tag: string, side: ConflictSide): string =>
  [
    `<${tag} agent="${side.agent.id}" branch="${side.branch}">`,
    `Task: ${side.agent.prompt}`,
    `Result: ${side.agent.output?.text ?? '(no result text)'}`,
    `</${tag}>`,
  ].join('\n');

/**
 * The resolver's task: the conflicting files, both sides' intent (each agent's prompt and result),
 * and what must hold afterwards. Baton commits and verifies; the resolver only edits.
 */
export function resolverPrompt(options: {
  into: string;
  files: string[];
  incoming: ConflictSide;
  merged: ConflictSide[];
  spec: MergeSpec;
}): string {
  const { into, files, incoming, merged, spec } = options;
  return [
    `Merging branch ${incoming.branch} into ${into} stopped on conflicts in: ${files.join(', ')}.`,
    'Your working directory is the integration worktree in the middle of that merge: the files contain git conflict markers.',
    "Resolve every conflict so that both sides' intent holds, remove all conflict markers, and save the files. Do not commit, do not run git merge --abort: Baton commits your resolution — the tracked files as you leave them; a new file you mean to keep, `git add` it.",
    'A conflict without markers (a binary file, or a file one side deleted) needs a decision too: write the file as it should be, or settle it with `git add <file>` (keep it as it is) or `git rm <file>` (delete it); `git status` lists them.',
    spec.verify ? `Afterwards \`${spec.verify.command}\` must pass in this directory.` : '',
    '',
    'The change being merged:',
    sideText('incoming', incoming),
    '',
    merged.length > 0 ? 'Already merged, changing the same files:' : '',
    ...merged.map((side) => sideText('merged', side)),
  ]
    .filter((line, i, lines) => line !== '' || (i > 0 && lines[i - 1] !== ''))
    .join('\n')
    .trim();
}
