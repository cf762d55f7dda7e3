import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BatonError, ErrorCodes } from '../core/index.js';
import {
  BATON_COMMITTER,
  BATON_EMAIL,
  git,
  listWorktrees,
  removeStaleLocks,
  tryGit,
  worktreeBranch,
  type GitOptions,
} from '../git/index.js';
import { workflowInvalid, type PhaseSpec } from '../workflow/index.js';

const mergeErrors: GitOptions = { errorCode: ErrorCodes.mergeFailed };

/** The integration branch's worktree: under data_dir, never the user's checkout. */
export const integrationPath = (dataDir: string, runId: string, phaseId: string): string =>
  resolve(dataDir, 'merges', runId, phaseId);

/** The branch name from `into`: `{{run8}}`, `{{runId}}` and `{{phase}}` filled in, checked by git. */
export async function integrationBranch(repo: string, into: string, runId: string, phaseId: string): Promise<string> {
  const name = into
    .replaceAll('{{run8}}', runId.slice(0, 8))
    .replaceAll('{{runId}}', runId)
    .replaceAll('{{phase}}', phaseId);
  const checked = await tryGit(repo, ['check-ref-format', '--branch', name]);
  if (checked.code !== 0)
    throw new BatonError(
      ErrorCodes.workflowInvalid,
      `merge.into of phase ${phaseId} gives "${name}", which git does not accept as a branch name; choose another into`,
    );
  return name;
}

/**
 * Checks each merge phase's `into` before anything runs, with a run id of the right shape: git must
 * accept what it gives as a branch name, and it must not be, or be a folder of or inside, the branch
 * of a worktree agent (`baton/<run8>/<agent id>`) or another phase's `into`: git cannot hold both `a`
 * and `a/b`, and a branch cannot be two things, so the agents would run only for their merge to fail.
 */
export async function checkIntegrationBranches(
  phases: readonly PhaseSpec[],
  cwd: string,
  options: { newRun?: boolean } = {},
): Promise<void> {
  const sampleRunId = '00000000-0000-4000-8000-000000000000';
  if (options.newRun) await refuseTakenBranches(phases, cwd, sampleRunId);
  const taken = phases
    .filter((phase) => phase.workspace === 'worktree')
    .flatMap((phase) => phase.agents.map((a) => ({ branch: worktreeBranch(sampleRunId, a.id), of: `agent ${a.id}` })));
  for (const phase of phases) {
    if (!phase.merge) continue;
    const into = await integrationBranch(cwd, phase.merge.into, sampleRunId, phase.id);
    const clash = taken.find(
      ({ branch }) => branch === into || branch.startsWith(`${into}/`) || into.startsWith(`${branch}/`),
    );
    if (clash) {
      const shown = (name: string): string => name.replaceAll(sampleRunId.slice(0, 8), '<run8>');
      throw new BatonError(
        ErrorCodes.workflowInvalid,
        `merge.into of phase ${phase.id} gives "${shown(into)}", which clashes with the branch "${shown(clash.branch)}" of ${clash.of}; git cannot have both. Rename the phase or the agent, or set another into, such as into: "baton/{{run8}}/{{phase}}-merged"`,
      );
    }
    taken.push({ branch: into, of: `phase ${phase.id} (its merge.into)` });
  }
}

/**
 * A new run's fixed `into` (one without `{{run8}}`/`{{runId}}`) that names a branch the repository
 * has, or sits inside or holds one (`release/edit` beside `release`), would fail only at the merge,
 * after the agents ran and spent: refused before any starts.
 */
async function refuseTakenBranches(phases: readonly PhaseSpec[], cwd: string, sampleRunId: string): Promise<void> {
  const problems: string[] = [];
  for (const [i, phase] of phases.entries()) {
    if (!phase.merge || /\{\{run(8|Id)\}\}/.test(phase.merge.into)) continue;
    const repo = resolve(cwd, phase.repo ?? '.');
    const into = await integrationBranch(repo, phase.merge.into, sampleRunId, phase.id);
    const listed = await tryGit(repo, ['for-each-ref', '--format=%(refname:short)', 'refs/heads/']);
    const taken = listed.stdout
      .split('\n')
      .find((branch) => branch === into || branch.startsWith(`${into}/`) || into.startsWith(`${branch}/`));
    if (taken !== undefined)
      problems.push(
        `phases[${i}].merge.into: gives "${into}", but the repository has a branch "${taken}" (git cannot have ${taken === into ? 'two of one name' : 'both'}, and Baton does not overwrite a branch it did not create); choose another into, such as "baton/{{run8}}/{{phase}}", or delete that branch`,
      );
  }
  if (problems.length > 0) throw workflowInvalid(problems);
}

