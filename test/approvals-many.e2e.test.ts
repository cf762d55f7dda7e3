// Issue 15 held-out: a dozen agents wait for a person at once, and are answered at once from several
// processes; each gets its own answer, once (real claude, scripted model).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { answerApproval } from '../src/approvals/index.js';
import type { ApprovalRecord } from '../src/core/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { useScriptedModel } from './support/scripted-model.js';

const AGENTS = 12;
const ids = Array.from({ length: AGENTS }, (_, i) => `stamper-${i}`);

const model = useScriptedModel(
  {
    rules: ids.flatMap((id) => [
      {
        match: { prompt: `Stamp ${id}.`, turn: 1 },
        sequencePer: 'script' as const,
        reply: { toolUse: { name: 'Write', input: { file_path: `${id}.txt`, content: id } } },
      },
    ]),
    default: { text: 'Finding: done' },
  },
  'baton-appr-many-e2e-',
);

const env = () =>
  model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'data'), BATON_PARALLEL_LIMIT: String(AGENTS) });

describe('many approvals pending at once', () => {
  it(`${AGENTS} agents wait at once; answered together from several processes, each gets its own answer`, async () => {
    const path = join(model.home.dir, 'many.yaml');
    writeFileSync(
      path,
      `version: 1
name: many
defaults: { permissions: { ask: [Write] } }
phases:
  - id: stamp
    agents:
${ids.map((id) => `      - { id: ${id}, prompt: "Stamp ${id}." }`).join('\n')}
`,
    );
    const run = startCli(['run', path, '--json'], { env: env() });
    const store = openSqliteStore({ dataDir: join(model.home.dir, 'data') });
    try {
      const pending = await waitFor(
        async () => {
          const requests = await store.listApprovals({ status: 'pending' });
          return requests.length === AGENTS ? requests : undefined;
        },
        150_000,
        `all ${AGENTS} agents to wait`,
      );
      const runId = pending[0]!.runId;
      const status = await runCli(['status', runId], { env: env() });
      expect(status.stdout).toContain(`waiting for ${AGENTS} approval(s)`);
      // Even-numbered ones approved, odd ones denied, all at once: two from the CLI, the rest from here.
      const byAgent = new Map(pending.map((r) => [r.agentId!, r]));
      const approve = (id: string) => Number(id.split('-')[1]) % 2 === 0;
      const answers = ids.map((id, i) => {
        const request = byAgent.get(id)!;
        if (i < 2)
          return runCli([approve(id) ? 'approve' : 'deny', request.id, '--message', `for ${id}`], { env: env() });
        return answerApproval(store, { id: request.id, approve: approve(id), by: 'tester@here', message: `for ${id}` });
      });
      await Promise.all(answers);

      const { code, stdout, stderr } = await run.output;
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(code).toBe(0);
      const agents = (JSON.parse(stdout) as RunSummary).phases.flatMap((p) => p.agents);
      for (const id of ids) {
        const agent = agents.find((a) => a.id === id)!;
        const requests = model.server.messageRequests(agent.sessionId);
        expect(requests, id).toHaveLength(2);
        if (approve(id)) expect(readFileSync(join(model.home.dir, `${id}.txt`), 'utf8'), id).toBe(id);
        else {
          expect(existsSync(join(model.home.dir, `${id}.txt`)), id).toBe(false);
          expect(requests[1]!.view!.last, id).toContain(`denied this tool call: for ${id}`);
        }
      }
      const decided = await store.listApprovals({ runId });
      expect(decided.filter((r: ApprovalRecord) => r.status === 'approved')).toHaveLength(AGENTS / 2);
      expect(decided.filter((r: ApprovalRecord) => r.status === 'denied')).toHaveLength(AGENTS / 2);
    } finally {
      await store.close();
    }
  }, 300_000);
});
