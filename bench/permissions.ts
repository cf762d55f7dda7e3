import { createRequire } from 'node:module';
import { decideToolCall, mergePermissions, type PermissionPolicy } from '../src/permissions/index.js';
import { percentile, round, type BenchResult } from './harness.js';

const decisions = Number(process.env.BENCH_PERMISSION_DECISIONS ?? 2000);

/** Lines agents typically run; a counter keeps each one new, so no judged line is reused. */
const lines = [
  'npm test -- --run',
  'git status && git diff --stat | head -20',
  'cd packages/api && npm run build 2>&1 | tail -5',
  'for f in $(git ls-files "*.ts"); do wc -l "$f"; done',
  'if [ -f package.json ]; then cat package.json; fi',
  "bash -c 'npm ci && npm test'",
];

const policy: PermissionPolicy = {
  ...mergePermissions([]),
  allow: ['Bash(npm test:*)', 'Bash(git status:*)', 'Bash(git diff:*)', 'Bash(head:*)', 'Bash(cat:*)'],
  ask: ['Bash(git push:*)'],
  deny: ['Bash(rm -rf:*)'],
};

const grammarLoaded = (): boolean =>
  Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('/mvdan-sh/'));

/**
 * Cost of judging shell lines with the bash grammar: whether it stays unloaded while no Bash rule
 * has a specifier (start-up), the first decision that loads it, and each decision after that.
 */
export async function permissionDecisions(): Promise<BenchResult> {
  const bash = (command: string) => ({ tool: 'Bash', input: { command }, cwd: '/repo' });
  decideToolCall({ ...policy, allow: ['Bash'], ask: [], deny: ['Read(./secrets/**)'] }, bash('rm -rf /tmp/x'));
  const loadedWithoutBashRules = grammarLoaded();
  const start = performance.now();
  decideToolCall(policy, bash(lines[0]!));
  const firstMs = performance.now() - start;
  const times: number[] = [];
  for (let i = 0; i < decisions; i++) {
    const begin = performance.now();
    decideToolCall(policy, bash(`${lines[i % lines.length]} # ${i}`));
    times.push(performance.now() - begin);
  }
  const p50 = percentile(times, 50);
  const p99 = percentile(times, 99);
  return {
    name: 'permission_decisions',
    goal: 'grammar not loaded at start-up; a Bash decision ≤ 2 ms at the median',
    rows: [
      { measure: 'grammar loaded with no Bash specifier rule', value: String(loadedWithoutBashRules) },
      { measure: 'first Bash decision (loads the grammar), ms', value: round(firstMs, 1) },
      { measure: `Bash decision p50 over ${decisions} lines, ms`, value: round(p50, 3) },
      { measure: 'Bash decision p99, ms', value: round(p99, 3) },
    ],
    metrics: { loadedWithoutBashRules: loadedWithoutBashRules ? 1 : 0, firstMs, p50, p99 },
  };
}