export async function branchExists(repo: string, branch: string): Promise<boolean> {
  return (await tryGit(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`])).code === 0;
}

/**
 * The commits on `branch` since `since` that Baton did not make (abbreviated), or undefined when git
 * cannot tell (`since` is gone): a person's work that resetting the branch to `since` would drop.
 */
export async function othersCommitsSince(repo: string, since: string, branch: string): Promise<string[] | undefined> {
  const log = await tryGit(repo, ['log', '--format=%h %ce', `${since}..refs/heads/${branch}`]);
  if (log.code !== 0) return undefined;
  return log.stdout
    .split('\n')
    .filter((line) => line !== '' && !line.endsWith(` ${BATON_EMAIL}`))
    .map((line) => line.split(' ')[0]!);
}

async function worktreeRegistered(repo: string, path: string): Promise<boolean> {
  return (await listWorktrees(repo, mergeErrors)).some((worktree) => worktree.path === path);
}

/**
 * Checks out the integration branch in its worktree (creating the branch at `base` the first time)
 * and puts the worktree at `head`, the last recorded step. A merge left mid-way by a killed
 * orchestrator is kept when it is the merge of `next` (a resolver's edits survive); anything else
 * is thrown away, so a resumed merge redoes exactly the unrecorded step.
 */
export async function checkoutIntegration(
  repo: string,
  path: string,
  branch: string,
  head: string,
  next?: string,
): Promise<'clean' | 'merging' | 'committed'> {
  if (!(await worktreeRegistered(repo, path)) || !existsSync(path)) {
    await clearWorktree(repo, path);
    const checkout = (await branchExists(repo, branch)) ? [path, branch] : ['-b', branch, path, head];
    await git(repo, ['worktree', 'add', '-q', ...checkout], mergeErrors);
  } else await removeStaleLocks(path, branch, mergeErrors);
  if (next) {
    const current = await git(path, ['rev-parse', 'HEAD'], mergeErrors);
    const parents = (await git(path, ['rev-list', '--parents', '-n', '1', 'HEAD'], mergeErrors)).split(' ').slice(1);
    if (current !== head && parents[0] === head && parents[1] === next) return 'committed';
    const merging = await tryGit(path, ['rev-parse', '--verify', '--quiet', 'MERGE_HEAD']);
    if (current === head && merging.code === 0 && merging.stdout === next) return 'merging';
  }
  await resetTo(path, head);
  return 'clean';
}

/** Throws away whatever is in the worktree and puts it (and its branch) at `commit`. */
export async function resetTo(path: string, commit: string): Promise<void> {
  if ((await tryGit(path, ['rev-parse', '--verify', '--quiet', 'MERGE_HEAD'])).code === 0)
    await git(path, ['merge', '--abort'], mergeErrors);
  await git(path, ['reset', '-q', '--hard', commit], mergeErrors);
  await git(path, ['clean', '-q', '-fd'], mergeErrors);
}

/** Starts merging `commit` without committing; returns the files git could not merge (empty: clean). */
export async function startMerge(path: string, commit: string): Promise<string[]> {
  const merged = await tryGit(path, [...BATON_COMMITTER, 'merge', '--no-ff', '--no-commit', '--no-verify', commit]);
  const conflicts = await unmergedFiles(path);
  if (merged.code !== 0 && conflicts.length === 0)
    throw new BatonError(
      ErrorCodes.mergeFailed,
      `git merge ${commit} failed in ${path}: ${merged.stderr || merged.stdout}`,
    );
  return conflicts;
}

/** Paths as git lists them with `-z`: unquoted, so a name with spaces or non-ASCII letters is spelled as it is. */
const pathList = (listing: string): string[] => listing.split('\0').filter((path) => path !== '');

export async function unmergedFiles(path: string): Promise<string[]> {
  return pathList(await git(path, ['diff', '-z', '--name-only', '--diff-filter=U'], mergeErrors));
}

/**
 * Stages a resolver's work and tells whether it is the merge of `commit` onto `head` with the conflict
 * gone: nothing left unmerged, no conflict marker in what changed since `head` (git's own `diff
 * --check` finds them), and `commit` still merged. Told not to, a resolver may still have committed
 * the merge (taken back into the index, so Baton's merge commit is made as for any branch) or aborted
 * it (nothing was resolved).
 */
export async function stageResolution(path: string, head: string, commit: string): Promise<boolean> {
  if (await leftAsGitLeftIt(path)) return false;
  // Tracked files only (the conflicted ones among them): what the resolver's checks wrote (build.log,
  // coverage/) stays out of the merge; a new file it means to keep, it stages itself.
  await git(path, ['add', '-u'], mergeErrors);
  if ((await unmergedFiles(path)).length > 0) return false;
  const merging = await tryGit(path, ['rev-parse', '--verify', '--quiet', 'MERGE_HEAD']);
  if (merging.code !== 0 || merging.stdout !== commit) {
    const contains = async (ancestor: string): Promise<boolean> =>
      (await tryGit(path, ['merge-base', '--is-ancestor', ancestor, 'HEAD'])).code === 0;
    if ((await git(path, ['rev-parse', 'HEAD'], mergeErrors)) === head) return false;
    if (!(await contains(head)) || !(await contains(commit))) return false;
    await git(path, ['reset', '-q', '--soft', head], mergeErrors);
    await writeFile(
      await git(path, ['rev-parse', '--path-format=absolute', '--git-path', 'MERGE_HEAD'], mergeErrors),
      `${commit}\n`,
    );
  }
  const check = await tryGit(path, ['diff', '--cached', '--check', head]);
  return !check.stdout.includes('conflict marker') && !(await markersInUndiffedFiles(path, head));
}

/**
 * `git diff --check` skips files whose `diff` attribute is unset (`package-lock.json -diff`, `binary`),
 * though a merge writes its conflict markers into them all the same: those staged since `head` are
 * read for a `<<<<<<< ` line followed by a `>>>>>>> ` line (no git command checks them).
 */
async function markersInUndiffedFiles(path: string, head: string): Promise<boolean> {
  const changed = pathList(
    await git(path, ['diff', '--cached', '-z', '--name-only', '--diff-filter=AM', head], mergeErrors),
  );
  if (changed.length === 0) return false;
  const attributes = pathList(await git(path, ['check-attr', '-z', 'diff', '--', ...changed], mergeErrors));
  for (let i = 0; i + 2 < attributes.length; i += 3) {
    if (attributes[i + 2] !== 'unset') continue;
    // Staged just now from the worktree, so the file there is what is staged; latin1 reads any bytes.
    const staged = await readFile(join(path, attributes[i]!), 'latin1');
    if (/^<{7} [^]*^>{7} /m.test(staged)) return true;
  }
  return false;
}

/**
 * Whether a conflict without markers (a binary file, a file deleted on one side) is still unmerged and
 * holds what git left there (our side, else theirs): the resolver decided nothing about it, and staging
 * it as it is would silently drop the incoming side. A decision is an edit, a deletion, or `git add`/`git rm`.
 */
async function leftAsGitLeftIt(path: string): Promise<boolean> {
  const left = new Map<string, string>();
  for (const entry of pathList(await git(path, ['ls-files', '-u', '-z'], mergeErrors))) {
    const [info = '', file = ''] = entry.split('\t');
    const [, blob = '', stage] = info.split(' ');
    if (stage === '2' || (stage === '3' && !left.has(file))) left.set(file, blob);
  }
  for (const [file, blob] of left) {
    if (!existsSync(join(path, file))) continue;
    if ((await git(path, ['hash-object', '--', file], mergeErrors)) === blob) return true;
  }
  return false;
}

/**
 * Commits the merge of `commit`, dated like `commit` itself: the same merges of the same branches give
 * the same commit ids, so a resumed or redone merge ends at the same integration head.
 */
export async function commitMerge(path: string, commit: string, message: string): Promise<string> {
  const date = `@${await git(path, ['show', '-s', '--format=%ct', commit], mergeErrors)} +0000`;
  await git(path, [...BATON_COMMITTER, 'commit', '-q', '--no-verify', '--allow-empty', '-m', message], {
    ...mergeErrors,
    env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
  });
  return git(path, ['rev-parse', 'HEAD'], mergeErrors);
}

/** Files an agent's branch changed since `base`. */
export async function changedFiles(repo: string, base: string, commit: string): Promise<string[]> {
  return pathList(await git(repo, ['diff', '-z', '--name-only', base, commit], mergeErrors));
}

/**
 * Clears the way for Baton's worktree at `path`: its registration (even with its directory gone) and
 * whatever a worktree add killed half-way (with the orchestrator) left there. Never `git worktree
 * prune`: that forgets every worktree whose directory is missing, the user's own (on an unmounted
 * drive, say) too.
 */
async function clearWorktree(repo: string, path: string): Promise<void> {
  await removeWorktree(repo, path);
  await rm(path, { recursive: true, force: true });
  await mkdir(dirname(path), { recursive: true });
}

/** A throwaway worktree at `commit` for `verifyEach` and bisection; removed by the returned function. */
export async function detachedWorktree(repo: string, path: string, commit: string): Promise<() => Promise<void>> {
  await clearWorktree(repo, path);
  await git(repo, ['worktree', 'add', '--force', '--detach', path, commit], mergeErrors);
  return async () => {
    await git(repo, ['worktree', 'remove', '--force', path], mergeErrors);
  };
}

export async function removeWorktree(repo: string, path: string): Promise<void> {
  if (await worktreeRegistered(repo, path)) await git(repo, ['worktree', 'remove', '--force', path], mergeErrors);
  // The run's folder under merges/ goes with its last integration worktree (rmdir fails while one is left).
  await rmdir(dirname(path)).catch(() => undefined);
}
