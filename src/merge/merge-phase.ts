import { resolve } from 'node:path';
import { ErrorCodes, systemClock, toErrorInfo, type Clock, type ErrorInfo } from '../core/index.js';
import type {
  AgentRecord,
  AgentStatus,
  MergeReport,
  MergeStep,
  PhaseStatus,
  Store,
  VerifyResult,
} from '../store/index.js';
import { checkedOutAt, freeBranchHint, git, listWorktrees, repositoryRoot } from '../git/index.js';
import type { MergeSpec, PhaseSpec } from '../workflow/index.js';
import {
  branchExists,
  changedFiles,
  checkoutIntegration,
  commitMerge,
  detachedWorktree,
  integrationBranch,
  integrationPath,
  othersCommitsSince,
  removeWorktree,
  resetTo,
  stageResolution,
  startMerge,
} from './integration.js';
import { openPullRequest } from './pull-request.js';
import { resolverPrompt, type ConflictSide } from './resolver.js';
import { runVerify, verifyFailure, verifyFailureLine, verifyPassed } from './verify.js';

/** A resolver agent to run: Baton's own agent path runs it (a real claude, its cwd the conflicted worktree). */
export interface ResolveRequest {
  agentId: string;
  prompt: string;
  cwd: string;
  model?: string;
  allowedTools: string[];
}

export interface MergePhaseOptions {
  store: Store;
  runId: string;
  phase: PhaseSpec;
  /** The phase's repository (any directory inside it). */
  repo: string;
  dataDir: string;
  /** The phase's worker agents, in declaration order, as they finished. */
  agents: AgentRecord[];
  /** Runs a resolver agent to its end (onConflict: agent). */
  resolve: (request: ResolveRequest) => Promise<{ status: AgentStatus }>;
  /** Told of each step as it is recorded (the run's progress events). */
  onStep?: (step: MergeStep, into: string) => void;
  /** `baton merge`: start again from the base commit instead of reusing or continuing a stored merge. */
  redo?: boolean;
  signal: AbortSignal;
  clock?: Clock;
}

/** Tools a resolver gets unless `merge.resolver.allowedTools` says otherwise. */
const RESOLVER_TOOLS = ['Read', 'Edit', 'Write', 'Bash'];

class MergeStopped extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
  }
}

/** Everything one merge works with, so the steps below take one argument. */
interface MergeContext extends MergePhaseOptions {
  spec: MergeSpec;
  root: string;
  path: string;
  clock: Clock;
  report: MergeReport;
}

/**
 * Merges a worktree phase's agent branches into its integration branch, one at a time with real git,
 * verifying as configured, and records each step as it completes. Called once after the phase's
 * agents finish; a stored finished merge is returned as it is, an unfinished one continues.
 */
export async function mergePhase(options: MergePhaseOptions): Promise<MergeReport> {
  const spec = options.phase.merge;
  if (!spec) throw new Error(`phase ${options.phase.id} has no merge`);
  const clock = options.clock ?? systemClock;
  const stored = (await options.store.listMergeReports(options.runId)).find((r) => r.phaseId === options.phase.id);
  if (stored && stored.status !== 'running' && !options.redo) return stored;
  const root = await repositoryRoot(options.repo, { errorCode: ErrorCodes.mergeFailed });
  const path = integrationPath(resolve(options.dataDir), options.runId, options.phase.id);
  const report = stored && !options.redo ? stored : await startReport(options, spec, root, stored, clock);
  const context: MergeContext = { ...options, spec, root, path, clock, report };
  if (report.status === 'failed') return report;
  try {
    await refuseCheckedOut(context);
    await mergeAll(context);
    await removeWorktree(root, path);
    return await finishReport(context, spec.verifyBatch ? undefined : await brokenVerify(context));
  } catch (error) {
    if (options.signal.aborted) return report; // the run was cancelled: the merge continues on resume
    await removeWorktree(root, path).catch(() => undefined);
    return finishReport(context, error instanceof MergeStopped ? error.info : toMergeError(error));
  }
}

/**
 * `pr: true` on a phase with an `after` gate: the branch is pushed and the pull request opened once a
 * person has passed the phase's output (the merge itself held it back), for a merge that did not fail.
 */
