import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApprovalRecord } from '../src/core/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { useScriptedModel } from './support/scripted-model.js';

const model = useScriptedModel(
  {
    rules: [
      // The cleaner tries a destructive command (denied by rule), then the tests (allowed by rule).
      {
        match: { prompt: 'Clean the workspace', turn: 1 },
        sequencePer: 'script' as const,
        reply: { toolUse: { name: 'Bash', input: { command: 'rm -rf victim', description: 'clean' } } },
      },
      {
        match: { prompt: 'Clean the workspace', turn: 2 },
        sequencePer: 'script' as const,
        reply: { toolUse: { name: 'Bash', input: { command: 'npm test', description: 'test' } } },
      },
      // Then hides the destructive command inside an allowed one, and runs the tests through eval.
      {
        match: { prompt: 'Clean the workspace', turn: 3 },
        sequencePer: 'script' as const,
        reply: { toolUse: { name: 'Bash', input: { command: 'npm test -- "$(rm -rf victim)"', description: 'x' } } },
      },
      {
        match: { prompt: 'Clean the workspace', turn: 4 },
        sequencePer: 'script' as const,
        reply: { toolUse: { name: 'Bash', input: { command: "eval 'npm test'", description: 'test' } } },
      },
      // Editors read the file first (Claude Code edits only what it has read), then edit it under `ask`.
      ...['Edit the greeting', 'Rename the greeting'].flatMap((prompt, i) => [
        {
          match: { prompt, turn: 1 },
          sequencePer: 'script' as const,
          reply: { toolUse: { name: 'Read', input: { file_path: `greeting-${i}.txt` } } },
        },
        {
          match: { prompt, turn: 2 },
          sequencePer: 'script' as const,
          reply: {
            toolUse: {
              name: 'Edit',
              input: { file_path: `greeting-${i}.txt`, old_string: 'hello', new_string: 'hello, world' },
            },
          },
        },
      ]),
      {
        match: { prompt: 'Publish the notes', turn: 1 },
        sequencePer: 'script' as const,
        reply: { toolUse: { name: 'Write', input: { file_path: 'published.txt', content: 'notes' } } },
      },
      {
        match: { prompt: 'Stamp the clock', turn: 1 },
        sequencePer: 'script' as const,
        reply: { toolUse: { name: 'Write', input: { file_path: 'clock.txt', content: 'tick' } } },
      },
    ],
    default: { text: 'Finding: done' },
  },
  'baton-perm-e2e-',
);

const env = () => model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'data') });

function requestsOf(summary: RunSummary, agentId: string) {
  const agent = summary.phases.flatMap((p) => p.agents).find((a) => a.id === agentId)!;
  return model.server.messageRequests(agent.sessionId);
}

/** The newest user message each request of an agent carried: tool results and what Baton told it. */
function toldTo(summary: RunSummary, agentId: string): string[] {
  return requestsOf(summary, agentId).map((r) => r.view!.last);
}

async function pending(): Promise<ApprovalRecord[]> {
  const { stdout } = await runCli(['approvals', '--json'], { env: env() });
  return JSON.parse(stdout) as ApprovalRecord[];
}

