import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { npxBaton } from './init.js';

const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const outside = mkdtempSync(join(tmpdir(), 'baton-npx-'));
afterAll(() => rmSync(outside, { recursive: true, force: true }));

describe('npxBaton', () => {
  it('is plain npx baton inside Baton’s own package, and names its prefix anywhere else', () => {
    expect(npxBaton(join(root, 'examples', 'quick-start'))).toBe('npx baton');
    expect(npxBaton(join(outside, 'my-project'))).toBe(`npx --prefix ${root} baton`);
  });
});
