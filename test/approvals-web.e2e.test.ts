import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApprovalRecord } from '../src/core/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { launchChromium } from './support/browser.js';
import { requireProgram } from './support/programs.js';
import { startCli, waitFor } from './support/cli.js';
import { useScriptedModel } from './support/scripted-model.js';

const model = useScriptedModel(
  {
    rules: [
      { match: { prompt: 'Draft the plan' }, reply: { text: 'Decision: migrate in two steps' }, sequencePer: 'script' },
    ],
    default: { text: 'Finding: migrated' },
  },
  'baton-appr-web-',
);

describe.runIf(requireProgram('chromium'))('approvals in the web dashboard (headless chromium)', () => {
  it('a phase gate is approved by a click; token-less and cross-site actions are refused', async () => {
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'data') });
    const serve = startCli(['serve', '--port', '0'], { env });
    const browser = await launchChromium();
    try {
      const url = await waitFor(() => /dashboard at (http:\/\/\S+)/.exec(serve.stdoutSoFar())?.[1], 20_000, 'the URL');
      const { origin, searchParams } = new URL(url);
      const token = searchParams.get('token')!;
      expect(token.length).toBeGreaterThan(20);
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForSelector('#live:text("live")');

      const workflow = join(model.home.dir, 'gated.yaml');
      writeFileSync(
        workflow,
        `version: 1
name: gated
phases:
  - { id: plan, agents: [{ id: planner, prompt: Draft the plan }] }
  - id: migrate
    dependsOn: [plan]
    approval: { before: true, message: Check the plan before migrating }
    agents: [{ id: migrator, prompt: Migrate the data }]
`,
      );
      const run = startCli(['run', workflow, '--json'], { env });

      const item = page.locator('.approval[data-approval-id]');
      await item.waitFor({ timeout: 60_000 });
      const summary = await item.locator('.summary').textContent();
      expect(summary).toContain('Check the plan before migrating');
      // What the phase's dependencies produced is shown to whoever decides.
      expect(summary).toContain('plan: Decision: migrate in two steps');
      const id = (await item.getAttribute('data-approval-id'))!;

      const post = (headers: Record<string, string>, body = '{}') =>
        fetch(`${origin}/api/approvals/${id}/approve`, { method: 'POST', headers, body });
      expect((await post({ 'content-type': 'application/json', origin })).status).toBe(401);
      expect((await post({ 'content-type': 'application/json', authorization: 'Bearer wrong', origin })).status).toBe(
        401,
      );
      const crossSite = await post({
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        origin: 'http://evil.example',
      });
      expect(crossSite.status).toBe(403);
      // A plain HTML form (what another site can post without a preflight) is not read either.
      const form = await post(
        { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${token}` },
        'x=1',
      );
      expect(form.status).toBe(415);
      // From a page of another origin in the real browser: refused too.
      const other = await browser.newPage();
      await other.goto(`${model.url}/`);
      const fromOtherSite = await other.evaluate(
        async ([target, t]) => {
          try {
            const r = await fetch(target!, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${t!}` },
              body: '{}',
            });
            return r.status;
          } catch {
            return 'blocked';
          }
        },
        [`${origin}/api/approvals/${id}/approve`, token],
      );
      expect(fromOtherSite === 'blocked' || fromOtherSite === 403).toBe(true);
      const stillPending = (await (
        await fetch(`${origin}/api/approvals`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as ApprovalRecord[];
      expect(stillPending.map((r) => r.id)).toEqual([id]);

      await item.locator('input.message').fill('Go, the plan is sound');
      await item.locator('button.approve').click();
      await page.waitForSelector('#waiting :text("Nothing waits for you.")', { timeout: 20_000 });

      const { code, stdout } = await run.output;
      expect(code).toBe(0);
      const result = JSON.parse(stdout) as RunSummary;
      expect(result.phases.map((p) => `${p.id}:${p.status}`)).toEqual(['plan:succeeded', 'migrate:succeeded']);
      const audit = startCli(['audit', '--action', 'approval.approved', '--json'], { env });
      const [event] = JSON.parse((await audit.output).stdout) as Array<{
        actor: string;
        details: Record<string, unknown>;
      }>;
      expect(event!.actor).toMatch(/ \(web dashboard, operator token\)$/);
      expect(event!.details).toMatchObject({ approvalId: id, kind: 'phase.before', message: 'Go, the plan is sound' });
    } finally {
      await browser.close();
      serve.kill('SIGTERM');
      await serve.output;
    }
  }, 180_000);
});
