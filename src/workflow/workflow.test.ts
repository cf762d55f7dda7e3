import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadWorkflow, parseWorkflow, resolveAgent } from './index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const valid = `version: 1
name: review
description: Review the code
defaults:
  model: claude-sonnet-4-5
  timeoutMs: 60000
  allowedTools: [Read, Grep]
  maxTurns: 5
mcpServers:
  memory: { command: npx, args: [-y, '@modelcontextprotocol/server-memory'] }
  web: { type: http, url: 'http://localhost:3000/mcp', headers: { Authorization: Bearer x } }
phases:
  - id: scan
    agents:
      - id: scanner
        prompt: Scan the code
        mcpServers: [memory]
        cwd: src
      - id: fast
        prompt: Skim it
        model: claude-haiku-4-5
        allowedTools: []
        timeoutMs: 1000
        env: { MODE: quick }
        outputSchema: { type: object }
  - id: report
    dependsOn: [scan]
    agents: [{ id: writer, prompt: Write it up, systemPrompt: You write reports. }]
`;

/** The error message of parsing `text`, which must fail. */
function errorOf(text: string): string {
  try {
    parseWorkflow(text, 'wf.yaml');
  } catch (error) {
    expect(error).toMatchObject({ code: 'BATON_WORKFLOW_INVALID' });
    return (error as Error).message;
  }
  throw new Error('expected the workflow to be rejected');
}

describe('workflow loading', () => {
  it('checks a long chain of phases without overflowing the stack, and refuses more phases than it takes', () => {
    const chain = (n: number, cycle = false): string =>
      `version: 1\nname: chain\nphases:\n${Array.from(
        { length: n },
        (_, i) =>
          `  - { id: p${i}, ${i > 0 ? `dependsOn: [p${i - 1}], ` : cycle ? `dependsOn: [p${n - 1}], ` : ''}agents: [{ id: a${i}, prompt: hi }] }\n`,
      ).join('')}`;
    expect(parseWorkflow(chain(1000), 'wf.yaml').phases).toHaveLength(1000);
    expect(errorOf(chain(1000, true))).toMatch(/cycle.*p0 -> p999 -> p998/);
    expect(errorOf(chain(20_000))).toContain('phases: at most 1000 phases; give a phase more agents');
  });

  it('loads a valid workflow', () => {
    const workflow = parseWorkflow(valid, 'wf.yaml');
    expect(workflow.phases.map((p) => p.id)).toEqual(['scan', 'report']);
    expect(workflow.mcpServers?.web).toEqual({
      type: 'http',
      url: 'http://localhost:3000/mcp',
      headers: { Authorization: 'Bearer x' },
    });
  });

  it("resolves an agent: defaults apply, the agent's own settings win, paths resolve against the file", () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-wf-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'wf.yaml'), valid);
    const { workflow, path, dir: workflowDir } = loadWorkflow(join(dir, 'wf.yaml'));
    expect(path).toBe(join(dir, 'wf.yaml'));
    const [scan, report] = workflow.phases;
    expect(resolveAgent(workflow, scan!, scan!.agents[0]!, workflowDir)).toEqual({
      id: 'scanner',
      phaseId: 'scan',
      prompt: 'Scan the code',
      systemPrompt: undefined,
      model: 'claude-sonnet-4-5',
      timeoutMs: 60000,
      maxBudgetUsd: undefined,
      maxTurns: 5,
      allowedTools: ['Read', 'Grep'],
      disallowedTools: undefined,
      permissionLevels: [undefined, undefined, undefined],
      cwd: join(dir, 'src'),
      env: {},
      mcpServers: ['memory'],
      onMcpUnavailable: 'degrade',
      inherit: 'filtered',
      outputSchema: undefined,
    });
    expect(resolveAgent(workflow, scan!, scan!.agents[1]!, workflowDir)).toMatchObject({
      model: 'claude-haiku-4-5',
      allowedTools: [],
      timeoutMs: 1000,
      cwd: dir,
      env: { MODE: 'quick' },
      mcpServers: undefined,
      outputSchema: { type: 'object' },
    });
    expect(resolveAgent(workflow, report!, report!.agents[0]!, workflowDir).systemPrompt).toBe('You write reports.');
  });

  it('names a missing required field and its line', () => {
    expect(errorOf('version: 1\nname: x\nphases:\n  - id: a\n    agents:\n      - id: b\n')).toMatch(
      /wf\.yaml:6: phases\[0\]\.agents\[0\]\.prompt: required field is missing/,
    );
  });

  it('says what to write for an empty name or model, with its line', () => {
    const message = errorOf(
      'version: 1\nname: ""\nphases:\n  - { id: a, agents: [{ id: b, prompt: p, model: "" }] }\n',
    );
    expect(message).toContain('wf.yaml:2: name: must not be empty');
    expect(message).toContain('wf.yaml:4: phases[0].agents[0].model: must not be empty');
  });

  it('names an unknown field on its own line', () => {
    expect(
      errorOf('version: 1\nname: x\nphases:\n  - id: a\n    dependson: [b]\n    agents: [{ id: c, prompt: p }]\n'),
    ).toMatch(/wf\.yaml:5: phases\[0\]\.dependson: unknown field/);
  });

  it('rejects a wrong version and a bad id', () => {
    expect(errorOf('version: 2\nname: x\nphases: [{ id: a, agents: [{ id: b, prompt: p }] }]\n')).toMatch(
      /wf\.yaml:1: version: only version: 1 exists/,
    );
    expect(errorOf('name: x\nphases: [{ id: a, agents: [{ id: b, prompt: p }] }]\n')).toMatch(
      /version: required field is missing \(expected 1\)/,
    );
    expect(errorOf('version: 1\nname: x\nphases: [{ id: "a b", agents: [{ id: b, prompt: p }] }]\n')).toMatch(
      /phases\[0\]\.id: use letters, digits/,
    );
  });

  it('rejects a permission rule it cannot read and a gate that gates nothing, naming the field', () => {
    const message = errorOf(`version: 1
