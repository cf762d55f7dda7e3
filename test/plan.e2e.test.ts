import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RunSummary } from '../src/orchestrator/index.js';
import type { WorkflowPlan } from '../src/preview/index.js';
import { isolatedHome } from './support/agent-env.js';
import { runCli } from './support/cli.js';
import { committedCopy } from './support/git-repo.js';
import { requireProgram } from './support/programs.js';

const examples = fileURLToPath(new URL('../examples/', import.meta.url));
const workflows = [
  join(examples, 'demo', 'workflow.yaml'),
  join(examples, 'starter', 'workflow.yaml'),
  ...readdirSync(join(examples, 'orchestration'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(examples, 'orchestration', entry.name, 'workflow.yaml')),
];

const home = isolatedHome('baton-plan-');
afterAll(() => home.remove());
const env = (dataDir: string) => home.cliEnv('http://127.0.0.1:9', { BATON_DATA_DIR: join(home.dir, dataDir) });

interface YamlAgent {
  id: string;
  count?: number;
  foreach?: unknown;
}

async function plan(path: string, dataDir = 'empty'): Promise<WorkflowPlan> {
  const result = await runCli(['plan', path, '--json'], { env: env(dataDir), cwd: home.dir });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as WorkflowPlan;
}

/** Examples with a worktree phase: plan checks their repository with git, as run does. */
const usesWorktree = (path: string): boolean => /workspace: worktree/.test(readFileSync(path, 'utf8'));
const hasGit = workflows.some(usesWorktree) && requireProgram('git');
const runnable = workflows.filter((path) => hasGit || !usesWorktree(path));
const copies: string[] = [];
afterAll(() => copies.forEach((root) => rmSync(root, { recursive: true, force: true })));
/**
 * A worktree example is planned from a committed copy in a repository of its own: Baton's sources
 * may be a copy or a package, not a checkout with a commit, which a worktree phase needs.
 */
function asUserHasIt(path: string): string {
  if (!usesWorktree(path)) return path;
  const { root, path: copy } = committedCopy(dirname(path));
  copies.push(root);
  return join(copy, basename(path));
}

describe('baton plan on the examples (nothing runs)', () => {
  it.each(runnable.map((path) => [path.slice(examples.length), path]))(
    '%s: every phase and agent of the file, swarms expanded where the file tells their size, a cost range from prices',
    async (_, path) => {
      const yaml = parse(readFileSync(path, 'utf8')) as { phases: Array<{ id: string; agents: YamlAgent[] }> };
      const planned = await plan(asUserHasIt(path));
      expect(planned.valid).toBe(true);
      expect(planned.phases.map((p) => p.id)).toEqual(yaml.phases.map((p) => p.id));
      const expected = yaml.phases.flatMap((p) =>
        p.agents.map((a) => ({
          id: a.id,
          instances: a.count ?? (Array.isArray(a.foreach) ? a.foreach.length : a.foreach ? null : 1),
        })),
      );
      expect(planned.phases.flatMap((p) => p.agents.map((a) => ({ id: a.id, instances: a.instances })))).toEqual(
        expected,
      );
      expect(planned.agents.known).toBe(expected.reduce((sum, a) => sum + (a.instances ?? 0), 0));
      expect(planned.cost.source).toBe('prices');
      expect(planned.cost.low).toBeGreaterThan(0);
      expect(planned.cost.high).toBeGreaterThanOrEqual(planned.cost.low);
    },
    60_000,
  );

  it('draws the DAG by level, with conditions, and names the MCP servers each agent would get', async () => {
    const dag = await runCli(['plan', join(examples, 'orchestration', 'dag-when', 'workflow.yaml')], {
      env: env('empty'),
      cwd: home.dir,
    });
    expect(dag.code, dag.stderr).toBe(0);
    const lines = dag.stdout.split('\n');
    const level = (n: number): string[] => {
      const start = lines.findIndex((l) => l.trimStart().startsWith(`L${n} `));
      const end = lines.findIndex((l, i) => i > start && (l.trim() === '|' || l.trim() === ''));
      return lines.slice(start, end).map((l) => /\[([^\]]+)\]/.exec(l)?.[1] ?? '');
    };
    expect([level(1), level(2), level(3)]).toEqual([['review'], ['fix', 'docs'], ['report']]);
    expect(dag.stdout).toMatch(/\[fix\].*<- review; when review\.verdict = "changes"/);
    expect([...dag.stdout].every((c) => c.charCodeAt(0) < 128)).toBe(true); // ASCII

    const demo = await plan(join(examples, 'demo', 'workflow.yaml'));
    const writer = demo.phases.flatMap((p) => p.agents).find((a) => a.id === 'writer')!;
    expect(writer).toMatchObject({ mcpServers: ['memory'], mcpChosenBy: 'task', mcpMissing: [] });
    const starter = await plan(join(examples, 'starter', 'workflow.yaml'));
    expect(starter.phases.at(-1)!.agents[0]).toMatchObject({ mcpServers: ['baton'], mcpChosenBy: 'workflow' });
    // A planning phase's bound: generations, and tasks (agents) per generation.
    const planning = await plan(join(examples, 'orchestration', 'planning', 'workflow.yaml'));
    expect(planning.phases.find((p) => p.planGenerations)).toMatchObject({ planGenerations: 2, planTasks: 20 });
  }, 120_000);

  it.runIf(hasGit)(
    "says where a worktree phase's branches go: kept, or merged and checked (git reads their repository)",
    async () => {
      const worktree = await plan(asUserHasIt(join(examples, 'orchestration', 'worktree', 'workflow.yaml')));
      expect(worktree.phases.some((p) => p.workspace === 'worktree')).toBe(true);
      expect(worktree.phases.every((p) => p.merge === undefined)).toBe(true);
      // A merge: phase says where its branches go and what checks them, not that they are left to you.
      const mergePath = asUserHasIt(join(examples, 'orchestration', 'merge', 'workflow.yaml'));
      expect((await plan(mergePath)).phases.find((p) => p.id === 'edit')?.merge).toEqual({
        into: 'baton/{{run8}}/{{phase}}',
        verify: 'sh check.sh',
        onConflict: 'agent',
        onVerifyFailure: 'skip',
      });
      const merged = await runCli(['plan', mergePath], { env: env('empty'), cwd: home.dir });
      const editLine = merged.stdout.split('\n').find((l) => l.trimStart().startsWith('edit: a git worktree'));
      expect(editLine).toContain('branches merged into baton/{{run8}}/{{phase}}; `sh check.sh` checks each merge');
      expect(editLine).not.toContain('kept for you to merge');
    },
    120_000,
  );

  it("estimates from this workflow's earlier runs once there are some (real claude run on the scripted model)", async () => {
    const demo = await runCli(['demo', '--json'], { env: env('history'), cwd: home.dir });
    expect(demo.code, demo.stderr).toBe(0);
    const cost = (JSON.parse(demo.stdout) as RunSummary).totals.costUsd;
    const planned = await plan(join(examples, 'demo', 'workflow.yaml'), 'history');
    expect(planned.cost).toMatchObject({ source: 'history', history: { match: 'hash', runs: 1 } });
    expect(planned.cost.low).toBeCloseTo(cost, 6);
    expect(planned.cost.high).toBeCloseTo(cost, 6);
  }, 240_000);

  it.runIf(hasGit)(
    'refuses what baton run would refuse before any agent: a worktree phase outside a git repository',
    async () => {
      const outside = mkdtempSync(join(home.dir, 'no-repo-'));
      const path = join(outside, 'wt.yaml');
      writeFileSync(
        path,
        'version: 1\nname: wt\nphases:\n  - id: a\n    workspace: worktree\n    agents: [{ id: q, prompt: p }]\n',
      );
      for (const command of ['plan', 'run']) {
        const result = await runCli([command, path], { env: env('empty'), cwd: outside });
        expect([command, result.code]).toEqual([command, 2]);
        expect(result.stderr).toContain(`phases[0].repo: ${outside} is not a git repository`);
      }
    },
    60_000,
  );

  it('finds the runs of exactly this workflow when it holds a literal secret (stored hidden, compared hidden)', async () => {
    const dir = mkdtempSync(join(home.dir, 'secret-'));
    const path = join(dir, 'secret.yaml');
    writeFileSync(
      path,
      'version: 1\nname: secret-wf\nphases:\n  - id: a\n    agents: [{ id: x, prompt: hi, env: { DEPLOY_TOKEN: literal-deploy-value-123 } }]\n',
    );
    writeFileSync(join(dir, 'script.yaml'), 'default: { text: done }\n');
    const ran = await runCli(['run', path, '--model-script', join(dir, 'script.yaml'), '--json'], {
      env: env('secret'),
      cwd: dir,
    });
    expect(ran.code, ran.stderr).toBe(0);
    expect((await plan(path, 'secret')).cost).toMatchObject({ source: 'history', history: { match: 'hash', runs: 1 } });
  }, 120_000);

  it('rejects an invalid workflow with exit 2, naming the field', async () => {
    const path = join(home.dir, 'bad.yaml');
    writeFileSync(
      path,
      'version: 1\nname: bad\nphases:\n  - id: a\n    dependsOn: [nope]\n    agents: [{ id: x, prompt: hi }]\n',
    );
    const result = await runCli(['plan', path], { env: env('empty'), cwd: home.dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('BATON_WORKFLOW_INVALID');
    expect(result.stderr).toContain('phases[0].dependsOn[0]: unknown phase "nope"');
  }, 60_000);

  it("notes a model Claude Code's price table does not hold, and the prices it was given", async () => {
    const path = join(home.dir, 'models.yaml');
    writeFileSync(
      path,
      'version: 1\nname: models\nphases:\n  - id: a\n    agents:\n      - { id: x, prompt: hi, model: weird-model-x }\n      - { id: y, prompt: hi, model: claude-opus-4-5-20251101 }\n',
    );
    const text = await runCli(['plan', path], { env: env('empty'), cwd: home.dir });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(
      "note: Claude Code's price table does not hold model weird-model-x: priced as Claude Code prices such a model (as its default, opus), $4/$20 per million input/output tokens",
    );
    expect(text.stdout).not.toContain('claude-opus-4-5-20251101:');
    const planned = await plan(path);
    expect(planned.cost.unknownModels).toEqual(['weird-model-x']);
    expect(planned.phases[0]!.agents.map((a) => a.modelPriceUnknown ?? false)).toEqual([true, false]);
  }, 60_000);

  it('writes nothing where no store is yet: no data_dir, no database, for a good or a bad workflow', async () => {
    const fresh = mkdtempSync(join(home.dir, 'fresh-'));
    writeFileSync(
      join(fresh, 'good.yaml'),
      'version: 1\nname: good\nphases:\n  - id: a\n    agents: [{ id: x, prompt: hi }]\n',
    );
    writeFileSync(join(fresh, 'bad.yaml'), 'version: 1\nname: bad\nphases: []\nextra: 1\n');
    const userEnv = home.cliEnv('http://127.0.0.1:9');
    delete userEnv.BATON_DATA_DIR; // the default, .baton in the current directory
    // Started from a shell, which exports PWD: the directory is a path to show, not a secret to mask.
    const good = await runCli(['plan', 'good.yaml', '--json'], { env: { ...userEnv, PWD: fresh }, cwd: fresh });
    expect(good.code, good.stderr).toBe(0);
    expect((JSON.parse(good.stdout) as WorkflowPlan).cost.source).toBe('prices');
    expect((JSON.parse(good.stdout) as WorkflowPlan).path).toBe(join(fresh, 'good.yaml'));
    const bad = await runCli(['plan', 'bad.yaml'], { env: userEnv, cwd: fresh });
    expect(bad.code).toBe(2);
    expect(readdirSync(fresh).sort()).toEqual(['bad.yaml', 'good.yaml']);
  }, 60_000);
});