describe('permission rules and approvals on real claude agents (scripted model)', () => {
  it('denies by rule and says why, allows by rule, and waits for people who answer from another shell', async () => {
    const dir = model.home.dir;
    mkdirSync(join(dir, 'victim'));
    writeFileSync(join(dir, 'victim', 'keep.txt'), 'still here');
    writeFileSync(join(dir, 'greeting-0.txt'), 'hello\n');
    writeFileSync(join(dir, 'greeting-1.txt'), 'hello\n');
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({
        name: 'w',
        private: true,
        scripts: { test: "node -e \"require('fs').writeFileSync('tested.txt', 'ok')\"" },
      }),
    );
    const workflow = join(dir, 'governed.yaml');
    writeFileSync(
      workflow,
      `version: 1
name: governed
defaults:
  permissions:
    deny: ["Bash(rm -rf:*)"]
phases:
  - id: work
    permissions: { ask: ["Edit(greeting-*.txt)"] }
    agents:
      - { id: cleaner, prompt: Clean the workspace, permissions: { allow: ["Bash(npm test:*)"] } }
      - { id: editor, prompt: Edit the greeting }
      - { id: renamer, prompt: Rename the greeting }
      - id: stamper
        prompt: Stamp the clock
        permissions: { ask: [Write], approvalTimeoutMs: 1500, onTimeout: deny }
`,
    );
    const run = startCli(['run', workflow, '--json'], { env: env() });
    const asked = await waitFor(
      async () => {
        const requests = await pending();
        const ids = new Map(requests.map((r) => [r.agentId, r]));
        return ids.has('editor') && ids.has('renamer') ? ids : undefined;
      },
      90_000,
      'the two edits to wait for approval',
    );
    expect(asked.get('editor')).toMatchObject({ tool: 'Edit', rule: 'Edit(greeting-*.txt)', status: 'pending' });
    expect(asked.get('editor')!.summary).toContain('greeting-0.txt');

    const approved = await runCli(['approve', asked.get('editor')!.id, '--message', 'Keep the comma'], { env: env() });
    expect(approved.code).toBe(0);
    const denied = await runCli(['deny', asked.get('renamer')!.id, '--message', 'Names are frozen until the release'], {
      env: env(),
    });
    expect(denied.code).toBe(0);
    // Answered already: a second answer is refused, naming who answered.
    const again = await runCli(['deny', asked.get('editor')!.id], { env: env() });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('BATON_APPROVAL_NOT_FOUND');

    const { code, stdout, stderr } = await run.output;
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;

    // Denied by rule: nothing removed, and the agent was told which rule.
    expect(readFileSync(join(dir, 'victim', 'keep.txt'), 'utf8')).toBe('still here');
    expect(toldTo(summary, 'cleaner')[1]).toContain('Bash(rm -rf:*)');
    // Allowed by rule: the tests ran.
    expect(readFileSync(join(dir, 'tested.txt'), 'utf8')).toBe('ok');
    // A denied command inside `$(…)` of an allowed one is denied; `eval` is allowed by no `Bash(…)` rule.
    expect(toldTo(summary, 'cleaner')[3]).toContain('Bash(rm -rf:*)');
    expect(toldTo(summary, 'cleaner')[4]).toContain('no permission rule allows it');
    // Approved from another process: the edit landed and the instruction reached the agent.
    expect(readFileSync(join(dir, 'greeting-0.txt'), 'utf8')).toBe('hello, world\n');
    // (Claude Code hands it over as a reminder after the tool result.)
    expect(JSON.stringify(requestsOf(summary, 'editor')[2]!.body)).toContain('approved this Edit call: Keep the comma');
    // Denied with a message: the file is unchanged and the agent got the reason.
    expect(readFileSync(join(dir, 'greeting-1.txt'), 'utf8')).toBe('hello\n');
    expect(toldTo(summary, 'renamer')[2]).toContain('Names are frozen until the release');
    // Nobody answered in time: denied, and the agent goes on.
    expect(existsSync(join(dir, 'clock.txt'))).toBe(false);
    expect(toldTo(summary, 'stamper')[1]).toContain('deadline');

    const audit = await runCli(['audit', '--json'], { env: env() });
    const actions = (
      JSON.parse(audit.stdout) as Array<{ action: string; details: { agentId?: string; rule?: string } }>
    ).map((e) => `${e.action} ${e.details.agentId ?? ''} ${e.details.rule ?? ''}`.trim());
    expect(actions).toEqual(
      expect.arrayContaining([
        'tool.denied cleaner Bash(rm -rf:*)',
        'tool.allowed cleaner Bash(npm test:*)',
        'approval.requested editor Edit(greeting-*.txt)',
        'approval.approved editor Edit(greeting-*.txt)',
        'tool.allowed editor Edit(greeting-*.txt)',
        'approval.denied renamer Edit(greeting-*.txt)',
        'tool.denied stamper Write',
      ]),
    );
    expect(await pending()).toEqual([]);
  }, 180_000);

  it('fails the agent when nobody answers in time and onTimeout is fail', async () => {
    const dir = model.home.dir;
    const workflow = join(dir, 'strict.yaml');
    writeFileSync(
      workflow,
      `version: 1
name: strict
phases:
  - id: publish
    agents:
      - id: publisher
        prompt: Publish the notes
        permissions: { ask: [Write], approvalTimeoutMs: 1000, onTimeout: fail }
`,
    );
    const { code, stdout } = await runCli(['run', workflow, '--json'], { env: env() });
    expect(code).toBe(1);
    const agent = (JSON.parse(stdout) as RunSummary).phases[0]!.agents[0]!;
    expect(agent.status).toBe('failed');
    expect(agent.error?.code).toBe('BATON_APPROVAL_TIMEOUT');
    expect(agent.attempts).toBe(1); // not retried: waiting again would not bring an answer
    expect(existsSync(join(dir, 'published.txt'))).toBe(false);
  }, 120_000);
});
