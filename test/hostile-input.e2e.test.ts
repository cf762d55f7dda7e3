import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { batonBin, runCli } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, BATON_DATA_DIR: join(dir, 'data') };

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const laughs = [
  'version: 1',
  'a: &a ["x","x","x","x","x","x","x","x","x"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
].join('\n');

describe('hostile files through the CLI: exit 2, file, line and a code, no stack trace', () => {
  it.each([
    ['billion laughs', 'laughs.yaml', laughs, /laughs\.yaml:3: \(syntax\): .*\[ALIAS_BOMB\]/],
    ['an undefined alias', 'alias.yaml', 'version: 1\nname: *nope\n', /alias\.yaml:2: .*\[BAD_ALIAS\]/],
    [
      '5,000-deep nesting',
      'deep.yaml',
      `version: 1\nname: ${'['.repeat(5000)}${']'.repeat(5000)}\n`,
      /deep\.yaml:2: .*\[RESOURCE_EXHAUSTION\]/,
    ],
    [
      'a 300-character agent id',
      'long-id.yaml',
      `version: 1\nname: x\nphases: [{ id: p, agents: [{ id: ${'a'.repeat(300)}, prompt: p }] }]\n`,
      /long-id\.yaml:3: phases\[0\]\.agents\[0\]\.id: at most 64 characters/,
    ],
    [
      'an MCP server env value too large for a process environment',
      'mcp-env.yaml',
      `version: 1\nname: x\nmcpServers:\n  s: { command: node, env: { BIG: ${'b'.repeat(200_000)} } }\nphases: [{ id: p, agents: [{ id: a, prompt: p, mcpServers: [s] }] }]\n`,
      /mcp-env\.yaml:4: mcpServers\.s\.env\.BIG: too large for a process environment/,
    ],
    [
      'a NUL in an MCP server argument',
      'mcp-arg.yaml',
      'version: 1\nname: x\nmcpServers:\n  s: { command: node, args: ["a\\0b"] }\nphases: [{ id: p, agents: [{ id: a, prompt: p, mcpServers: [s] }] }]\n',
      /mcp-arg\.yaml:4: mcpServers\.s\.args\[0\]: a command-line argument cannot hold a NUL character/,
    ],
    [
      'an approval timeout of 2^31 ms (past what the documented range allows)',
      'approval-timeout.yaml',
      'version: 1\nname: x\nphases:\n  - id: p\n    agents:\n      - { id: a, prompt: p, permissions: { approvalTimeoutMs: 2147483648 } }\n',
      /approval-timeout\.yaml:6: phases\[0\]\.agents\[0\]\.permissions\.approvalTimeoutMs: must be at most 2073600000/,
    ],
    [
      'a __proto__ key in an agent env (a map would drop it without a word)',
      'proto.yaml',
      'version: 1\nname: x\nphases:\n  - id: p\n    agents:\n      - id: a\n        prompt: p\n        env:\n          __proto__: x\n',
      /proto\.yaml:9: phases\[0\]\.agents\[0\]\.env\.__proto__: "__proto__" cannot be a key .*; rename it/,
    ],
    [
      'a wrong-typed MCP server entry',
      'mcp-type.yaml',
      'version: 1\nname: x\nmcpServers:\n  gh: { type: websocket, url: "ws://127.0.0.1:1" }\nphases: [{ id: p, agents: [{ id: a, prompt: p }] }]\n',
      /mcp-type\.yaml:4: mcpServers\.gh\.type: expected one of "stdio", "http", "sse"/,
    ],
  ])('baton run: %s', async (_name, name, text, expected) => {
    const result = await runCli(['run', file(name, text)], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error BATON_WORKFLOW_INVALID: /);
    expect(result.stderr).toMatch(expected);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('a device that never ends, named as a workflow, a config or a context export: refused at the size limit', async () => {
    for (const args of [
      ['plan', '/dev/zero'],
      ['config', 'check', '--config', '/dev/urandom'],
      ['context', 'import', '/dev/zero'],
    ]) {
      const result = await runCli(args, { env });
      expect([args, result.code]).toEqual([args, 2]);
      expect(result.stderr).toMatch(/\/dev\/(zero|urandom) is larger than \d+ bytes/);
    }
  });

  it('baton config check: a .json config with a trailing comma', async () => {
    const config = file('baton.config.json', '{\n  "parallel_limit": 4,\n}\n');
    const result = await runCli(['config', 'check', '--config', config], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error BATON_CONFIG_INVALID: .*\n {2}- .*baton\.config\.json:3: \(syntax\)/);
  });

  it('baton config check: a constructor key in a config map, named with its line', async () => {
    const config = file('proto.config.yaml', 'tenant_max_concurrent_agents:\n  acme: 2\n  constructor: 3\n');
    const result = await runCli(['config', 'check', '--config', config], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /proto\.config\.yaml:3: tenant_max_concurrent_agents\.constructor: "constructor" cannot be a key/,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('baton config check: BATON_PARALLEL_LIMIT=0x10 is refused, not read as 16', async () => {
    const result = await runCli(['config', 'check'], { env: { ...env, BATON_PARALLEL_LIMIT: '0x10' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/BATON_PARALLEL_LIMIT=0x10 is not a number/);
  });
});

describe('output to a closed pipe', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  it.each([['config check'], ['runs']])('baton %s | (a reader that is already gone) ends quietly', (args) => {
    // `true` exits at once, so every write of baton meets a closed pipe (EPIPE).
    const shell = spawnSync(
      'bash',
      ['-o', 'pipefail', '-c', `"${process.execPath}" "${batonBin}" ${args} | true; echo "exit=$?" >&2`],
      { env, encoding: 'utf8', cwd: root },
    );
    expect(shell.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(shell.stderr).toMatch(/exit=0/);
  });

  it('baton demo | (a reader that is already gone) still runs to its end, and exits with its code', async () => {
    // A directory of its own: other tests here leave hostile config files in theirs.
    const cwd = mkdtempSync(join(dir, 'piped-demo-'));
    const dataDir = join(cwd, 'data');
    const shell = spawnSync(
      'bash',
      [
        '-o',
        'pipefail',
        '-c',
        `"${process.execPath}" "${batonBin}" demo --data-dir "${dataDir}" 2>&1 | true; echo "exit=$?" >&2`,
      ],
      { env, encoding: 'utf8', cwd, timeout: 120_000 },
    );
    expect(shell.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(shell.stderr).toMatch(/exit=0/);
    const runs = JSON.parse((await runCli(['runs', '--json', '--data-dir', dataDir], { env })).stdout) as Array<{
      status: string;
    }>;
    expect(runs.map((r) => r.status)).toEqual(['succeeded']);
  });
});
