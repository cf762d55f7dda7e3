import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAgentSdk } from './agent-sdk.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-code-cache-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// A CommonJS module that uses what Node gives one: require, module.exports, __dirname.
const moduleSource = (answer: number): string =>
  `const { join } = require('node:path');\nmodule.exports = { answer: () => ${answer}, here: join(__dirname, 'x') };\n`;

// Each load in a process of its own, as each `baton run` is: within one process V8 reuses what it
// compiled before and would never look at the cache.
const loader = `
import { readFileSync } from 'node:fs';
import { requireWithCodeCache } from ${JSON.stringify(fileURLToPath(new URL('./agent-sdk.ts', import.meta.url)))};
const [file, cacheDir] = process.argv.slice(-2);
const { exports, cache } = requireWithCodeCache(file, readFileSync(file, 'utf8'), cacheDir);
console.log(JSON.stringify({ cache, answer: exports.answer(), here: exports.here }));
`;

function load(source: string, cacheDir = join(dir, 'cache')): { cache: string; answer: number; here: string } {
  const file = join(dir, 'mod.cjs');
  writeFileSync(file, source);
  writeFileSync(join(dir, 'load.mts'), loader);
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(dir, 'load.mts'), file, cacheDir], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as { cache: string; answer: number; here: string };
}

describe('requireWithCodeCache', () => {
  it('compiles from source and writes the cache, then compiles from the cache', () => {
    const first = load(moduleSource(42));
    expect(first.cache).toBe('written');
    expect(first.answer).toBe(42);
    expect(first.here).toBe(join(dir, 'x'));
    const second = load(moduleSource(42));
    expect(second.cache).toBe('used');
    expect(second.answer).toBe(42);
  });

  it('does not use the cache of another source, even one of the same length', () => {
    load(moduleSource(42));
    const changed = load(moduleSource(43));
    expect(changed.cache).toBe('written');
    expect(changed.answer).toBe(43);
    expect(load(moduleSource(43)).cache).toBe('used');
  });

  it('loads from source when the cache file is corrupt, and writes a good one', () => {
    load(moduleSource(42));
    const cacheFile = join(dir, 'cache', 'mod.cjs.v8-cache');
    const bytes = readFileSync(cacheFile);
    // The key is kept, the code cache after it is garbage: V8 must reject it.
    bytes.fill(0x5a, 40);
    writeFileSync(cacheFile, bytes);
    const loaded = load(moduleSource(42));
    expect(loaded.answer).toBe(42);
    expect(loaded.cache).toBe('written');
    expect(load(moduleSource(42)).cache).toBe('used');
  });

  it('loads from source when the cache cannot be written, leaving nothing behind', () => {
    const blocked = join(dir, 'blocked');
    writeFileSync(blocked, 'a file where the cache directory would be');
    const loaded = load(moduleSource(42), join(blocked, 'cache'));
    expect(loaded.answer).toBe(42);
    expect(loaded.cache).toBe('unavailable');
  });

  it('writes the cache readable by its user only, and no partial file', () => {
    load(moduleSource(42));
    expect(readdirSync(join(dir, 'cache'))).toEqual(['mod.cjs.v8-cache']);
    const { mode } = statSync(join(dir, 'cache', 'mod.cjs.v8-cache'));
    expect(mode & 0o077).toBe(0);
  });
});

describe('loadAgentSdk', () => {
  it('gives the Agent SDK, once per process', async () => {
    const sdk = await loadAgentSdk();
    expect(typeof sdk.query).toBe('function');
    expect(typeof sdk.startup).toBe('function');
    expect(await loadAgentSdk()).toBe(sdk);
  });
});
