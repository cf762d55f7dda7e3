import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeDataDir, makeDirs } from './data-dir.js';
import { ErrorCodes } from './errors.js';

const tempDirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-data-dir-'));
  tempDirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const modeOf = (path: string): number => statSync(path).mode & 0o777;

describe('makeDirs', () => {
  it('creates each missing directory 0700, whatever the umask lets through, and returns the first it created', () => {
    const root = tempDir();
    expect(makeDirs(join(root, 'a', 'b', 'c'))).toBe(join(root, 'a'));
    expect([modeOf(join(root, 'a')), modeOf(join(root, 'a', 'b')), modeOf(join(root, 'a', 'b', 'c'))]).toEqual([
      0o700, 0o700, 0o700,
    ]);
    expect(makeDirs(join(root, 'a', 'b'))).toBeUndefined();
  });

  it('fails at once where the kernel refuses new directories (/proc), where Node’s recursive mkdir loops forever', () => {
    expect(() => makeDirs('/proc/baton-data/x')).toThrow(/ENOENT/);
  });
});

describe('makeDataDir', () => {
  it('creates the data directory 0700, but leaves the mode of one that exists (the user’s) alone', () => {
    const root = tempDir();
    makeDataDir(join(root, 'data'));
    expect(modeOf(join(root, 'data'))).toBe(0o700);
    const shared = join(root, 'shared');
    mkdirSync(shared, { mode: 0o750 });
    makeDataDir(shared);
    expect(modeOf(shared)).toBe(0o750);
  });

  it.each([
    ['a file', (root: string) => (writeFileSync(join(root, 'file'), 'mine\n'), join(root, 'file')), /is a file/],
    ['under a file', (root: string) => (writeFileSync(join(root, 'f'), 'mine\n'), join(root, 'f', 'data')), /ENOTDIR/],
    ['under /proc', () => '/proc/baton-data', /ENOENT/],
  ])('refuses %s as BATON_CONFIG_INVALID naming data_dir and --data-dir', (_, path, reason) => {
    const dir = path(tempDir());
    let thrown: unknown;
    try {
      makeDataDir(dir);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: ErrorCodes.configInvalid });
    const message = (thrown as Error).message;
    expect(message).toContain(`data_dir ${dir}`);
    expect(message).toMatch(reason);
    expect(message).toContain('--data-dir');
  });
});
