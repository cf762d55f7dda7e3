import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { npxBaton } from './init.js';

const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const outside = mkdtempSync(join(tmpdir(), 'baton-npx-'));
afterAll(() => rmSync(outside, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

/** A Baton package laid out as npm installs it under `modules`, with its command linked where npm links it. */
function installedAt(modules: string, binFolder: string): string {
  const pkg = join(modules, 'baton');
  mkdirSync(join(pkg, 'dist', 'cli'), { recursive: true });
  writeFileSync(join(pkg, 'dist', 'cli', 'bin.js'), '');
  mkdirSync(binFolder, { recursive: true });
  symlinkSync(join(pkg, 'dist', 'cli', 'bin.js'), join(binFolder, 'baton'));
  return pkg;
}

describe('npxBaton', () => {
  it('is plain npx baton inside Baton’s own package, and names its prefix anywhere else', () => {
    expect(npxBaton(join(root, 'examples', 'quick-start'))).toBe('npx baton');
    expect(npxBaton(join(outside, 'my-project'))).toBe(`npx --prefix ${root} baton`);
  });

  it('names the install prefix (whose node_modules/.bin has baton) for a package installed there, not the package', () => {
    const prefix = join(outside, 'tools');
    const pkg = installedAt(join(prefix, 'node_modules'), join(prefix, 'node_modules', '.bin'));
    expect(npxBaton(join(outside, 'my-project'), pkg)).toBe(`npx --prefix ${prefix} baton`);
  });

  it('is the command on PATH for a global install, else node and its bin file', () => {
    const global = join(outside, 'global');
    const pkg = installedAt(join(global, 'lib', 'node_modules'), join(global, 'bin'));
    vi.stubEnv('PATH', `${join(global, 'bin')}:/usr/bin:/bin`);
    expect(npxBaton(join(outside, 'my-project'), pkg)).toBe('baton');
    vi.stubEnv('PATH', '/usr/bin:/bin');
    expect(npxBaton(join(outside, 'my-project'), pkg)).toBe(`node ${join(pkg, 'dist', 'cli', 'bin.js')}`);
  });
});
