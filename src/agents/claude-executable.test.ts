import { accessSync, constants } from 'node:fs';
import { basename, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundledClaude } from './claude-executable.js';

describe('bundledClaude', () => {
  it('finds the executable claude of the Agent SDK package for this platform', () => {
    const path = bundledClaude();
    expect(path).toBeDefined();
    expect(basename(path!)).toBe(process.platform === 'win32' ? 'claude.exe' : 'claude');
    expect(basename(dirname(path!))).toMatch(new RegExp(`^claude-agent-sdk-${process.platform}-${process.arch}`));
    expect(() => accessSync(path!, constants.X_OK)).not.toThrow();
  });

  it('looks once per process: the same answer without searching again', () => {
    expect(bundledClaude()).toBe(bundledClaude());
  });
});
