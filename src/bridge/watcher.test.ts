import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePatch } from 'diff';
import { afterAll, describe, expect, it } from 'vitest';
import { requireProgram } from '../../test/support/programs.js';
import { unifiedDiff } from './diff.js';
import type { IdeEventInput } from './protocol.js';
import { parseDiagnostics, parseGitStatus, startWatcher } from './watcher.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('unifiedDiff', () => {
  it.each([
    ['one line changed in the middle', 'a\nb\nc\nd\ne\nf\ng\nh\n', 'a\nb\nc\nd\nX\nf\ng\nh\n'],
    ['a new file', '', 'new\nfile\n'],
    ['a file emptied', 'old\n', ''],
    ['a line appended', '1\n2\n3\n', '1\n2\n3\n4\n'],
    ['edits at both ends', '1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n', '0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\nB\n'],
    ['the final newline removed', 'a\nb\n', 'a\nb'],
    ['Windows line endings', 'a\r\nb\r\nc\r\n', 'a\r\nB\r\nc\r\n'],
  ])('%s: git apply turns the old text into the new one', (_, before, after) => {
    writeFileSync(join(dir, 'f.txt'), before);
    writeFileSync(join(dir, 'change.diff'), unifiedDiff(before, after, 'f.txt'));
    execFileSync('git', ['apply', '--unsafe-paths', `--directory=${dir}`, '-p1', join(dir, 'change.diff')], {
      cwd: dir,
    });
    expect(readFileSync(join(dir, 'f.txt'), 'utf8')).toBe(after);
  });

  it('shows three lines of context around the change, and nothing for equal texts', () => {
    expect(unifiedDiff('a\nb\nc\nd\ne\nf\ng\nh\n', 'a\nb\nc\nd\nX\nf\ng\nh\n', 'f.txt')).toBe(
      '--- a/f.txt\n+++ b/f.txt\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+X\n f\n g\n h\n',
    );
    expect(unifiedDiff('same\n', 'same\n', 'f.txt')).toBe('');
  });

  it('scattered edits make one hunk each, not one hunk spanning the file', () => {
    const before = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    const after = before.map((line, i) => (i === 1 || i === 27 ? `${line} edited` : line));
    const [patch] = parsePatch(unifiedDiff(`${before.join('\n')}\n`, `${after.join('\n')}\n`, 'f.txt'));
    expect(patch?.hunks.map((hunk) => [hunk.oldStart, hunk.oldLines, hunk.newStart, hunk.newLines])).toEqual([
      [1, 5, 1, 5],
      [25, 6, 25, 6],
    ]);
    const changed = patch?.hunks.flatMap((hunk) => hunk.lines.filter((line) => !line.startsWith(' ')));
    expect(changed).toEqual(['-line 2', '+line 2 edited', '-line 28', '+line 28 edited']);
  });
});

describe('watcher parsers', () => {
  it('reads tsc and gcc/eslint-style diagnostics, with 0-based positions and absolute paths', () => {
    const output = [
      "src/a.ts(3,7): error TS2322: Type 'number' is not assignable to type 'string'.",
      '/abs/b.c:10:2: warning: unused variable [-Wunused-variable]',
      'src/a.ts:1:1: note: declared here',
      'Found 1 error.',
    ].join('\n');
    expect(Object.fromEntries(parseDiagnostics(output, '/w'))).toEqual({
      '/w/src/a.ts': [
        {
          severity: 'error',
          code: 'TS2322',
          message: "Type 'number' is not assignable to type 'string'.",
          range: { start: { line: 2, character: 6 }, end: { line: 2, character: 6 } },
        },
        {
          severity: 'info',
          message: 'declared here',
          range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
        },
      ],
      '/abs/b.c': [
        {
          severity: 'warning',
          message: 'unused variable [-Wunused-variable]',
          range: { start: { line: 9, character: 1 }, end: { line: 9, character: 1 } },
        },
      ],
    });
  });

  it('reads the branch and changed files of git status, renames by their new path', () => {
    const status = '## main...origin/main [ahead 1]\n M src/a.ts\nR  old.ts -> new.ts\n?? "with space.ts"\n';
    expect(parseGitStatus(status, '/repo')).toEqual({
      branch: 'main',
      files: [
        { path: '/repo/src/a.ts', status: 'M' },
        { path: '/repo/new.ts', status: 'R' },
        { path: '/repo/with space.ts', status: '??' },
      ],
    });
    expect(parseGitStatus('## No commits yet on trunk\n', '/repo')).toEqual({ branch: 'trunk', files: [] });
  });
});