export async function openHeldPullRequest(
  options: Pick<MergePhaseOptions, 'store' | 'runId' | 'phase' | 'repo' | 'signal'>,
): Promise<void> {
  const { store, runId, phase } = options;
  if (!phase.merge?.pr || !phase.approval?.after) return;
  const report = (await store.listMergeReports(runId)).find((r) => r.phaseId === phase.id);
  if (!report || report.status === 'failed' || report.pr) return;
  const root = await repositoryRoot(options.repo, { errorCode: ErrorCodes.mergeFailed });
  await store.saveMergeReport({ ...report, pr: await openPullRequest(root, report, options.signal) });
}

/**
 * Git checks a branch out in one place only: with the integration branch checked out in the user's
 * checkout (to look at an earlier round), Baton's merge worktree cannot have it, and git's own refusal
 * names no way out.
 */
async function refuseCheckedOut(context: MergeContext): Promise<void> {
  const error = await checkedOutElsewhere(context.root, context.path, context.report.into, context);
  if (error) throw new MergeStopped(error);
}

async function checkedOutElsewhere(
  root: string,
  path: string,
  into: string,
  { phase, runId }: Pick<MergePhaseOptions, 'phase' | 'runId'>,
): Promise<ErrorInfo | undefined> {
  const at = checkedOutAt(await listWorktrees(root, { errorCode: ErrorCodes.mergeFailed }), into, path);
  if (at === undefined) return undefined;
  return {
    code: ErrorCodes.mergeFailed,
    message: `merge.into of phase ${phase.id} is branch ${into}, which is checked out at ${at} (Baton merges in a worktree of its own), and ${freeBranchHint(at)}, then run baton merge ${runId} again`,
  };
}

/**
 * A redo starts over from the base commit, resetting the branch this run made: refused when someone
 * has committed on it since the last round (or deleted it and made their own of that name).
 */
async function movedByOthers(
  root: string,
  into: string,
  stored: MergeReport,
  { phase, runId }: Pick<MergePhaseOptions, 'phase' | 'runId'>,
): Promise<ErrorInfo | undefined> {
  if (!(await branchExists(root, into))) return undefined;
  const others = await othersCommitsSince(root, stored.head, into);
  if (others?.length === 0) return undefined;
  const which = others
    ? `commits Baton did not make (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''})`
    : 'commits git cannot compare with it';
  return {
    code: ErrorCodes.mergeBranchExists,
    message: `merge.into of phase ${phase.id} is branch ${into}, which has ${which} since run ${runId}'s merge left it at ${stored.head.slice(0, 10)}; Baton does not reset them away. Keep them on a branch of another name (git branch -m ${into} <name>) or delete the branch, then run baton merge ${runId} again.`,
  };
}

/**
 * Why a new round cannot start: `into` exists and this run did not create it, or (a redo) the branch
 * it did create is checked out elsewhere or holds others' commits.
 */
async function refusedRound(
  options: MergePhaseOptions,
  root: string,
  into: string,
  stored: MergeReport | undefined,
): Promise<ErrorInfo | undefined> {
  const { runId, phase } = options;
  // Owned only under the name it had: `baton merge` reads `into` from the workflow as it is now.
  const owned = stored?.createdBranch === true && stored.into === into;
  if (owned)
    return (
      (await checkedOutElsewhere(root, integrationPath(resolve(options.dataDir), runId, phase.id), into, options)) ??
      (await movedByOthers(root, into, stored, options))
    );
  if (!(await branchExists(root, into))) return undefined;
  return {
    code: ErrorCodes.mergeBranchExists,
    message: `merge.into of phase ${phase.id} is branch ${into}, which exists and was not created by run ${runId}; Baton does not overwrite it. Delete it or choose another into.`,
  };
}

/**
 * Merges every branch not yet recorded (steps recorded before the orchestrator stopped are kept). With
 * `verifyBatch`, then verifies the result; a branch that broke it is left out and the branches after it
 * are merged again, until `verify` passes on what is merged.
 */
