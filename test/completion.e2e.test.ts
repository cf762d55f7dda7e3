import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-completion-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, COLUMNS: '200' };

/** The command names `baton <path> --help` lists. */
async function helpCommands(path: string[]): Promise<string[]> {
  const { stdout } = await runCli([...path, '--help'], { env });
  const section = stdout.slice(stdout.indexOf('Commands:\n') + 'Commands:\n'.length);
  return section
    .split('\n')
    .map((line) => /^ {2}(\S+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'help');
}

/** What bash offers after `baton <typed> <cur>` with the generated script sourced. */
function bashCompletes(script: string, typed: string[], cur = ''): string[] {
  const words = ['baton', ...typed, cur].map((w) => `'${w}'`).join(' ');
  const program = `source ${script}; COMP_WORDS=(${words}); COMP_CWORD=${typed.length + 1}; _baton_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', program], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('baton completion', () => {
  it('bash: offers every command and every subcommand the CLI has (generated from the commander tree)', async () => {
    const generated = await runCli(['completion', 'bash'], { env });
    expect(generated.code, generated.stderr).toBe(0);
    const script = join(dir, 'baton.bash');
    writeFileSync(script, generated.stdout);

    const top = await helpCommands([]);
    expect(top).toEqual(expect.arrayContaining(['run', 'init', 'plan', 'completion', 'mcp', 'sessions']));
    const offered = bashCompletes(script, []);
    expect(offered.filter((w) => !w.startsWith('-')).sort()).toEqual([...top].sort());
    expect(offered).toEqual(expect.arrayContaining(['--version', '--help']));

    for (const group of ['config', 'mcp', 'bridge', 'sessions', 'kg', 'context']) {
      const sub = await helpCommands([group]);
      expect(sub.length, group).toBeGreaterThan(0);
      expect(
        bashCompletes(script, [group])
          .filter((w) => !w.startsWith('-'))
          .sort(),
        group,
      ).toEqual([...sub].sort());
    }
    expect(bashCompletes(script, ['run', 'wf.yaml'], '--mo')).toEqual(['--model-script']);
    expect(bashCompletes(script, ['mcp', 'check'], '--')).toEqual(
      expect.arrayContaining(['--workflow', '--json', '--help']),
    );
  }, 180_000);

  it('zsh and fish scripts name every top-level command; an unknown shell is a usage error', async () => {
    const top = await helpCommands([]);
    for (const shell of ['zsh', 'fish']) {
      const { code, stdout } = await runCli(['completion', shell], { env });
      expect(code).toBe(0);
      for (const name of top) expect(stdout, `${shell}: ${name}`).toContain(`'${name}`);
    }
    const wrong = await runCli(['completion', 'powershell'], { env });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('choose one of: bash, zsh, fish');
  }, 120_000);
});