name: x
defaults:
  permissions: { allow: ["Bash(npm test"] }
phases:
  - id: a
    approval: { message: look first }
    agents:
      - { id: b, prompt: p, permissions: { deny: ["Glob(src/**)"], default: maybe } }
`);
    expect(message).toMatch(/wf\.yaml:4: defaults\.permissions\.allow\[0\]: "Bash\(npm test" is missing its closing/);
    expect(message).toMatch(/phases\[0\]\.approval: an approval gate needs before: true or after: true/);
    expect(message).toMatch(/phases\[0\]\.agents\[0\]\.permissions\.deny\[0\]: "Glob\(src\/\*\*\)": only Bash/);
    expect(message).toMatch(/phases\[0\]\.agents\[0\]\.permissions\.default/);
  });

  it('refuses an outputSchema that is not a JSON Schema, naming the field; one naming its draft is checked by its keywords', () => {
    const message = errorOf(`version: 1
name: x
phases:
  - id: a
    agents:
      - { id: b, prompt: p, outputSchema: { type: 5, properties: [1] } }
      - { id: c, prompt: p, outputSchema: { $schema: "https://json-schema.org/draft/2020-12/schema", type: object, required: [files] } }
      - { id: d, prompt: p, outputSchema: { type: strin } }
`);
    expect(message).toMatch(
      /wf\.yaml:6: phases\[0\]\.agents\[0\]\.outputSchema: is not a valid JSON Schema: \/properties must be object/,
    );
    expect(message).not.toContain('agents[1]');
    expect(message).toMatch(/agents\[2\]\.outputSchema: is not a valid JSON Schema: \/type/);
  });

  it('names the choices for a mistyped aggregate shorthand, as for the object form', () => {
    for (const aggregate of ['judgee', '{ strategy: judgee }']) {
      const message = errorOf(
        `version: 1\nname: x\nphases:\n  - { id: a, aggregate: ${aggregate}, agents: [{ id: b, prompt: p }] }\n`,
      );
      expect(message).toMatch(
        /phases\[0\]\.aggregate\.strategy: expected one of "concat"\|"merge"\|"vote"\|"judge"\|"reduce"/,
      );
    }
  });

  it('refuses repo on a phase that is not workspace: worktree, as it refuses merge there', () => {
    const message = errorOf(
      'version: 1\nname: x\nphases:\n  - { id: a, repo: ../other, agents: [{ id: b, prompt: p }] }\n',
    );
    expect(message).toMatch(/phases\[0\]\.repo: repo names the repository of a workspace: worktree phase/);
  });

  it('checks allowedTools and disallowedTools as the rules they become: one that cannot match is refused, not dropped', () => {
    const message = errorOf(`version: 1