async function mergeAll(context: MergeContext): Promise<void> {
  for (;;) {
    for (const agent of mergeOrder(context.agents, context.spec)) {
      if (context.report.steps.some((s) => s.agentId === agent.id)) continue;
      await record(context, await mergeAgent(context, agent));
    }
    if (!context.spec.verifyBatch || !(await verifyBatch(context))) return;
  }
}

const toMergeError = (error: unknown): ErrorInfo => {
  const info = toErrorInfo(error);
  return info.code === ErrorCodes.agentFailed ? { code: ErrorCodes.mergeFailed, message: info.message } : info;
};

/** A new report at the phase's base commit, or the stored one marked refused (see `refusedRound`). */
async function startReport(
  options: MergePhaseOptions,
  spec: MergeSpec,
  root: string,
  stored: MergeReport | undefined,
  clock: Clock,
): Promise<MergeReport> {
  const { runId, phase } = options;
  const into = await integrationBranch(root, spec.into, runId, phase.id);
  const baseCommit = options.agents.find((a) => a.workspace)?.workspace?.baseCommit ?? (await headOf(root));
  const report: MergeReport = {
    runId,
    phaseId: phase.id,
    status: 'running',
    into,
    createdBranch: true,
    baseCommit,
    head: baseCommit,
    round: (stored?.round ?? 0) + 1,
    steps: [],
    startedAt: clock.now(),
  };
  const error = await refusedRound(options, root, into, stored);
  if (error) {
    // A refused `baton merge` keeps the branch this run did make and its report as it was (the
    // round's number aside), so a redo once the cause is gone still owns it and starts from there.
    const kept = !stored?.createdBranch ? { ...report, createdBranch: false } : { ...stored, round: report.round };
    const refused: MergeReport = { ...kept, status: 'failed', error, finishedAt: clock.now() };
    await options.store.saveMergeReport(refused);
    return refused;
  }
  // Recorded before the branch exists: a run killed in between still owns it when it resumes.
  await options.store.saveMergeReport(report);
  if (stored) await removeWorktree(root, integrationPath(resolve(options.dataDir), runId, phase.id));
  return report;
}

const headOf = (path: string): Promise<string> => git(path, ['rev-parse', 'HEAD']);

const changedLines = (agent: AgentRecord): number =>
  (agent.workspace?.diffStat.insertions ?? 0) + (agent.workspace?.diffStat.deletions ?? 0);

/** `agents`: declaration order; `smallest-first`: fewest changed lines first, ties in declaration order. */
export function mergeOrder(agents: AgentRecord[], spec: MergeSpec): AgentRecord[] {
  if (spec.order === 'agents') return agents;
  return agents
    .map((agent, i) => ({ agent, i }))
    .sort((a, b) => changedLines(a.agent) - changedLines(b.agent) || a.i - b.i)
    .map((x) => x.agent);
}

async function record(context: MergeContext, step: MergeStep): Promise<void> {
  context.report.steps.push(step);
  context.report.head = step.head;
  await context.store.saveMergeReport(context.report);
  context.onStep?.(step, context.report.into);
}

async function finishReport(context: MergeContext, error?: ErrorInfo): Promise<MergeReport> {
  const { report, clock } = context;
  const mergeable = report.steps.filter((s) => s.reason !== 'agent-failed' && s.reason !== 'no-changes');
  report.status = error ? 'failed' : mergeable.some((s) => s.outcome === 'skipped') ? 'partial' : 'succeeded';
  if (error) report.error = error;
  // No branch reached a merge (each skipped): the integration branch is still made, at the base commit.
  if (!error && report.createdBranch && !(await branchExists(context.root, report.into)))
    await git(context.root, ['branch', report.into, report.head]);
  // A phase with an `after` gate publishes nothing before a person has passed its output.
  if (!error && context.spec.pr && !context.phase.approval?.after)
    report.pr = await openPullRequest(context.root, report, context.signal);
  report.finishedAt = clock.now();
  await context.store.saveMergeReport(report);
  return report;
}

const stepOf = (agent: AgentRecord, head: string, extra: Partial<MergeStep>): MergeStep => ({
  agentId: agent.id,
  branch: agent.workspace?.branch ?? '',
  ...(agent.workspace?.commit ? { commit: agent.workspace.commit } : {}),
  outcome: 'skipped',
  head,
  ...extra,
});

