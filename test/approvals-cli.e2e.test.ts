import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalRecord } from '../src/core/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { runCli } from './support/cli.js';
import { fillSampleStore } from './support/sample-store.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-approvals-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, BATON_DATA_DIR: join(dir, 'data') };
const cli = (...args: string[]) => runCli(args, { env });

const request = (id: string, runId: string, deadline: number): ApprovalRecord => ({
  id,
  kind: 'tool',
  runId,
  agentId: 'pusher',
  tool: 'Bash',
  summary: `Bash(git push origin ${id})`,
  rule: 'Bash(git push:*)',
  requestedAt: Date.now() - 60_000,
  deadline,
  onTimeout: 'deny',
  status: 'pending',
});

beforeAll(async () => {
  // run-a is tenant default's, run-b tenant team-b's (the sample store).
  const store = openSqliteStore({ dataDir: env.BATON_DATA_DIR });
  await fillSampleStore(store);
  await store.saveApproval(request('a0a0a0a0a0a0', 'run-a', Date.now() + 3_600_000));
  await store.saveApproval(request('b0b0b0b0b0b0', 'run-b', Date.now() + 3_600_000));
  // Its deadline passed while no orchestrator was there to mark it expired.
  await store.saveApproval(request('c0c0c0c0c0c0', 'run-a', Date.now() - 1_000));
  await store.close();
});

describe('baton approve | deny | approvals with ids that take no answer (exit 2, a message, no stack trace)', () => {
  it(
    'refuses a second answer, an answer past the deadline, another tenant’s request and an unknown run',
    { timeout: 120_000 },
    async () => {
      const first = await cli('deny', 'a0a0a0a0a0a0', '--message', 'not today');
      expect(first.code).toBe(0);
      // run-a ended: nobody waits for the answer now, which the command says.
      expect(first.stdout).toBe(
        'Denied: Bash(git push origin a0a0a0a0a0a0) (run run-a).\nRun run-a succeeded; nothing waits for this answer.\n',
      );
      const again = await cli('approve', 'a0a0a0a0a0a0');
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(
        /^error BATON_APPROVAL_NOT_FOUND: Approval request a0a0a0a0a0a0 is denied already \(by \S+@\S+ at 20\d\d-/,
      );

      const late = await cli('approve', 'c0c0c0c0c0c0');
      expect(late.code).toBe(2);
      expect(late.stderr).toMatch(/c0c0c0c0c0c0 expired: nobody answered before its deadline \(.+\), so it was denied/);

      const otherTenant = await cli('approve', 'b0b0b0b0b0b0', '--tenant', 'default');
      expect(otherTenant.code).toBe(2);
      expect(otherTenant.stderr).toContain('No approval request b0b0b0b0b0b0 for tenant default.');
      const ownTenant = await cli('approve', 'b0b0b0b0b0b0', '--tenant', 'team-b');
      expect(ownTenant.code).toBe(0);
      expect(ownTenant.stdout).toContain(
        'Run run-b is cancelled; it takes this answer when resumed: baton run --resume run-b\n',
      );

      const listed = await cli('approvals', '--all', '--json');
      const byId = new Map((JSON.parse(listed.stdout) as ApprovalRecord[]).map((r) => [r.id, r]));
      expect(byId.get('a0a0a0a0a0a0')).toMatchObject({ status: 'denied', answer: { message: 'not today' } });
      expect(byId.get('b0b0b0b0b0b0')).toMatchObject({ status: 'approved' });
      expect(byId.get('c0c0c0c0c0c0')).toMatchObject({ status: 'expired', answer: { by: 'baton' } });

      for (const [args, says] of [
        [['approvals', '--run', 'no-such-run'], 'BATON_RUN_NOT_FOUND: No run with id no-such-run in '],
        [['approvals', '--run', 'run-b', '--tenant', 'default'], 'No run with id run-b for tenant default.'],
      ] as const) {
        const result = await cli(...args);
        expect(result.code, args.join(' ')).toBe(2);
        expect(result.stderr).toContain(says);
        expect(result.stderr).not.toMatch(/\n\s+at /);
      }
    },
  );
});