name: x
phases:
  - id: a
    agents:
      - { id: b, prompt: p, allowedTools: [Bash], disallowedTools: ["Bash(rm -rf:*", "Bash*", ""] }
`);
    expect(message).toMatch(/agents\[0\]\.disallowedTools\[0\]: "Bash\(rm -rf:\*" is missing its closing/);
    expect(message).toMatch(/agents\[0\]\.disallowedTools\[1\]: "Bash\*": a \* goes only at the end of an MCP tool/);
    expect(message).toMatch(/agents\[0\]\.disallowedTools\[2\]: "" is not a rule/);
  });

  it('rejects duplicate phase ids and agent ids across phases, saying where the first one is', () => {
    const message = errorOf(`version: 1
name: x
phases:
  - id: a
    agents: [{ id: same, prompt: p }]
  - id: a
    agents:
      - { id: same, prompt: q }
`);
    expect(message).toMatch(/wf\.yaml:6: phases\[1\]\.id: duplicate phase id "a" \(first used by phases\[0\]\)/);
    expect(message).toMatch(
      /wf\.yaml:8: phases\[1\]\.agents\[0\]\.id: duplicate agent id "same" \(first used by phases\[0\]\.agents\[0\]\)/,
    );
  });

  it('rejects an unknown dependency, listing the phases', () => {
    expect(
      errorOf(
        'version: 1\nname: x\nphases:\n  - { id: a, agents: [{ id: b, prompt: p }] }\n  - { id: c, dependsOn: [a, nope], agents: [{ id: d, prompt: p }] }\n',
      ),
    ).toMatch(/wf\.yaml:5: phases\[1\]\.dependsOn\[1\]: unknown phase "nope"; phases are: a, c/);
  });

  it('rejects a dependency cycle, naming its whole path', () => {
    const message = errorOf(`version: 1
name: x
phases:
  - { id: a, dependsOn: [c], agents: [{ id: x1, prompt: p }] }
  - { id: b, dependsOn: [a], agents: [{ id: x2, prompt: p }] }
  - { id: c, dependsOn: [b], agents: [{ id: x3, prompt: p }] }
`);
    expect(message).toMatch(/wf\.yaml:4: phases\[0\]\.dependsOn: dependency cycle: a -> c -> b -> a/);
    expect(
      errorOf('version: 1\nname: x\nphases:\n  - { id: a, dependsOn: [a], agents: [{ id: b, prompt: p }] }\n'),
    ).toMatch(/phase "a" cannot depend on itself/);
  });

  it('rejects a when or foreach that names a phase it does not depend on', () => {
    const message = errorOf(`version: 1
name: x
phases:
  - { id: a, agents: [{ id: x1, prompt: p }] }
  - id: b
    when: { phase: a, field: ok, equals: true }
    agents:
      - { id: x2, prompt: p, foreach: { phase: a, field: files } }
`);
    expect(message).toMatch(
      /wf\.yaml:6: phases\[1\]\.when\.phase: when names phase "a", which this phase does not depend on; add it to dependsOn/,
    );
    expect(message).toMatch(/wf\.yaml:8: phases\[1\]\.agents\[0\]\.foreach\.phase: foreach names phase "a"/);
  });

  it('accepts swarms, conditions, aggregation and plans, and rejects their misuse', () => {
    const workflow = parseWorkflow(
      `version: 1
name: x
priority: 5
phases:
  - { id: scan, agents: [{ id: s, prompt: p, outputSchema: { type: object } }] }
  - id: review
    dependsOn: [scan]
    when: { phase: scan, field: files, exists: true }
    aggregate: { strategy: vote, field: verdict }
    agents:
      - { id: r, prompt: "review {{item}}", foreach: { phase: scan, field: files } }
      - { id: t, prompt: "test {{index}}", count: 3 }
  - { id: plan, plan: { maxGenerations: 2 }, agents: [{ id: planner, prompt: plan it }] }
  - { id: sum, dependsOn: [review], aggregate: judge, workspace: worktree, agents: [{ id: j, prompt: p, count: 2 }] }
