import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { swapIn } from '../scripts/cli-bundle.mjs';
import { tempDir } from './support/temp-dir.js';

/** A build directory holding `files` (name → content). */
function build(dir: string, files: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

describe('swapIn (how a new CLI bundle replaces the last one)', () => {
  it("puts the new build in place whole: none of the old one's chunks stay, and nothing else is left beside it", () => {
    const root = tempDir('baton-swap-');
    const target = build(join(root, 'bundle'), { 'main.js': 'old', 'chunk-OLD.js': 'old chunk' });
    const staging = build(join(root, '.bundle-staging-1'), { 'main.js': 'new', 'chunk-NEW.js': 'new chunk' });
    swapIn(staging, target);
    expect(readdirSync(target).sort()).toEqual(['chunk-NEW.js', 'main.js']);
    expect(readFileSync(join(target, 'main.js'), 'utf8')).toBe('new');
    expect(readdirSync(root)).toEqual(['bundle']);
  });

  it('puts a first build in place where there was none', () => {
    const root = tempDir('baton-swap-');
    swapIn(build(join(root, 'staging'), { 'main.js': 'first' }), join(root, 'bundle'));
    expect(readFileSync(join(root, 'bundle', 'main.js'), 'utf8')).toBe('first');
    expect(readdirSync(root)).toEqual(['bundle']);
  });
});
