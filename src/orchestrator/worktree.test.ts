import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gitIn, makeRepo } from '../../test/support/git-repo.js';
import { requireProgram } from '../../test/support/programs.js';
import type { PhaseSpec } from '../workflow/index.js';
import { checkWorktreeRepos, createWorktree, finishWorktree } from './worktree.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-worktree-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runId = '5c9b515c-aeb1-47e3-a138-688bab8899ad';

describe.runIf(requireProgram('git'))('agent worktrees', () => {
  it('gives a resumed agent its branch back with the work an interrupted attempt committed', async () => {
    // A cancelled attempt's edits are committed to its branch as it stops and the worktree is removed;
    // the resumed session remembers making them, so the new worktree must start from that branch.
    const repo = join(dir, 'resumed');
    const repoGit = makeRepo(repo, { 'README.md': 'hello\n' });
    const dataDir = join(dir, 'resumed-data');
    const first = await createWorktree(repo, dataDir, runId, 'helper.15');
    writeFileSync(join(first.path, 'helper.js'), 'export const helper = 1;\n');
    const stopped = await finishWorktree(first, 'helper.15');
    expect(stopped.commit).toBeDefined();

    const again = await createWorktree(repo, dataDir, runId, 'helper.15');
    expect(readFileSync(join(again.path, 'helper.js'), 'utf8')).toBe('export const helper = 1;\n');
    expect(again.baseCommit).toBe(first.baseCommit);
    const done = await finishWorktree(again, 'helper.15');
    expect(done.commit).toBe(stopped.commit);
    expect(done.diffStat).toEqual({ files: 1, insertions: 1, deletions: 0 });
    expect(repoGit('rev-parse', 'baton/5c9b515c/helper.15')).toBe(stopped.commit);
  });

  it('starts a new agent at the base it is given, and reuses a worktree that is still there', async () => {
    const repo = join(dir, 'fresh');
    const repoGit = makeRepo(repo, { 'README.md': 'hello\n' });
    const head = repoGit('rev-parse', 'HEAD');
    const dataDir = join(dir, 'fresh-data');
    const made = await createWorktree(repo, dataDir, runId, 'writer');
    expect(made).toMatchObject({ branch: 'baton/5c9b515c/writer', baseCommit: head });
    writeFileSync(join(made.path, 'notes.md'), 'draft\n');
    const reused = await createWorktree(repo, dataDir, runId, 'writer');
    expect(reused.path).toBe(made.path);
    expect(existsSync(join(reused.path, 'notes.md'))).toBe(true);
  });

  it('makes a resumed agent its worktree again when its directory was deleted but git still lists it', async () => {
    // Reused as it was listed, the agent was started in a directory that no longer existed.
    const repo = join(dir, 'deleted');
    makeRepo(repo, { 'README.md': 'hello\n' });
    const dataDir = join(dir, 'deleted-data');
    const made = await createWorktree(repo, dataDir, runId, 'writer');
    rmSync(join(dataDir, 'worktrees'), { recursive: true });
    const again = await createWorktree(repo, dataDir, runId, 'writer');
    expect(again).toMatchObject({ path: made.path, baseCommit: made.baseCommit });
    expect(readFileSync(join(again.path, 'README.md'), 'utf8')).toBe('hello\n');
    expect((await finishWorktree(again, 'writer')).commit).toBeUndefined();
  });

  it("refuses a resumed agent's branch the user has checked out, naming it and how to free it", async () => {
    // git's own refusal ("fatal: '<branch>' is already checked out at ...") named no way out.
    const repo = join(dir, 'checked-out');
    const repoGit = makeRepo(repo, { 'README.md': 'hello\n' });
    const dataDir = join(dir, 'checked-out-data');
    const first = await createWorktree(repo, dataDir, runId, 'writer');
    writeFileSync(join(first.path, 'notes.md'), 'draft\n');
    await finishWorktree(first, 'writer');
    repoGit('checkout', '-q', first.branch);
    await expect(createWorktree(repo, dataDir, runId, 'writer')).rejects.toMatchObject({
      code: 'BATON_WORKTREE',
      message: `agent writer's branch ${first.branch} is checked out at ${repo}, and git checks a branch out in one place only: switch that checkout to another branch, or keep its files as they are with git -C ${repo} switch --detach, then resume the run: baton run --resume ${runId}`,
    });
    repoGit('switch', '-q', '--detach');
    const again = await createWorktree(repo, dataDir, runId, 'writer');
    expect(readFileSync(join(again.path, 'notes.md'), 'utf8')).toBe('draft\n');
  });

  it("works in a repository whose git directory is elsewhere, and keeps on the agent's branch what it committed on another", async () => {
    // A submodule or a --separate-git-dir clone: .git is a file pointing elsewhere.
    const repo = join(dir, 'separate');
    execFileSync('git', ['init', '-q', '-b', 'main', '--separate-git-dir', join(dir, 'separate.git'), repo]);
    writeFileSync(join(repo, 'README.md'), 'hello\n');
    const repoGit = gitIn(repo);
    repoGit('add', '-A');
    repoGit('commit', '-q', '-m', 'init');
    const made = await createWorktree(repo, join(dir, 'separate-data'), runId, 'wanderer');
    const agentGit = gitIn(made.path);
    agentGit('checkout', '-q', '-b', 'own-idea');
    writeFileSync(join(made.path, 'idea.md'), 'idea\n');
    agentGit('add', '-A');
    agentGit('commit', '-q', '-m', 'my idea');
    writeFileSync(join(made.path, 'more.md'), 'more\n');
    const done = await finishWorktree(made, 'wanderer');
    expect(existsSync(made.path)).toBe(false);
    expect(done.diffStat.files).toBe(2);
    expect(repoGit('rev-parse', made.branch)).toBe(done.commit);
    expect(repoGit('log', '--format=%s', made.branch).split('\n')).toEqual([
      'baton: changes by agent wanderer',
      'my idea',
      'init',
    ]);
  });

  it('commits the files of repositories the agent made inside its worktree, which a merge would otherwise lose', async () => {
    // `git add -A` made a committed nested repository an empty gitlink (its files gone from the branch),
    // and failed on one without a commit, with everything else the agent changed.
    const repo = join(dir, 'nested');
    const repoGit = makeRepo(repo, { 'README.md': 'hello\n' });
    const made = await createWorktree(repo, join(dir, 'nested-data'), runId, 'scaffolder');
    makeRepo(join(made.path, 'lib'), { 'index.js': 'export {};\n', '.gitignore': 'build/\n' });
    mkdirSync(join(made.path, 'lib', 'build'));
    writeFileSync(join(made.path, 'lib', 'build', 'out.js'), 'built\n');
    makeRepo(join(made.path, 'lib', 'vendor'), { 'v.js': 'vendored\n' });
    mkdirSync(join(made.path, 'fresh'));
    execFileSync('git', ['init', '-q'], { cwd: join(made.path, 'fresh') });
    writeFileSync(join(made.path, 'fresh', 'new.txt'), 'no commit yet\n');
    writeFileSync(join(made.path, 'top.txt'), 'top\n');
    const done = await finishWorktree(made, 'scaffolder');
    expect(done.embeddedRepositories).toEqual(['fresh', 'lib', 'lib/vendor']);
    const tree = repoGit('ls-tree', '-r', '--format=%(objectmode) %(path)', done.branch).split('\n');
    expect(tree).toEqual([
      '100644 README.md',
      '100644 fresh/new.txt',
      '100644 lib/.gitignore',
      '100644 lib/index.js',
      '100644 lib/vendor/v.js',
      '100644 top.txt',
    ]);
    expect(existsSync(made.path)).toBe(false);
  });

  it("an agent's commit starts no housekeeping of the user's repository (gc, maintenance)", async () => {
    // Each commit spawned `git maintenance run --auto`: past git's thresholds (many agents' objects), a
    // background gc packing refs and pruning worktrees while other agents' branches and worktrees were made.
    const repo = join(dir, 'housekeeping');
    makeRepo(repo, { 'README.md': 'hello\n' });
    const made = await createWorktree(repo, join(dir, 'housekeeping-data'), runId, 'writer');
    writeFileSync(join(made.path, 'notes.md'), 'draft\n');
    const trace = join(dir, 'housekeeping.trace');
    process.env.GIT_TRACE = trace;
    try {
      expect((await finishWorktree(made, 'writer')).commit).toBeDefined();
    } finally {
      delete process.env.GIT_TRACE;
    }
    expect(readFileSync(trace, 'utf8')).toContain('commit');
    expect(readFileSync(trace, 'utf8')).not.toMatch(/maintenance run|gc --auto/);
  });

  it('commits the work of an agent killed while its git command held the index lock', async () => {
    const repo = join(dir, 'locked');
    makeRepo(repo, { 'README.md': 'hello\n' });
    const made = await createWorktree(repo, join(dir, 'locked-data'), runId, 'killed');
    writeFileSync(join(made.path, 'work.md'), 'work\n');
    writeFileSync(gitIn(made.path)('rev-parse', '--path-format=absolute', '--git-path', 'index.lock'), '');
    const done = await finishWorktree(made, 'killed');
    expect(done.commit).toBeDefined();
    expect(done.diffStat.files).toBe(1);
  });

  it("a data directory Baton makes inside the checkout (the default .baton) stays out of the user's git status", async () => {
    const repo = join(dir, 'inside');
    const repoGit = makeRepo(repo, { 'README.md': 'hello\n' });
    const made = await createWorktree(repo, join(repo, '.baton'), runId, 'writer');
    writeFileSync(join(made.path, 'notes.md'), 'draft\n');
    await finishWorktree(made, 'writer');
    expect(repoGit('status', '--porcelain', '--untracked-files=all')).toBe('');
    // A directory that was there already may be the user's own: no .gitignore is put in it.
    const own = join(dir, 'own-data');
    mkdirSync(own);
    await createWorktree(repo, own, runId, 'other');
    expect(existsSync(join(own, '.gitignore'))).toBe(false);
  });

  it('refuses, before any agent starts, a worktree repo that is not a repository or has no commit, naming the field', async () => {
    // Each of the phase's agents failed on its own with git's "ambiguous argument 'HEAD'", and the merge after them.
    const phases = (repos: string[]): PhaseSpec[] =>
      repos.map((repo, i) => ({ id: `p${i}`, workspace: 'worktree', repo, agents: [] }));
    const empty = join(dir, 'no-commit');
    mkdirSync(empty);
    const plain = join(dir, 'plain');
    mkdirSync(plain);
    execFileSync('git', ['init', '-q'], { cwd: empty });
    const refused = checkWorktreeRepos(phases(['no-commit', 'plain', 'missing']), dir);
    await expect(refused).rejects.toMatchObject({ code: 'BATON_WORKFLOW_INVALID' });
    const message = await refused.catch((error: Error) => error.message);
    expect(message).toContain(`phases[0].repo: ${empty} has no commit yet`);
    expect(message).toContain(`git -C ${empty} add -A && git -C ${empty} commit -m init`);
    expect(message).toContain(`phases[1].repo: ${plain} is not a git repository`);
    expect(message).toContain(`phases[2].repo: ${join(dir, 'missing')} does not exist`);
  });

  it("checks the user's checkout without rewriting its index, whose lock their own git command may need", async () => {
    // `git status` refreshes the index's file times and writes it back under index.lock: the user's
    // `git commit` at that moment failed ("index.lock: File exists"), and their index was not left alone.
    const repo = join(dir, 'untouched-index');
    makeRepo(repo, { 'src.js': 'one\n' });
    utimesSync(join(repo, 'src.js'), new Date('2020-01-01'), new Date('2020-01-01'));
    const index = readFileSync(join(repo, '.git', 'index'));
    const phase = { id: 'edit', workspace: 'worktree', agents: [] } as unknown as PhaseSpec;
    expect(await checkWorktreeRepos([phase], repo)).toEqual([]);
    expect(readFileSync(join(repo, '.git', 'index')).equals(index)).toBe(true);
  });

  it('notes a repository whose tracked files have uncommitted changes: the agents start without them', async () => {
    const repo = join(dir, 'dirty');
    const repoGit = makeRepo(repo, { 'src.js': 'one\n' });
    const phase = { id: 'edit', workspace: 'worktree', agents: [] } as unknown as PhaseSpec;
    expect(await checkWorktreeRepos([phase], repo)).toEqual([]);
    writeFileSync(join(repo, 'src.js'), 'two\n');
    writeFileSync(join(repo, 'scratch.txt'), 'untracked files are not counted\n');
    const notes = await checkWorktreeRepos([phase, { ...phase, id: 'again' }], repo);
    expect(notes).toEqual([
      `${repo} has uncommitted changes (1 file); the agents' branches start at HEAD ${repoGit('rev-parse', '--short=10', 'HEAD')} without them: commit them first to include them`,
    ]);
  });
});