`,
      'wf.yaml',
    );
    expect(workflow.priority).toBe(5);
    expect(workflow.phases[1]?.aggregate).toEqual({ strategy: 'vote', field: 'verdict', fanIn: 4 });
    expect(workflow.phases[3]?.aggregate).toEqual({ strategy: 'judge', fanIn: 4 });
    expect(workflow.phases[2]?.plan).toEqual({ maxGenerations: 2, maxTasks: 20 });
    expect(
      errorOf('version: 1\nname: x\nphases:\n  - { id: a, aggregate: vote, agents: [{ id: b, prompt: p }] }\n'),
    ).toMatch(/phases\[0\]\.aggregate\.field: vote needs `field`/);
    expect(
      errorOf('version: 1\nname: x\nphases:\n  - { id: a, agents: [{ id: b, prompt: p, count: 2, foreach: [1] }] }\n'),
    ).toMatch(/give either count or foreach, not both/);
    expect(
      errorOf(
        'version: 1\nname: x\nphases:\n  - { id: a, plan: {}, agents: [{ id: b, prompt: p }, { id: c, prompt: q }] }\n',
      ),
    ).toMatch(/a plan phase has exactly one agent/);
    expect(
      errorOf('version: 1\nname: x\nphases:\n  - { id: a, aggregate: blend, agents: [{ id: b, prompt: p }] }\n'),
    ).toMatch(/phases\[0\]\.aggregate\.strategy/);
  });

  it('accepts merge on a worktree phase with its defaults, and rejects it elsewhere with the fix', () => {
    const workflow = parseWorkflow(
      `version: 1
name: x
phases:
  - id: edit
    workspace: worktree
    merge: { verify: "npm test", onConflict: agent, order: smallest-first }
    agents: [{ id: a, prompt: p }]
