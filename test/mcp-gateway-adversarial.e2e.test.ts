import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../src/api/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli } from './support/cli.js';
import { nodeServerYaml, toolThenText } from './support/mcp-servers.js';
import { agentProcessesWithEnv, mcpServerProcessesWithEnv } from './support/processes.js';
import { useScriptedModel } from './support/scripted-model.js';

// The held-out side of issue 19: what an agent sees of a shared server should not depend on whether
// it is shared (scope run) or its own (scope agent), except its working directory.

const faultServer = fileURLToPath(new URL('./fixtures/fault-mcp-server.mjs', import.meta.url));

const model = useScriptedModel(
  {
    rules: [
      ...toolThenText('Ask the shared one', { name: 'mcp__shared__env', input: { name: 'AMBIENT_MARK' } }, 'Asked.'),
      ...toolThenText('Ask the own one', { name: 'mcp__own__env', input: { name: 'AMBIENT_MARK' } }, 'Asked.'),
      ...toolThenText('Ask what it was given', { name: 'mcp__shared__env', input: { name: 'GIVEN' } }, 'Asked.'),
    ],
    default: { text: 'OK' },
  },
  'baton-gateway-adv-',
);

const dataDir = () => join(model.home.dir, 'data');
const env = (extra: Record<string, string> = {}) =>
  model.home.cliEnv(model.url, {
    BATON_DATA_DIR: dataDir(),
    ENABLE_TOOL_SEARCH: 'false',
    MCP_TIMEOUT: '60000',
    ...extra,
  });

function workflow(name: string, servers: string[], phases: string): string {
  mkdirSync(model.home.dir, { recursive: true });
  const path = join(model.home.dir, `${name}.yaml`);
  writeFileSync(path, `version: 1\nname: ${name}\nmcpServers:\n${servers.join('\n')}\nphases:\n${phases}`);
  return path;
}

describe('MCP gateway, held-out variants with real agents', () => {
  it('a shared server sees the environment Baton runs in, as the same server started per agent does', async () => {
    const path = workflow(
      'ambient',
      [
        `  shared: { ${nodeServerYaml(faultServer, ['--env-tool'])} }`,
        `  own: { ${nodeServerYaml(faultServer, ['--env-tool'])}, scope: agent }`,
      ],
      `  - id: one
    agents:
      - { id: sharer, prompt: Ask the shared one, mcpServers: [shared] }
      - { id: owner, prompt: Ask the own one, mcpServers: [own] }
`,
    );
    const { code, stdout, stderr } = await runCli(['run', path, '--json'], { env: env({ AMBIENT_MARK: 'ambient-7' }) });
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(0);
    const agents = (JSON.parse(stdout) as RunSummary).phases.flatMap((p) => p.agents);
    const answer = (id: string) =>
      model.server.messageRequests(agents.find((a) => a.id === id)!.sessionId)[1]!.view!.last;
    expect(answer('owner')).toContain('ambient-7');
    expect(answer('sharer')).toContain('ambient-7');
    expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
    expect(agentProcessesWithEnv(model.home.dir)).toEqual([]);
  });

  it('run() from the API: the environment it gives agents reaches a shared server, and ${VAR} in its entry is read from it', async () => {
    const path = workflow(
      'api-env',
      [`  shared: { ${nodeServerYaml(faultServer, ['--env-tool'])}, env: { GIVEN: "\${API_ONLY_MARK}-given" } }`],
      `  - id: one
    agents:
      - { id: sharer, prompt: Ask the shared one, mcpServers: [shared] }
      - { id: given, prompt: Ask what it was given, mcpServers: [shared] }
`,
    );
    const options = {
      env: env({ AMBIENT_MARK: 'api-ambient-3', API_ONLY_MARK: 'api-only-5' }) as Record<string, string>,
      dataDir: dataDir(),
      cwd: model.home.dir,
    };
    const summary = await run(path, options).result;
    expect(summary.status).toBe('succeeded');
    const agents = summary.phases.flatMap((p) => p.agents);
    const answer = (id: string) =>
      model.server.messageRequests(agents.find((a) => a.id === id)!.sessionId)[1]!.view!.last;
    expect(answer('sharer')).toContain('api-ambient-3');
    expect(answer('given')).toContain('api-only-5-given');
    expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
  });
});