describe.runIf(requireProgram('git'))('startWatcher', () => {
  it('reports the git status at start, then files added, changed and deleted with their diffs, in order', async () => {
    const repo = join(dir, 'repo');
    mkdirSync(join(repo, 'node_modules'), { recursive: true });
    execFileSync('git', ['init', '-q', '-b', 'trunk'], { cwd: repo });
    writeFileSync(join(repo, 'kept.txt'), 'one\n');
    const events: IdeEventInput[] = [];
    let check = (): void => undefined;
    /** Resolves once this many file events arrived (git status events come in between). */
    const fileEvents = (count: number) =>
      new Promise<IdeEventInput[]>((resolve) => {
        check = () => {
          const found = events.filter((e) => e.type === 'file.changed');
          if (found.length >= count) resolve(found);
        };
        check();
      });
    const controller = new AbortController();
    await startWatcher({
      dir: repo,
      push: async (event) => {
        events.push(event);
        check();
      },
      settleMs: 10,
      signal: controller.signal,
    });
    expect(events).toEqual([
      { type: 'git.changed', root: repo, branch: 'trunk', files: [{ path: join(repo, 'kept.txt'), status: '??' }] },
    ]);

    writeFileSync(join(repo, 'kept.txt'), 'one\ntwo\n');
    await fileEvents(1);
    writeFileSync(join(repo, 'node_modules', 'ignored.js'), 'x');
    writeFileSync(join(repo, 'new.txt'), 'fresh\n');
    await fileEvents(2);
    unlinkSync(join(repo, 'new.txt'));
    expect(await fileEvents(3)).toEqual([
      {
        type: 'file.changed',
        path: join(repo, 'kept.txt'),
        change: 'changed',
        diff: '--- a/kept.txt\n+++ b/kept.txt\n@@ -1,1 +1,2 @@\n one\n+two\n',
      },
      {
        type: 'file.changed',
        path: join(repo, 'new.txt'),
        change: 'added',
        diff: '--- a/new.txt\n+++ b/new.txt\n@@ -0,0 +1,1 @@\n+fresh\n',
      },
      {
        type: 'file.changed',
        path: join(repo, 'new.txt'),
        change: 'deleted',
        diff: '--- a/new.txt\n+++ b/new.txt\n@@ -1,1 +0,0 @@\n-fresh\n',
      },
    ]);
    controller.abort();
  });

  it("reads the user's git status without rewriting their index, whose lock their own git command may need", async () => {
    // A plain `git status` refreshes the index's file times and writes it back under index.lock: a user's
    // `git commit` at that moment failed ("index.lock: File exists").
    const repo = join(dir, 'untouched-index');
    mkdirSync(repo);
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo });
    git('init', '-q', '-b', 'trunk');
    writeFileSync(join(repo, 'tracked.txt'), 'one\n');
    git('add', 'tracked.txt');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'first');
    utimesSync(join(repo, 'tracked.txt'), new Date('2020-01-01'), new Date('2020-01-01'));
    const index = readFileSync(join(repo, '.git', 'index'));
    const events: IdeEventInput[] = [];
    const controller = new AbortController();
    await startWatcher({
      dir: repo,
      push: async (event) => void events.push(event),
      settleMs: 10,
      signal: controller.signal,
    });
    controller.abort();
    expect(events).toEqual([{ type: 'git.changed', root: repo, branch: 'trunk', files: [] }]);
    expect(readFileSync(join(repo, '.git', 'index')).equals(index)).toBe(true);
  });
});
