import { describe, expect, it } from 'vitest';
import { pathMatcher } from './glob.js';
import { ideEventSchema, type IdeEventInput } from './protocol.js';
import { BridgeState } from './state.js';

const clock = { now: () => 1_000 };
const apply = (state: BridgeState, event: IdeEventInput) => state.apply(ideEventSchema.parse(event), 'test');
const range = { start: { line: 1, character: 0 }, end: { line: 2, character: 4 } };

describe('path globs', () => {
  it.each([
    ['src/**/*.ts', 'src/a.ts', true],
    ['src/**/*.ts', 'src/deep/er/a.ts', true],
    ['src/**/*.ts', 'lib/a.ts', false],
    ['src/*.ts', 'src/deep/a.ts', false],
    ['*.ts', '/home/me/project/src/a.ts', true],
    ['*.ts', '/home/me/project/src/a.tsx', false],
    ['**/src/**', '/home/me/project/src/a.ts', true],
    ['**/src/**', '/w/src/a.ts', true],
    ['src/**', '/w/src/a.ts', false],
    ['*.ts', '/w/.hidden.ts', true],
    ['src/{a,b}.ts', 'src/b.ts', true],
    ['a?.md', 'docs/ab.md', true],
    ['a.md', 'docs/aXmd', false],
  ])('%s on %s → %s', (glob, path, expected) => {
    expect(pathMatcher([glob])(path)).toBe(expected);
  });

  it('matches when any of the globs matches', () => {
    const matches = pathMatcher(['*.md', 'src/**']);
    expect([matches('docs/a.md'), matches('src/x/y.ts'), matches('lib/y.ts')]).toEqual([true, true, false]);
  });
});

describe('BridgeState', () => {
  it('tracks open files, the active file, the selection and diagnostics per file', () => {
    const state = new BridgeState({ clock });
    apply(state, { type: 'file.opened', path: '/p/a.ts', language: 'typescript' });
    apply(state, { type: 'file.opened', path: '/p/b.ts' });
    apply(state, { type: 'selection.changed', path: '/p/a.ts', range, text: 'const x' });
    apply(state, {
      type: 'diagnostics.updated',
      path: '/p/a.ts',
      diagnostics: [
        { severity: 'error', message: 'x is unused' },
        { severity: 'warning', message: 'w' },
      ],
    });
    apply(state, {
      type: 'diagnostics.updated',
      path: '/p/b.ts',
      diagnostics: [{ severity: 'warning', message: 'w2' }],
    });
    apply(state, { type: 'file.closed', path: '/p/b.ts' });

    const snapshot = state.snapshot();
    expect(snapshot.seq).toBe(6);
    expect(snapshot.openFiles).toEqual([{ path: '/p/a.ts', language: 'typescript', openedAt: 1_000 }]);
    expect(snapshot.activeFile).toBe('/p/a.ts');
    expect(snapshot.selection).toEqual({ path: '/p/a.ts', range, text: 'const x', at: 1_000 });
    // Closing a file does not clear its diagnostics: the problems are still in the code.
    expect(snapshot.diagnostics).toEqual({
      errors: 1,
      warnings: 2,
      infos: 0,
      hints: 0,
      files: [
        { path: '/p/a.ts', errors: 1, warnings: 1 },
        { path: '/p/b.ts', errors: 0, warnings: 1 },
      ],
    });
    expect(state.fileDiagnostics({ minSeverity: 'error' })).toEqual([
      { path: '/p/a.ts', diagnostics: [{ severity: 'error', message: 'x is unused' }], at: 1_000 },
    ]);
  });

  it('an empty diagnostics list and a deleted file clear what was known about the file', () => {
    const state = new BridgeState({ clock });
    apply(state, { type: 'file.opened', path: '/p/gone.ts' });
    apply(state, {
      type: 'diagnostics.updated',
      path: '/p/gone.ts',
      diagnostics: [{ severity: 'error', message: 'e' }],
    });
    apply(state, {
      type: 'diagnostics.updated',
      path: '/p/fixed.ts',
      diagnostics: [{ severity: 'error', message: 'e' }],
    });
    apply(state, { type: 'diagnostics.updated', path: '/p/fixed.ts', diagnostics: [] });
    apply(state, { type: 'file.changed', path: '/p/gone.ts', change: 'deleted' });
    expect(state.snapshot()).toMatchObject({ openFiles: [], diagnostics: { errors: 0, files: [] } });
  });

  it('keeps only the newest events, in order, and filters them by type, path and sequence', () => {
    const state = new BridgeState({ clock, retainEvents: 3 });
    for (let i = 1; i <= 5; i++) apply(state, { type: 'file.changed', path: `/p/${i}.${i % 2 ? 'ts' : 'md'}` });
    apply(state, { type: 'terminal.output', data: 'ok' });
    expect(state.oldestSeq).toBe(4);
    expect(state.events().map((e) => e.seq)).toEqual([4, 5, 6]);
    // Terminal output has no path, so a path filter lets it through; a type filter does not.
    expect(state.events({ paths: ['*.ts'] }).map((e) => e.seq)).toEqual([5, 6]);
    expect(state.events({ types: ['file.changed'], since: 4 }).map((e) => e.seq)).toEqual([5]);
    expect(state.events({ limit: 1 }).map((e) => e.seq)).toEqual([6]);
  });

  it("keeps the tail of each terminal's output", () => {
    const state = new BridgeState({ clock, terminalTailChars: 5 });
    apply(state, { type: 'terminal.output', data: 'abc' });
    apply(state, { type: 'terminal.output', data: 'defg' });
    apply(state, { type: 'terminal.output', terminal: 'tests', data: 'PASS' });
    expect(state.snapshot().terminals).toEqual([
      { terminal: 'default', tail: 'cdefg', at: 1_000 },
      { terminal: 'tests', tail: 'PASS', at: 1_000 },
    ]);
  });
});