`,
      'wf.yaml',
    );
    expect(workflow.phases[0]?.merge).toEqual({
      into: 'baton/{{run8}}/{{phase}}',
      verify: { command: 'npm test', timeoutMs: 600_000 },
      verifyEach: false,
      verifyBatch: false,
      order: 'smallest-first',
      onConflict: 'agent',
      onVerifyFailure: 'skip',
      pr: false,
    });
    expect(errorOf('version: 1\nname: x\nphases:\n  - { id: a, merge: {}, agents: [{ id: b, prompt: p }] }\n')).toMatch(
      /wf\.yaml:4: phases\[0\]\.merge: merge merges the branches of a workspace: worktree phase; add `workspace: worktree`/,
    );
    expect(
      errorOf(
        'version: 1\nname: x\nphases:\n  - { id: a, workspace: worktree, merge: { verifyEach: true }, agents: [{ id: b, prompt: p }] }\n',
      ),
    ).toMatch(/phases\[0\]\.merge\.verifyEach: verifyEach runs `verify` on each branch: give verify a command too/);
    // A placeholder no run fills in would become part of the branch's name.
    for (const into of ['{{nope}}/x', '{{Phase}}/{{run8}}'])
      expect(
        errorOf(
          `version: 1\nname: x\nphases:\n  - { id: a, workspace: worktree, merge: { into: "${into}" }, agents: [{ id: b, prompt: p }] }\n`,
        ),
      ).toMatch(
        /wf\.yaml:4: phases\[0\]\.merge\.into: a placeholder other than \{\{run8\}\}, \{\{runId\}\} and \{\{phase\}\}/,
      );
    expect(
      errorOf(
        'version: 1\nname: x\nphases:\n  - { id: a, workspace: worktree, merge: { verifyBatch: true }, agents: [{ id: b, prompt: p }] }\n',
      ),
    ).toMatch(
      /phases\[0\]\.merge\.verifyBatch: verifyBatch runs `verify` on the merged branches: give verify a command too/,
    );
    expect(
      errorOf(
        'version: 1\nname: x\nphases:\n  - { id: a, workspace: worktree, merge: { onConflict: theirs }, agents: [{ id: b, prompt: p }] }\n',
      ),
    ).toMatch(/phases\[0\]\.merge\.onConflict/);
    expect(
      errorOf(
        'version: 1\nname: x\nphases:\n  - { id: a, workspace: worktree, merge: { verify: { command: t, timeoutMs: -1 } }, agents: [{ id: b, prompt: p }] }\n',
      ),
    ).toMatch(/phases\[0\]\.merge\.verify\.timeoutMs/);
  });

  it('rejects an agent naming an MCP server the workflow does not declare', () => {
    expect(
      errorOf(
        'version: 1\nname: x\nmcpServers: { memory: { command: npx } }\nphases:\n  - id: a\n    agents:\n      - { id: b, prompt: p, mcpServers: [memory, github] }\n',
      ),
    ).toMatch(/wf\.yaml:7: phases\[0\]\.agents\[0\]\.mcpServers\[1\]: unknown MCP server "github"; known: memory/);
  });

  it('rejects an MCP server of neither stdio nor http/sse shape', () => {
    expect(
      errorOf(
        'version: 1\nname: x\nmcpServers:\n  web: { type: http }\nphases: [{ id: a, agents: [{ id: b, prompt: p }] }]\n',
      ),
    ).toMatch(/wf\.yaml:4: mcpServers\.web/);
  });

  it.each([
    ['5', /mcpServers\.web: expected object, received number/],
    ['{ command: 3 }', /mcpServers\.web\.command: must be text \(a string\), not 3/],
    ['{ type: websocket, url: "ws://h" }', /mcpServers\.web\.type: expected one of "stdio", "http", "sse"/],
    ['{ type: http }', /mcpServers\.web\.url: required field is missing \(expected string\)/],
    ['{ command: x, env: { A: 3 } }', /mcpServers\.web\.env\.A: must be text \(a string\), not 3/],
  ])('names the server, the field and what it expects for MCP server %s', (entry, expected) => {
    const message = errorOf(
      `version: 1\nname: x\nmcpServers:\n  web: ${entry}\nphases: [{ id: a, agents: [{ id: b, prompt: p }] }]\n`,
    );
    expect(message).toMatch(expected);
    expect(message).not.toContain('Invalid input');
  });

  it('names the field of a foreach of neither shape', () => {
    const message = errorOf(
      'version: 1\nname: x\nphases:\n  - id: a\n    agents: [{ id: b, prompt: p, foreach: 5 }]\n',
    );
    expect(message).toMatch(/phases\[0\]\.agents\[0\]\.foreach: expected array or object, received number/);
  });

  it('says what to write for a value of the wrong type a newcomer gives: 5m, a rule as a string, approval: true', () => {
    const message = errorOf(`version: 1
name: x
defaults:
  allowedTools: Bash
  permissions: { ask: "Bash(rm -rf:*)", approvalTimeoutMs: 1h }
phases:
  - id: a
    approval: true
    agents: [{ id: b, prompt: p, timeoutMs: 5m }]
  - id: c
    agents: [{ id: d }]
