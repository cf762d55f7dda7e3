import { describe, expect, it } from 'vitest';
import { emptyUsage } from '../store/index.js';
import { PassThrough } from 'node:stream';
import { RunEvents, type AgentSummary, type RunSummary } from '../orchestrator/index.js';
import { approvalRequestText, formatSummary, printProgress } from './progress.js';

const agent = (id: string, extra: Partial<AgentSummary> = {}): AgentSummary => ({
  id,
  sessionId: `s-${id}`,
  status: 'succeeded',
  result: `result of ${id}`,
  usage: emptyUsage(),
  costUsd: 0,
  attempts: 1,
  durationMs: 1000,
  ...extra,
});
const totals = {
  agents: 0,
  succeeded: 0,
  failed: 0,
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheCreationTokens: 0,
  costUsd: 0,
  durationMs: 0,
};

/** A partial run of these phases, for the formatter. */
const partialRun = (phases: RunSummary['phases']): RunSummary => ({
  runId: 'r1',
  workflow: 'w',
  tenant: 'default',
  priority: 0,
  status: 'partial',
  totals,
  phases,
});

describe('formatSummary', () => {
  it('shows what a phase adds up to, planning generations, worktree branches and phase errors', () => {
    const summary = partialRun([
      {
        id: 'vote',
        status: 'succeeded',
        output: { strategy: 'vote', text: 'decision = "ship" (2 of 3 votes)' },
        agents: [agent('v.0')],
      },
      {
        id: 'merge',
        status: 'succeeded',
        output: {
          strategy: 'merge',
          text: '{}',
          details: {
            conflicts: [
              {
                path: 'owner',
                values: [
                  { agentId: 'a', value: 'ann' },
                  { agentId: 'b', value: 'bob' },
                ],
              },
            ],
          },
        },
        agents: [agent('a'), agent('b')],
      },
      {
        id: 'plan',
        status: 'succeeded',
        output: { strategy: 'plan', text: 'Generation 1: t succeeded\nThe planner said done.' },
        agents: [agent('planner.g1', { role: 'planner' })],
      },
      {
        id: 'plan.g1.t',
        status: 'succeeded',
        generation: 1,
        parentId: 'plan',
        output: { strategy: 'single', text: 'one' },
        agents: [
          agent('plan.g1.t', {
            workspace: {
              branch: 'baton/r1/plan.g1.t',
              path: '/x',
              baseCommit: 'a',
              commit: '0123456789abcdef',
              diffStat: { files: 1, insertions: 2, deletions: 0 },
              embeddedRepositories: ['vendor/lib'],
            },
          }),
        ],
      },
      {
        id: 'bad',
        status: 'failed',
        error: { code: 'BATON_PLAN_INVALID', message: 'planner p.g1: task "a" depends on unknown task "x"' },
        agents: [agent('p.g1')],
      },
    ]);
    const text = formatSummary(summary);
    expect(text).toContain('  phase vote: succeeded\n    succeeded v.0');
    expect(text).toContain('    ⇒ vote: decision = "ship" (2 of 3 votes)');
    expect(text).toContain('    ⇒ merge: 1 conflict (first value kept): owner: a="ann" vs b="bob"');
    expect(text).toContain('    ⇒ Generation 1: t succeeded\n    ⇒ The planner said done.');
    expect(text).toContain('  phase plan.g1.t: succeeded (generation 1 of plan)');
    expect(text).toContain(
      '              branch baton/r1/plan.g1.t (commit 0123456789, 1 file(s) +2 -0)\n              repositories it made, committed as its files: vendor/lib',
    );
    expect(text).toContain(
      '  phase bad: failed\n    ! BATON_PLAN_INVALID: planner p.g1: task "a" depends on unknown task "x"',
    );
    expect(text).not.toContain('⇒ single');
  });
  it('says which head a batched verify passed on, and how many branches bisection left out', () => {
    const verify = { command: 'npm test', exitCode: 0, timedOut: false, outputTail: 'ok\n', durationMs: 5 };
    const failed = { ...verify, exitCode: 1, outputTail: 'not ok 3 - adds\n' };
    const summary = partialRun([
      {
        id: 'edit',
        status: 'succeeded',
        agents: [agent('a'), agent('b')],
        merge: {
          runId: 'r1',
          phaseId: 'edit',
          status: 'partial',
          into: 'baton/r1/edit',
          createdBranch: true,
          baseCommit: 'b'.repeat(40),
          head: 'c'.repeat(40),
          round: 1,
          steps: [
            { agentId: 'a', branch: 'baton/r1/a', outcome: 'merged', head: 'c'.repeat(40) },
            {
              agentId: 'b',
              branch: 'baton/r1/b',
              outcome: 'skipped',
              reason: 'verify-failed',
              verify: failed,
              head: 'c'.repeat(40),
            },
          ],
          verified: { head: 'c'.repeat(40), verify },
          rebuilds: 1,
          startedAt: 1,
        },
      },
    ]);
    const text = formatSummary(summary);
    expect(text).toContain('      skipped  b                verify-failed · verify exit 1: not ok 3 - adds');
    expect(text).toContain('      verified cccccccccc verify exit 0 (after leaving out 1 branch(es) by bisection)');
  });
  it("shows an agent's and the run's small non-zero cost as it is, not as $0.0000", () => {
    const summary = partialRun([
      { id: 'p', status: 'succeeded', agents: [agent('tiny', { costUsd: 0.000045 }), agent('none')] },
    ]);
    const text = formatSummary({ ...summary, totals: { ...totals, costUsd: 0.000045 } });
    expect(text).toMatch(/tiny .* \$0\.000045 ×1/);
    expect(text).toMatch(/none .* \$0\.0000 ×1/);
    expect(text).toContain('out tokens · $0.000045 · ');
  });
});

