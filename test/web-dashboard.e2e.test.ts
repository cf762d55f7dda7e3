import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { ServerRunHealth } from '../src/core/index.js';
import type { MergedServerHealth } from '../src/mcp/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { launchChromium } from './support/browser.js';
import { requireProgram } from './support/programs.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { useScriptedModel } from './support/scripted-model.js';

const faultServer = fileURLToPath(new URL('./fixtures/fault-mcp-server.mjs', import.meta.url));

const model = useScriptedModel(
  {
    rules: [
      // A slow tool first (the page shows it as the agent's current tool), then the answer.
      {
        match: { prompt: 'Summarise the release', turn: 1 },
        reply: { toolUse: { name: 'mcp__notes__ping', input: {} } },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Summarise the release' },
        reply: { text: 'Summary: the release is ready. Decision: ship on Friday', delayMs: 2500 },
        sequencePer: 'script',
      },
    ],
    default: { text: 'OK' },
  },
  'baton-web-',
);

/** Without the token, from another Host name, or with a method the route does not answer: refused. */
async function expectGuarded(origin: string, token: string, runId: string | null): Promise<void> {
  const runUrl = `${origin}/api/runs/${runId}`;
  expect((await fetch(`${origin}/api/runs`)).status).toBe(401);
  expect((await fetch(runUrl, { headers: { cookie: 'baton_dashboard=guess' } })).status).toBe(401);
  const auth = { authorization: `Bearer ${token}` };
  expect((await fetch(runUrl, { headers: auth })).status).toBe(200);
  const posted = await fetch(runUrl, { method: 'POST', headers: auth });
  expect([posted.status, posted.headers.get('allow')]).toEqual([405, 'GET']);
  const { port } = new URL(origin);
  const rebound = await new Promise<number>((resolve, reject) =>
    request(
      { host: '127.0.0.1', port, path: '/api/runs', headers: { ...auth, host: `attacker.example:${port}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    )
      .on('error', reject)
      .end(),
  );
  expect(rebound).toBe(403);
}

/** The `notes` server's health as one source saw it: a shared server, breaker closed, nothing wrong by default. */
function health(extra: Partial<ServerRunHealth> = {}): ServerRunHealth {
  return { name: 'notes', scope: 'run', breaker: 'closed', calls: 1, failures: 0, crashes: 0, restarts: 0, ...extra };
}

/** The run's MCP health as `baton status --json` and the dashboard's API give it (the same, or the test fails). */
async function healthOf(runId: string, at: { env: NodeJS.ProcessEnv; origin: string; token: string }) {
  const status = await runCli(['status', runId, '--json'], { env: at.env });
  expect(status.code).toBe(0);
  const { mcpHealth } = JSON.parse(status.stdout) as { mcpHealth: MergedServerHealth[] };
  const response = await fetch(`${at.origin}/api/runs/${runId}`, { headers: { authorization: `Bearer ${at.token}` } });
  expect(((await response.json()) as { mcpHealth: unknown }).mcpHealth).toEqual(mcpHealth);
  return mcpHealth;
}

/**
 * The run's detail shows its MCP health as `baton status` does; then a worker's report of the `notes`
 * server joins the orchestrator's, and another tenant's run gets health of its own: the detail shows
 * the two sources merged, the error redacted, and nothing of the other run.
 */
async function expectHealthAsStatus(
  page: Page,
  at: { dataDir: string; env: NodeJS.ProcessEnv; origin: string; token: string },
): Promise<void> {
  const runId = String(await page.getAttribute('tr[data-run-id]', 'data-run-id'));
  const [before] = await healthOf(runId, at);
  expect(before).toMatchObject({ ...health({ calls: expect.any(Number) as number }), sources: ['orchestrator'] });
  const row = page.locator('#detail .mcp tr[data-server="notes"]');
  expect(await row.locator('.calls').textContent()).toBe(`${before!.calls} call(s), 0 failed`);

  const store = openSqliteStore({ dataDir: at.dataDir });
  try {
    await store.saveMcpHealth(runId, 'host-a:42', [
      health({
        calls: 2,
        failures: 1,
        crashes: 1,
        restarts: 1,
        p50Ms: 9999,
        lastError: 'auth Bearer abcdefgh12345678',
      }),
    ]);
    const other = { workflowName: 'theirs', workflow: {}, status: 'succeeded' as const, createdAt: Date.now() };
    await store.saveRun({ ...other, id: 'run-of-team-b', tenant: 'team-b' });
    await store.saveMcpHealth('run-of-team-b', 'orchestrator', [health({ calls: 40 }), health({ name: 'billing-db' })]);
  } finally {
    await store.close();
  }
  const calls = before!.calls + 2;
  expect(await healthOf(runId, at)).toEqual([
    {
      ...health({ calls, failures: 1, crashes: 1, restarts: 1, p50Ms: 9999, lastError: 'auth Bearer [REDACTED]' }),
      sources: ['host-a:42', 'orchestrator'],
    },
  ]);
  // The new run pushes an update; the page, still on the first run, redraws its detail.
  await row.locator(`.calls:text("${calls} call(s), 1 failed")`).waitFor({ timeout: 10_000 });
  expect(await row.locator('td').allTextContents()).toEqual([
    'notes',
    'run',
    'breaker closed',
    `${calls} call(s), 1 failed`,
    'p50 9999.0 ms',
    '1 crash(es), 1 restart(s)',
    'host-a:42, orchestrator',
    'auth Bearer [REDACTED]',
  ]);
  expect(await page.locator('#detail .mcp tr').count()).toBe(1);
  expect(await page.textContent('#detail')).not.toContain('billing-db');
}

/**
 * A token of tenant team-b (made by `baton dashboard-token` while `baton serve` runs): its page lists
 * team-b's run only; the operator's page still lists both; the other run's detail and /metrics are refused.
 */
async function expectTenantPage(
  browser: Browser,
  operatorPage: Page,
  at: { env: NodeJS.ProcessEnv; origin: string; ownRunId: string },
): Promise<void> {
  const made = await runCli(['dashboard-token', '--tenant', 'team-b'], { env: at.env });
  expect(made.code).toBe(0);
  const token = made.stdout.trim();
  expect(token).toMatch(/^[0-9a-f]{64}$/);
  const page = await browser.newPage(); // a context of its own: its own cookie
  await page.goto(`${at.origin}/?token=${token}`);
  await page.waitForSelector('tr[data-run-id="run-of-team-b"]');
  expect(page.url()).toBe(`${at.origin}/`);
  expect(await page.locator('tr[data-run-id]').count()).toBe(1);
  expect(await page.locator('#viewer').textContent()).toBe('tenant team-b');
  await page.click('tr[data-run-id]');
  await page.waitForSelector('#detail .mcp tr[data-server="billing-db"]');
  // The page's own requests, with its cookie: the operator's run is as unknown as one that never was.
  const statuses = await page.evaluate(
    async (ids) => {
      const codes = [];
      for (const path of [`/api/runs/${ids[0]!}`, '/api/runs/no-such-run', '/metrics'])
        codes.push((await fetch(path)).status);
      return codes;
    },
    [at.ownRunId],
  );
  expect(statuses).toEqual([404, 404, 403]);
  await operatorPage.reload();
  await operatorPage.waitForSelector('tr[data-run-id="run-of-team-b"]');
  expect(await operatorPage.locator('tr[data-run-id]').count()).toBe(2);
  expect(await operatorPage.locator('#viewer').textContent()).toBe('all tenants');
  await page.close();
}

describe.runIf(requireProgram('chromium'))('web dashboard (headless chromium)', () => {
  it('shows a run appear, go live and finish, then its agents and MCP health (as baton status) in detail', async () => {
    const dataDir = join(model.home.dir, 'data');
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: dataDir });
    const serve = startCli(['serve', '--port', '0'], { env });
    const browser = await launchChromium();
    try {
      const url = await waitFor(
        () => /dashboard at (http:\/\/\S+)/.exec(serve.stdoutSoFar())?.[1],
        20_000,
        'the dashboard URL',
      );
      // The printed URL carries the token; the browser keeps it as a cookie and drops it from the address.
      const { origin, searchParams } = new URL(url);
      expect(searchParams.get('token')).toMatch(/^[0-9a-f]{64}$/);
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForSelector('#live:text("live")');
      expect(page.url()).toBe(`${origin}/`);

      const workflow = join(model.home.dir, 'release.yaml');
      writeFileSync(
        workflow,
        `version: 1\nname: release-notes\nmcpServers:\n  notes: { command: ${process.execPath}, args: [${faultServer}, --call-delay, '4000'] }\n` +
          'phases:\n  - id: write\n    agents: [{ id: summariser, prompt: Summarise the release, mcpServers: [notes] }]\n',
      );
      const run = startCli(['run', workflow], { env });

      // The run appears while it is going, with what its agent is doing now; the page updates itself when it finishes.
      await page.waitForSelector('tr[data-run-id] .status.running', { timeout: 30_000 });
      await page.click('tr[data-run-id]');
      await page.waitForSelector('.agent[data-agent-id="summariser"] .now:text("Now: mcp__notes__ping")', {
        timeout: 30_000,
      });
      await page.waitForSelector('tr[data-run-id] .status.succeeded', { timeout: 30_000 });
      expect((await run.output).code).toBe(0);
      expect(await page.textContent('tr[data-run-id]')).toContain('release-notes');
      expect(await page.locator('#chart rect').count()).toBe(1);

      await page.click('tr[data-run-id]');
      const agent = page.locator('.agent[data-agent-id="summariser"]');
      await agent.locator('.result').waitFor();
      expect(await agent.locator('.prompt').textContent()).toBe('Summarise the release');
      expect(await agent.locator('.result').textContent()).toBe(
        'Summary: the release is ready. Decision: ship on Friday',
      );
      expect(await agent.textContent()).toMatch(
        /succeeded · \d+ in \/ \d+ out tokens \(cache \d+ read, \d+ written\) · \$\d+\.\d{4}/,
      );
      await expectGuarded(
        origin,
        String(searchParams.get('token')),
        await page.getAttribute('tr[data-run-id]', 'data-run-id'),
      );
      expect(await agent.locator('.now').count()).toBe(0);
      expect(await agent.locator('.tools td').allTextContents()).toEqual([
        '1.1',
        'turn 1',
        'mcp__notes__ping',
        'ok',
        expect.stringMatching(/^\d+\.\d{2}s$/),
        '{}',
      ]);
      if (process.env.BATON_SCREENSHOT) await page.screenshot({ path: process.env.BATON_SCREENSHOT, fullPage: true });
      const ownRunId = String(await page.getAttribute('tr[data-run-id]', 'data-run-id'));
      await expectHealthAsStatus(page, { dataDir, env, origin, token: String(searchParams.get('token')) });
      await expectTenantPage(browser, page, { env, origin, ownRunId });
    } finally {
      await browser.close();
      serve.kill('SIGTERM');
      await serve.output;
    }
  });
});
