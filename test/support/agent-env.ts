import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentEnvironment } from '../../src/agents/index.js';

/** The API key tests' agents send, and their scripted model servers require. */
export const TEST_API_KEY = 'sk-baton-test';

/** A throwaway HOME / Claude config dir, so tests never read or write the developer's real ones. */
export interface IsolatedHome {
  dir: string;
  /** Environment for an agent process talking to the scripted model at `modelUrl`. */
  agentEnv(modelUrl: string, extra?: Record<string, string>): Record<string, string>;
  /** Environment for a `baton` CLI child process (its agents inherit it). */
  cliEnv(modelUrl: string, extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** Writes a workflow file of its own (`workflow-<n>.yaml`) into the home; returns its path. */
  writeWorkflow(yaml: string): string;
  remove(): void;
}

export function isolatedHome(prefix = 'baton-test-'): IsolatedHome {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const base = (modelUrl: string): Record<string, string> => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    CLAUDE_CONFIG_DIR: join(dir, '.claude'),
    ANTHROPIC_BASE_URL: modelUrl,
    ANTHROPIC_API_KEY: TEST_API_KEY,
    // A marker to find this test's processes (orphan checks).
    BATON_TEST_HOME: dir,
  });
  let workflows = 0;
  return {
    dir,
    writeWorkflow: (yaml) => {
      const path = join(dir, `workflow-${++workflows}.yaml`);
      writeFileSync(path, yaml);
      return path;
    },
    agentEnv: (modelUrl, extra = {}) => agentEnvironment(base(modelUrl), extra),
    cliEnv: (modelUrl, extra = {}) => ({ ...base(modelUrl), ...extra }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
