import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.js';
import { requireProgram } from './support/programs.js';
import { startCli, waitFor } from './support/cli.js';
import { useScriptedModel } from './support/scripted-model.js';

const model = useScriptedModel(
  {
    rules: [
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

describe.runIf(requireProgram('chromium'))('web dashboard (headless chromium)', () => {
  it('shows a run appear, go live and finish, then its agents in detail', async () => {
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
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForSelector('#live:text("live")');

      const workflow = join(model.home.dir, 'release.yaml');
      writeFileSync(
        workflow,
        'version: 1\nname: release-notes\nphases:\n  - id: write\n    agents: [{ id: summariser, prompt: Summarise the release }]\n',
      );
      const run = startCli(['run', workflow], { env });

      // The run appears while it is going, and the page updates itself when it finishes.
      await page.waitForSelector('tr[data-run-id] .status.running', { timeout: 30_000 });
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
      expect(await agent.textContent()).toMatch(/succeeded · \d+ in \/ \d+ out tokens · \$\d+\.\d{4}/);
      if (process.env.BATON_SCREENSHOT) await page.screenshot({ path: process.env.BATON_SCREENSHOT, fullPage: true });
    } finally {
      await browser.close();
      serve.kill('SIGTERM');
      await serve.output;
    }
  });
});
