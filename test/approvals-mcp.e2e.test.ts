// Issue 15 held-out: permission rules and approvals for MCP tools whose server is shared through the
// run's gateway (scope: run), on real claude agents against the scripted model and the real memory server.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApprovalRecord } from '../src/core/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { launchDateRules, mcpCliEnv, nodeServerYaml, npmServers, toolThenText } from './support/mcp-servers.js';
import { mcpServerProcessesWithEnv } from './support/processes.js';
import { useScriptedModel } from './support/scripted-model.js';
import { writeFileSync } from 'node:fs';

const model = useScriptedModel(
  {
    rules: [
      ...launchDateRules,
      ...toolThenText(
        'Wipe the memory',
        { name: 'mcp__memory__delete_entities', input: { entityNames: ['Launch'] } },
        'Wiped.',
      ),
    ],
    default: { text: 'OK' },
  },
  'baton-appr-mcp-e2e-',
);

const env = () => mcpCliEnv(model);

describe('approvals for MCP tools through the gateway (real claude, real memory server)', () => {
  it('asks for a matching tool of a shared server, denies by a prefix rule, and the approved call lands on the server', async () => {
    const path = join(model.home.dir, 'governed-mcp.yaml');
    writeFileSync(
      path,
      `version: 1
name: governed-mcp
mcpServers:
  memory: { ${nodeServerYaml(npmServers.memory)}, env: { MEMORY_FILE_PATH: ${join(model.home.dir, 'memory.json')} }, scope: run }
defaults:
  permissions: { ask: ["mcp__memory__create_*"], deny: ["mcp__memory__delete_*"] }
phases:
  - id: write
    agents:
      - { id: keeper, prompt: Store the launch, mcpServers: [memory] }
      - { id: wiper, prompt: Wipe the memory, mcpServers: [memory] }
  - { id: read, dependsOn: [write], agents: [{ id: reader, prompt: Read the launch, mcpServers: [memory] }] }
`,
    );
    const run = startCli(['run', path, '--json'], { env: env() });
    const asked = await waitFor(
      async () => {
        const { stdout } = await runCli(['approvals', '--json'], { env: env() });
        return (JSON.parse(stdout) as ApprovalRecord[])[0];
      },
      120_000,
      'the keeper to wait for approval',
    );
    expect(asked).toMatchObject({
      agentId: 'keeper',
      tool: 'mcp__memory__create_entities',
      rule: 'mcp__memory__create_*',
    });
    expect(asked.summary).toContain('set for March 3');
    expect((await runCli(['approve', asked.id, '--message', 'Mark it tentative'], { env: env() })).code).toBe(0);

    const { code, stdout, stderr } = await run.output;
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(0);
    const agents = (JSON.parse(stdout) as RunSummary).phases.flatMap((p) => p.agents);
    const told = (id: string) =>
      model.server.messageRequests(agents.find((a) => a.id === id)!.sessionId).map((r) => JSON.stringify(r.body));
    // Denied by the prefix rule, and told which; so the entity the keeper stored is still there for the reader.
    expect(told('wiper')[1]).toContain('mcp__memory__delete_*');
    expect(told('keeper')[1]).toContain('approved this mcp__memory__create_entities call: Mark it tentative');
    expect(told('reader')[1]).toContain('set for March 3');
    const audit = JSON.parse((await runCli(['audit', '--json'], { env: env() })).stdout) as Array<{
      action: string;
      details: { agentId?: string; tool?: string };
    }>;
    const decided = audit.map((e) => `${e.action} ${e.details.agentId ?? ''} ${e.details.tool ?? ''}`);
    expect(decided).toEqual(
      expect.arrayContaining([
        'approval.approved keeper mcp__memory__create_entities',
        'tool.denied wiper mcp__memory__delete_entities',
        'tool.allowed reader mcp__memory__read_graph',
      ]),
    );
    expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
  }, 180_000);
});