/** Stops the merge when the policy for this kind of failure is `fail`, recording the step first. */
async function failIf(context: MergeContext, policy: string, step: MergeStep, message: string): Promise<MergeStep> {
  if (policy !== 'fail') return step;
  await record(context, step);
  throw new MergeStopped({ code: ErrorCodes.mergeFailed, message });
}

/** One agent's branch: checked, merged, its conflicts resolved, verified — or skipped, and why. */
async function mergeAgent(context: MergeContext, agent: AgentRecord): Promise<MergeStep> {
  const { report, spec } = context;
  const commit = agent.workspace?.commit;
  if (agent.status !== 'succeeded') return stepOf(agent, report.head, { reason: 'agent-failed' });
  if (!commit) return stepOf(agent, report.head, { reason: 'no-changes' });
  const branchVerify = spec.verifyEach ? await verifyBranch(context, commit) : undefined;
  if (!verifyPassed(branchVerify)) {
    const step = stepOf(agent, report.head, {
      reason: 'branch-verify-failed',
      ...(branchVerify ? { branchVerify } : {}),
    });
    return failIf(
      context,
      spec.onVerifyFailure,
      step,
      `verify failed on branch ${agent.workspace!.branch} (${verifyFailure(branchVerify!, spec.verify!)})`,
    );
  }
  const merged = await mergeCommit(context, agent, commit);
  if ('agentId' in merged) return { ...merged, ...(branchVerify ? { branchVerify } : {}) };
  const verify =
    spec.verify && !spec.verifyBatch
      ? await runVerify(spec.verify, context.path, context.signal, context.clock)
      : undefined;
  const extra = { ...(branchVerify ? { branchVerify } : {}), ...(verify ? { verify } : {}), ...merged.details };
  if (!verifyPassed(verify)) {
    await resetTo(context.path, report.head);
    const step = stepOf(agent, report.head, { reason: 'verify-failed', ...extra });
    return failIf(
      context,
      spec.onVerifyFailure,
      step,
      `verify failed after merging ${agent.workspace!.branch} (${verifyFailure(verify!, spec.verify!)})`,
    );
  }
  return stepOf(agent, merged.head, { outcome: merged.details.resolver ? 'resolved' : 'merged', ...extra });
}

async function verifyBranch(context: MergeContext, commit: string): Promise<VerifyResult> {
  const remove = await detachedWorktree(context.root, `${context.path}.verify`, commit);
  try {
    return await runVerify(context.spec.verify!, `${context.path}.verify`, context.signal, context.clock);
  } finally {
    await remove();
  }
}

/**
 * `verifyBatch`: verifies what is merged since the last head that passed. Passing, that head is
 * recorded. Failing, the branch that broke it is found by bisection over the merge heads since (each
 * checked in a throwaway worktree): the first head that fails after one that passed. That branch is
 * recorded as skipped (`verify-failed`) and the integration branch goes back to before it; the steps
 * after it are dropped, to be merged again. Returns whether a branch was left out.
 */
async function verifyBatch(context: MergeContext): Promise<boolean> {
  const { report, spec, root, path } = context;
  const from = report.verified?.head ?? report.baseCommit;
  if (report.head === from) return false;
  await checkoutIntegration(root, path, report.into, report.head);
  const atHead = await runVerify(spec.verify!, path, context.signal, context.clock);
  if (verifyPassed(atHead)) {
    report.verified = { head: report.head, verify: atHead };
    await context.store.saveMergeReport(report);
    return false;
  }
  const { culprit, verify } = await bisect(context, mergedSince(report, from), atHead);
  const at = report.steps.indexOf(culprit);
  const before = at === 0 ? report.baseCommit : report.steps[at - 1]!.head;
  const step: MergeStep = { ...culprit, outcome: 'skipped', reason: 'verify-failed', verify, head: before };
  report.steps.splice(at);
  report.head = before;
  report.rebuilds = (report.rebuilds ?? 0) + 1;
  await resetTo(path, before);
  await failIf(
    context,
    spec.onVerifyFailure,
    step,
    `verify failed after merging ${step.branch}, found by bisection (${verifyFailure(verify, spec.verify!)})`,
  );
  await record(context, step);
  return true;
}