`);
    expect(message).toContain(
      'wf.yaml:4: defaults.allowedTools: expected a list of tool names or rules, such as [Read, Bash], received string',
    );
    expect(message).toContain(
      'defaults.permissions.ask: expected a list of rules, such as ["Bash(rm -rf:*)"], received string',
    );
    expect(message).toContain(
      'defaults.permissions.approvalTimeoutMs: expected a whole number of milliseconds (5 minutes is 300000), received string',
    );
    expect(message).toContain(
      'wf.yaml:8: phases[0].approval: expected { before: true } or { after: true } (or both, with a message), received boolean',
    );
    expect(message).toContain('phases[0].agents[0].timeoutMs: expected a whole number of milliseconds');
    // A missing field is still reported as missing, and a range as its range.
    expect(message).toContain('phases[1].agents[0].prompt: required field is missing (expected string)');
    expect(
      errorOf('version: 1\nname: x\nphases: [{ id: a, agents: [{ id: b, prompt: p, timeoutMs: 0 }] }]\n'),
    ).toContain('timeoutMs: must be at least 1 (range 1–86400000)');
    const budget = (value: string) =>
      errorOf(`version: 1\nname: x\nbudgetUsd: ${value}\nphases: [{ id: a, agents: [{ id: b, prompt: p }] }]\n`);
    expect(budget('0')).toContain('wf.yaml:3: budgetUsd: must be above 0 USD');
    expect(budget('$5')).toContain('budgetUsd: expected an amount of USD, such as 5 or 0.5, received string');
  });

  it('takes plan.maxTasks within 1..1000, naming the field otherwise', () => {
    const wf = (plan: string) =>
      `version: 1\nname: x\nphases:\n  - id: a\n    plan: ${plan}\n    agents: [{ id: b, prompt: p }]\n`;
    expect(errorOf(wf('{ maxTasks: 0 }'))).toMatch(/wf\.yaml:5: phases\[0\]\.plan\.maxTasks: must be at least 1/);
    expect(errorOf(wf('{ maxTasks: 1001 }'))).toMatch(/phases\[0\]\.plan\.maxTasks: must be at most 1000/);
    expect(errorOf(wf('{ maxTasks: many }'))).toMatch(/phases\[0\]\.plan\.maxTasks: /);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(errorOf('version: 1\nname: x\nphases:\n  - id: a\n   agents: [\n')).toMatch(
      /Workflow is not valid YAML:\n\s+- wf\.yaml:5: \(syntax\)/,
    );
    expect(errorOf('version: 1\nname: x\nphases:\n  - id: a\n    agents: [{ id: b, prompt: "p }]\n')).toMatch(
      /wf\.yaml:6: \(syntax\): Missing closing "quote/,
    );
  });

  it('reports field errors and reference errors of a file together, in one pass', () => {
    const message = errorOf(
      'version: 1\nname: x\nphases:\n  - id: a\n    agents: [{ id: w, promt: p }]\n  - id: b\n    dependsOn: [sruvey]\n    agents: [{ id: w, prompt: p }]\n',
    );
    expect(message).toMatch(/wf\.yaml:5: phases\[0\]\.agents\[0\]\.prompt: required field is missing/);
    expect(message).toMatch(/wf\.yaml:5: phases\[0\]\.agents\[0\]\.promt: unknown field/);
    expect(message).toMatch(/wf\.yaml:7: phases\[1\]\.dependsOn\[0\]: unknown phase "sruvey"/);
    expect(message).toMatch(/wf\.yaml:8: phases\[1\]\.agents\[0\]\.id: duplicate agent id "w"/);
  });

  it('refuses an id too long for a file or branch name (300 characters)', () => {
    const id = 'a'.repeat(300);
    expect(errorOf(`version: 1\nname: x\nphases: [{ id: p, agents: [{ id: ${id}, prompt: p }] }]\n`)).toMatch(
      /phases\[0\]\.agents\[0\]\.id: at most 64 characters/,
    );
    expect(() =>
      parseWorkflow(
        `version: 1\nname: x\nphases: [{ id: p, agents: [{ id: ${'a'.repeat(64)}, prompt: p }] }]\n`,
        'wf.yaml',
      ),
    ).not.toThrow();
  });

  it('refuses env values too large for a process environment, naming the field', () => {
    const big = 'x'.repeat(300 * 1024);
    expect(
      errorOf(`version: 1\nname: x\nphases: [{ id: p, agents: [{ id: a, prompt: p, env: { BIG: ${big} } }] }]\n`),
    ).toMatch(/phases\[0\]\.agents\[0\]\.env\.BIG: too large for a process environment/);
    expect(
      errorOf('version: 1\nname: x\nphases: [{ id: p, agents: [{ id: a, prompt: p, env: { "A=B": x } }] }]\n'),
    ).toMatch(/env\.A=B: invalid key: an environment variable name/);
  });

  it('refuses a timeoutMs of 2^31 ms or more, which a timer would fire at once', () => {
    expect(
      errorOf(
        'version: 1\nname: x\ndefaults: { timeoutMs: 2147483648 }\nphases: [{ id: p, agents: [{ id: a, prompt: p }] }]\n',
      ),
    ).toMatch(/wf\.yaml:3: defaults\.timeoutMs: must be at most 86400000 \(range 1–86400000\)/);
  });

  it('reports a file that does not exist', () => {
    expect(() => loadWorkflow('/no/such/wf.yaml')).toThrow(/Workflow file \/no\/such\/wf\.yaml does not exist/);
  });
});