describe('printProgress', () => {
  it("warns with the budget's real share: 80 % when it reaches it, or over the budget when one spend jumps past it", () => {
    const events = new RunEvents();
    const out = new PassThrough();
    printProgress(events, out);
    const spent = { runId: 'r1', spentTokens: 0 };
    events.emit('budget.warning', { ...spent, spentUsd: 0.04, limit: 'usd', budgetUsd: 0.05 });
    events.emit('budget.warning', { ...spent, spentUsd: 0.052, limit: 'usd', budgetUsd: 0.05 });
    events.emit('budget.warning', { runId: 'r1', spentUsd: 0, spentTokens: 1500, limit: 'tokens', budgetTokens: 1000 });
    expect(String(out.read()).split('\n')).toEqual([
      '⚠ run has spent $0.0400 of its $0.0500 budget (80 %)',
      '⚠ run has spent $0.0520 of its $0.0500 budget (104 %: over the budget)',
      "⚠ run has used 1500 of the 1000 tokens left of its tenant's daily budget (150 %: over the budget)",
      '',
    ]);
  });
});

describe('approvalRequestText', () => {
  it('names who waits, for what, under which rule, and the commands that answer it', () => {
    const request = {
      id: 'da44f9d7aec1',
      kind: 'tool' as const,
      runId: 'r1',
      agentId: 'pusher',
      tool: 'Bash',
      summary: 'Bash(git push origin HEAD)',
      rule: 'Bash(git push:*)',
      requestedAt: 0,
      deadline: 1,
      onTimeout: 'deny' as const,
      status: 'pending' as const,
    };
    expect(approvalRequestText(request)).toBe(
      '  ⏸ pusher waits for a person: Bash(git push origin HEAD) (rule Bash(git push:*)) · baton approve da44f9d7aec1 | baton deny da44f9d7aec1',
    );
    const gate = { ...request, kind: 'phase.before' as const, agentId: undefined, phaseId: 'migrate', rule: undefined };
    expect(approvalRequestText({ ...gate, summary: 'start phase migrate' })).toContain(
      '⏸ phase migrate waits for a person: start phase migrate · baton approve',
    );
  });
});