/** The steps that merged a branch after the integration head `from` (the base commit: all of them). */
function mergedSince(report: MergeReport, from: string): MergeStep[] {
  const start = from === report.baseCommit ? 0 : report.steps.findIndex((s) => s.head === from) + 1;
  return report.steps.slice(start).filter((s) => s.outcome !== 'skipped');
}

/**
 * The first of `merged` whose head fails `verify` right after one that passes (the head before the
 * first of them passed, or is the base commit, checked here when it comes to that). `last` is what
 * verify said on the last one's head. About log2(n) verify runs.
 */
async function bisect(
  context: MergeContext,
  merged: MergeStep[],
  last: VerifyResult,
): Promise<{ culprit: MergeStep; verify: VerifyResult }> {
  let [passing, failing, verify] = [-1, merged.length - 1, last];
  while (failing - passing > 1) {
    const middle = Math.floor((passing + failing) / 2);
    const result = await verifyBranch(context, merged[middle]!.head);
    if (verifyPassed(result)) {
      passing = middle;
      context.report.verified = { head: merged[middle]!.head, verify: result };
    } else [failing, verify] = [middle, result];
  }
  if (passing === -1 && !context.report.verified) await baseMustPass(context);
  return { culprit: merged[failing]!, verify };
}

/** Verify failing on the base commit too fails the merge: the command or the base is broken, not a branch. */
async function baseMustPass(context: MergeContext): Promise<void> {
  const error = await brokenOnBase(context);
  if (error) throw new MergeStopped(error);
}

/**
 * When verify kept every branch out, whether it fails on the base commit too: then the command (a typo,
 * a missing script) or the base is broken, not the agents' work, and the merge fails saying so instead
 * of ending partial with nothing merged. Costs one more verify run, and only then.
 */
async function brokenVerify(context: MergeContext): Promise<ErrorInfo | undefined> {
  const { report, spec } = context;
  const verifyFailed = report.steps.filter((s) => s.reason === 'verify-failed' || s.reason === 'branch-verify-failed');
  if (!spec.verify || verifyFailed.length === 0 || report.steps.some((s) => s.outcome !== 'skipped')) return undefined;
  return brokenOnBase(context);
}

/** The error to fail with when `verify` fails on the base commit itself. */
async function brokenOnBase(context: MergeContext): Promise<ErrorInfo | undefined> {
  const { report, spec } = context;
  if (!spec.verify) return undefined;
  const onBase = await verifyBranch(context, report.baseCommit);
  if (verifyPassed(onBase)) return undefined;
  return {
    code: ErrorCodes.mergeFailed,
    message: `verify (${spec.verify.command}) fails on the base commit ${report.baseCommit.slice(0, 10)} itself (${verifyFailure(onBase, spec.verify)}: ${verifyFailureLine(onBase.outputTail).slice(0, 200)}), so no branch could pass it; fix merge.verify or the base, then run baton merge ${context.runId}`,
  };
}

type Merged = { head: string; details: Partial<MergeStep> } | MergeStep;

/** Merges `commit` into the integration worktree and commits it; a conflict goes by `onConflict`. */
async function mergeCommit(context: MergeContext, agent: AgentRecord, commit: string): Promise<Merged> {
  const { report, root, path, spec, runId } = context;
  const message = `baton: merge agent ${agent.id} of run ${runId}\n\nBranch ${agent.workspace!.branch} (${commit}).`;
  const state = await checkoutIntegration(root, path, report.into, report.head, commit);
  if (state === 'committed')
    return { head: await headOf(path), details: await committedDetails(context, agent, commit) };
  const conflictFiles = state === 'merging' ? await conflictedFiles(context, commit) : await startMerge(path, commit);
  if (conflictFiles.length === 0) return { head: await commitMerge(path, commit, message), details: {} };
  const conflicted = { reason: 'conflict', conflictFiles };
  if (spec.onConflict !== 'agent') {
    await resetTo(path, report.head);
    return failIf(
      context,
      spec.onConflict,
      stepOf(agent, report.head, conflicted),
      `merging ${agent.workspace!.branch} conflicts in ${conflictFiles.join(', ')}`,
    );
  }
  const resolver = await runResolver(context, agent, conflictFiles);
  // Stopped (a cancel, --detach-on-wait while it waited for a person): not an outcome; the merge
  // stays open with the resolver's edits, and a resumed run resolves this branch again.
  context.signal.throwIfAborted();
  const details = { conflictFiles, resolver };
  if (resolver.status !== 'succeeded' || !(await stageResolution(path, report.head, commit))) {
    await resetTo(path, report.head);
    return stepOf(agent, report.head, { reason: 'unresolved', ...details });
  }
  return {
    head: await commitMerge(path, commit, `${message}\nConflicts in ${conflictFiles.join(', ')} ${RESOLVED_NOTE}`),
    details,
  };
}

