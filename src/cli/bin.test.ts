import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transformSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

// bin.ts as the build ships it (dist/cli/bin.js beside dist/cli/main.js and dist/bundle/main.js),
// with stand-ins for the two CLIs that say which one was loaded.
const dir = mkdtempSync(join(tmpdir(), 'baton-bin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'cli'));
mkdirSync(join(dir, 'bundle'));
const source = readFileSync(new URL('./bin.ts', import.meta.url), 'utf8');
writeFileSync(join(dir, 'cli', 'bin.js'), transformSync(source, { loader: 'ts', format: 'esm' }).code);
writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
const modules = join(dir, 'cli', 'main.js');
const bundle = join(dir, 'bundle', 'main.js');
writeFileSync(modules, "console.log('modules');");

function builtAt(file: string, secondsAgo: number): void {
  const at = Date.now() / 1000 - secondsAgo;
  utimesSync(file, at, at);
}

const loaded = (): string => execFileSync(process.execPath, [join(dir, 'cli', 'bin.js')], { encoding: 'utf8' }).trim();

describe('bin.js: which build of the CLI it loads', () => {
  it("loads tsc's modules when there is no bundle (a `npx tsc` build)", () => {
    rmSync(bundle, { force: true });
    expect(loaded()).toBe('modules');
  });

  it('loads the bundle when it is at least as new as the modules (`npm run build`)', () => {
    writeFileSync(bundle, "console.log('bundle');");
    builtAt(modules, 60);
    builtAt(bundle, 30);
    expect(loaded()).toBe('bundle');
  });

  it('loads the modules when a later tsc build left an older bundle behind', () => {
    writeFileSync(bundle, "console.log('bundle');");
    builtAt(bundle, 60);
    builtAt(modules, 30);
    expect(loaded()).toBe('modules');
  });
});
