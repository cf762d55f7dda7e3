import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RunSummary } from '../src/orchestrator/index.js';
import { isolatedHome } from './support/agent-env.js';
import { runCli } from './support/cli.js';
import { processesWithEnv } from './support/processes.js';

const home = isolatedHome('baton-init-');
/** Baton's package: the hints run its `baton` command with `npx --prefix`. */
const batonRoot = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
afterAll(() => home.remove());
/** A user's shell: no model server of the test's, no BATON_* settings. */
const env = (): NodeJS.ProcessEnv => {
  const base: NodeJS.ProcessEnv = home.cliEnv('unused');
  delete base.ANTHROPIC_BASE_URL;
  delete base.ANTHROPIC_API_KEY;
  return base;
};

describe('baton init', () => {
  const project = join(home.dir, 'project');

  it('writes a commented starter workflow, config and model script; `baton run` then works offline at once', async () => {
    const init = await runCli(['init', project], { env: env(), cwd: home.dir });
    expect(init.code, init.stderr).toBe(0);
    for (const name of ['workflow.yaml', 'baton.config.yaml', 'model-script.yaml']) {
      const text = readFileSync(join(project, name), 'utf8');
      expect(text.startsWith('#'), `${name} explains itself`).toBe(true);
      expect(parse(text)).toBeTypeOf('object');
    }
    // The project is outside Baton's package, where a bare `npx baton` would ask the registry for another package.
    expect(init.stdout).toContain(`npx --prefix ${batonRoot} baton run workflow.yaml --model-script model-script.yaml`);
    const planHint = init.stdout.split('\n').find((line) => line.includes(' plan workflow.yaml'))!;
    const plan = spawnSync('sh', ['-c', planHint.split('#')[0]!], { cwd: home.dir, env: env(), encoding: 'utf8' });
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('Workflow starter-review');

    const run = await runCli(['run', 'workflow.yaml', '--model-script', 'model-script.yaml', '--json'], {
      env: env(),
      cwd: project,
    });
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as RunSummary;
    expect(summary.status).toBe('succeeded');
    expect(summary.phases.map((p) => `${p.id}:${p.agents.length}:${p.status}`)).toEqual([
      'survey:1:succeeded',
      'review:3:succeeded',
      'summary:1:succeeded',
    ]);
    expect(summary.phases[2]!.agents[0]!.result).toContain('Three reviewers');
    // The config it wrote is the one that ran: the store is in the project's .baton.
    expect(existsSync(join(project, '.baton'))).toBe(true);
    expect(processesWithEnv(home.dir)).toEqual([]);
  }, 240_000);

  it('never overwrites: exits 2 naming the file, and writes nothing at all', async () => {
    const other = join(home.dir, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'baton.config.yaml'), 'data_dir: mine\n');
    const again = await runCli(['init'], { env: env(), cwd: other });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`BATON_INIT_EXISTS: ${join(other, 'baton.config.yaml')} already exists`);
    expect(again.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(join(other, 'baton.config.yaml'), 'utf8')).toBe('data_dir: mine\n');
    expect(existsSync(join(other, 'workflow.yaml'))).toBe(false);
  }, 60_000);

  it('counts a symlink to nothing as a file already there: exits 2 before writing any of the three', async () => {
    const linked = join(home.dir, 'dangling');
    mkdirSync(linked);
    symlinkSync(join(linked, 'nowhere.yaml'), join(linked, 'model-script.yaml'));
    const init = await runCli(['init'], { env: env(), cwd: linked });
    expect(init.code, init.stderr).toBe(2);
    expect(init.stderr).toContain(`BATON_INIT_EXISTS: ${join(linked, 'model-script.yaml')} already exists`);
    expect(init.stderr).toContain('wrote nothing. Move it away, or name another directory');
    expect(readdirSync(linked)).toEqual(['model-script.yaml']);
  }, 60_000);

  it('refuses an empty directory name instead of writing here, and prints a dash-named one so cd takes it', async () => {
    const here = join(home.dir, 'here');
    mkdirSync(here);
    const empty = await runCli(['init', ''], { env: env(), cwd: here });
    expect(empty.code, empty.stderr).toBe(2);
    expect(empty.stderr).toMatch(/^error BATON_USAGE: baton init was given an empty directory name/);
    expect(readdirSync(here)).toEqual([]);
    const dash = await runCli(['init', '--', '-dash'], { env: env(), cwd: here });
    expect(dash.code, dash.stderr).toBe(0);
    expect(dash.stdout).toContain('cd ./-dash && ');
    expect(existsSync(join(here, '-dash', 'workflow.yaml'))).toBe(true);
  }, 60_000);

  it('refuses a directory whose config has another of its names, which the new one would silently shadow', async () => {
    for (const name of ['baton.config.yml', 'baton.config.json']) {
      const other = join(home.dir, `has-${name}`);
      mkdirSync(other);
      writeFileSync(join(other, name), name.endsWith('json') ? '{"data_dir": "mine"}\n' : 'data_dir: mine\n');
      const again = await runCli(['init'], { env: env(), cwd: other });
      expect(again.code, again.stderr).toBe(2);
      expect(again.stderr).toContain(`BATON_INIT_EXISTS: ${join(other, name)} already exists`);
      expect(readdirSync(other)).toEqual([name]);
    }
  }, 60_000);

  it('exits 2 with BATON_INIT_EXISTS, no stack, when the target is a file, not a directory', async () => {
    const file = join(home.dir, 'a-file');
    writeFileSync(file, 'mine\n');
    const init = await runCli(['init', file], { env: env(), cwd: home.dir });
    expect(init.code, init.stderr).toBe(2);
    expect(init.stderr).toContain(`BATON_INIT_EXISTS: ${file} is a file, not a directory`);
    expect(init.stderr).not.toMatch(/EEXIST|at .*\.[jt]s:\d+/);
    expect(readFileSync(file, 'utf8')).toBe('mine\n');
  }, 60_000);

  it('names a directory with spaces so that its "Next:" lines paste into a shell as they are', async () => {
    const init = await runCli(['init', "my team's project"], { env: env(), cwd: home.dir });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain(`cd 'my team'\\''s project' && npx --prefix ${batonRoot} baton plan workflow.yaml`);
    expect(existsSync(join(home.dir, "my team's project", 'workflow.yaml'))).toBe(true);
  }, 60_000);

  it('a directory that cannot be made (under a file) is exit 2 with a code naming it, no stack', async () => {
    const file = join(home.dir, 'notes.txt');
    writeFileSync(file, 'mine\n');
    const init = await runCli(['init', join(file, 'project')], { env: env(), cwd: home.dir });
    expect(init.code, init.stderr).toBe(2);
    expect(init.stderr).toMatch(/^error BATON_USAGE: Cannot write the starter files into .*notes\.txt\/project/);
    expect(init.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('a directory that cannot be made or used (a file, or under /proc, where Node’s recursive mkdir loops forever)', () => {
  it('baton init /proc/…: exit 2 with BATON_USAGE naming it, no stack', async () => {
    const init = await runCli(['init', '/proc/baton-project'], { env: env(), cwd: home.dir });
    expect(init.code, init.stderr).toBe(2);
    expect(init.stderr).toMatch(/^error BATON_USAGE: Cannot write the starter files into \/proc\/baton-project/);
    expect(init.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it.each([
    ['under /proc', () => '/proc/baton-data'],
    ['where no file can be made (/proc)', () => '/proc'],
    ['a file', () => (writeFileSync(join(home.dir, 'data-file'), 'mine\n'), join(home.dir, 'data-file'))],
  ])(
    '--data-dir %s: exit 2 with BATON_CONFIG_INVALID naming --data-dir and the fix, no stack',
    async (_, dir) => {
      const runs = await runCli(['runs', '--data-dir', dir()], { env: env(), cwd: home.dir });
      expect(runs.code, runs.stderr).toBe(2);
      expect(runs.stderr).toMatch(/^error BATON_CONFIG_INVALID: data_dir \S+ cannot hold Baton's data: /);
      expect(runs.stderr).toContain('Set --data-dir (or BATON_DATA_DIR, or data_dir in baton.config) to a directory');
      expect(runs.stderr).not.toMatch(/\n\s+at /);
    },
    60_000,
  );
});

describe("the CLI's own usage errors", () => {
  it('an unknown command, an unknown option and a missing argument: exit 2 with BATON_USAGE, as every error has a code', async () => {
    for (const args of [['frobnicate'], ['init', '--force'], ['approve']]) {
      const wrong = await runCli(args, { env: env(), cwd: home.dir });
      expect(wrong.code, args.join(' ')).toBe(2);
      expect(wrong.stderr, args.join(' ')).toMatch(
        /^error BATON_USAGE: (unknown command|unknown option|missing required argument)/,
      );
    }
  }, 60_000);
});