/**
 * The conflicted files of a merge a killed orchestrator left half-done (`ours` HEAD) or committed
 * (`ours` its first parent): the files both sides changed (a resolver may already have staged some,
 * so git's unmerged list is not enough).
 */
async function conflictedFiles(context: MergeContext, commit: string, ours = 'HEAD'): Promise<string[]> {
  const base = await git(context.path, ['merge-base', ours, commit]);
  const changed = await changedFiles(context.path, base, ours);
  return (await changedFiles(context.path, base, commit)).filter((file) => changed.includes(file));
}

/**
 * What a merge committed but not recorded before the orchestrator died was: one a resolver resolved
 * says so in its message, and is recorded as resolved again, with its files and resolver.
 */
async function committedDetails(
  context: MergeContext,
  agent: AgentRecord,
  commit: string,
): Promise<Partial<MergeStep>> {
  if (!(await git(context.path, ['log', '-1', '--format=%B'])).includes(RESOLVED_NOTE)) return {};
  const conflictFiles = await conflictedFiles(context, commit, 'HEAD^1');
  return { conflictFiles, resolver: { agentId: resolverId(context, agent), status: 'succeeded' } };
}

const RESOLVED_NOTE = 'resolved by a resolver agent.';

/** A resolver's id: a merge redone (`round`) or rebuilt after bisection (`rebuilds`) gets a new one. */
function resolverId(context: MergeContext, agent: AgentRecord): string {
  const { report, phase } = context;
  return `${phase.id}.resolve.${agent.id}${report.round > 1 ? `.${report.round}` : ''}${report.rebuilds ? `.r${report.rebuilds}` : ''}`;
}

async function runResolver(
  context: MergeContext,
  agent: AgentRecord,
  files: string[],
): Promise<{ agentId: string; status: AgentStatus }> {
  const { report, spec, agents } = context;
  const side = (a: AgentRecord): ConflictSide => ({ agent: a, branch: a.workspace?.branch ?? '' });
  const merged: ConflictSide[] = [];
  for (const step of report.steps.filter((s) => s.outcome !== 'skipped')) {
    const other = agents.find((a) => a.id === step.agentId);
    if (!other?.workspace?.commit) continue;
    const touched = await changedFiles(context.root, report.baseCommit, other.workspace.commit);
    if (touched.some((f) => files.includes(f))) merged.push(side(other));
  }
  const agentId = resolverId(context, agent);
  const { status } = await context.resolve({
    agentId,
    prompt: resolverPrompt({ into: report.into, files, incoming: side(agent), merged, spec }),
    cwd: context.path,
    ...(spec.resolver?.model ? { model: spec.resolver.model } : {}),
    allowedTools: spec.resolver?.allowedTools ?? RESOLVER_TOOLS,
  });
  return { agentId, status };
}

/**
 * The phase's result after its merge: a merge that failed fails the phase, with the merge's error; one
 * a cancel interrupted leaves the phase cancelled (a resumed run continues the merge).
 */
export function phaseAfterMerge<R extends { status: PhaseStatus; error?: ErrorInfo }>(
  result: R,
  report: MergeReport,
): R {
  if (report.status === 'running') return { ...result, status: 'cancelled' };
  return report.status === 'failed' && report.error ? { ...result, status: 'failed', error: report.error } : result;
}
