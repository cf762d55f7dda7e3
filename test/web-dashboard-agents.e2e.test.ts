import { describe, expect, it } from 'vitest';
import { startWebDashboard } from '../src/dashboard/index.js';
import { type AgentRecord, type AttemptRecord } from '../src/store/index.js';
import { launchChromium } from './support/browser.js';
import { requireProgram } from './support/programs.js';
import { useTempStore } from './support/temp-store.js';

const temp = useTempStore('baton-web-agents-');
const RUN = 'run-web-agents';
const usage = { inputTokens: 1200, outputTokens: 340, cacheReadTokens: 5000, cacheCreationTokens: 700 };

const agent = (id: string, extra: Partial<AgentRecord>): AgentRecord => ({
  runId: RUN,
  phaseId: 'fix',
  id,
  sessionId: `session-${id}`,
  status: 'succeeded',
  prompt: `do ${id}`,
  systemPrompt: '',
  usage,
  costUsd: 0.02,
  turns: 2,
  attempts: 1,
  durationMs: 900,
  ...extra,
});

const attempt = (agentId: string, extra: Partial<AttemptRecord> & Pick<AttemptRecord, 'attempt'>): AttemptRecord => ({
  runId: RUN,
  agentId,
  status: 'succeeded',
  resumed: false,
  startedAt: Date.now() - 20_000,
  finishedAt: Date.now() - 10_000,
  usage,
  costUsd: 0.01,
  durationMs: 10_000,
  ...extra,
});

/**
 * A running run: `fixer` succeeded on its second attempt after a rate limit; `builder` has been in a Bash
 * call for 12 s, and nothing in the store changes while the call goes on.
 */
async function seedRun(): Promise<void> {
  const { store } = temp;
  const now = Date.now();
  await store.saveRun({
    id: RUN,
    workflowName: 'fixes',
    tenant: 'default',
    workflow: {},
    status: 'running',
    createdAt: now,
  });
  await store.saveAgent(agent('fixer', { attempts: 2 }));
  await store.saveAttempt(
    attempt('fixer', {
      attempt: 1,
      status: 'failed',
      costUsd: 0.000045,
      error: { code: 'BATON_MODEL_RATE_LIMITED', message: 'the model API answered 429' },
    }),
  );
  await store.saveAttempt(attempt('fixer', { attempt: 2, resumed: true }));
  await store.saveAgent(agent('builder', { status: 'running', startedAt: now - 15_000 }));
  await store.saveAttempt(attempt('builder', { attempt: 1, status: 'running', finishedAt: undefined }));
  await store.saveToolCall({
    runId: RUN,
    agentId: 'builder',
    attempt: 1,
    seq: 1,
    toolUseId: 'toolu_1',
    name: 'Bash',
    turn: 1,
    startedAt: now - 12_000,
    status: 'running',
    inputPreview: '{"command":"npm test"}',
  });
}

describe.runIf(requireProgram('chromium'))('web dashboard agent detail (headless chromium)', () => {
  it("shows every attempt's error, the cache tokens, and a running tool's time counting up", async () => {
    await seedRun();
    const token = 'a'.repeat(64);
    const dashboard = await startWebDashboard({ store: temp.store, port: 0, token });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${dashboard.url}?token=${token}`);
      await page.click(`tr[data-run-id="${RUN}"]`);

      const fixer = page.locator('.agent[data-agent-id="fixer"]');
      await fixer.locator('.attempts').waitFor();
      expect(await fixer.locator('.attempts tr[data-attempt="1"] td').allTextContents()).toEqual([
        'attempt 1',
        'failed',
        '$0.000045',
        'BATON_MODEL_RATE_LIMITED: the model API answered 429',
      ]);
      expect(await fixer.locator('.attempts tr[data-attempt="2"] td').allTextContents()).toEqual([
        'attempt 2 (resumed)',
        'succeeded',
        '$0.0100',
        '',
      ]);
      expect(await fixer.locator('.usage').textContent()).toContain(
        '1200 in / 340 out tokens (cache 5000 read, 700 written)',
      );
      expect(await page.locator('#detail > p').textContent()).toContain('(cache 10000 read, 1400 written)');

      // The store does not change while the call runs, so the page is not redrawn: the line counts up itself.
      const now = page.locator('.agent[data-agent-id="builder"] .now');
      const seconds = async (): Promise<number> =>
        Number(/^Now: Bash \((\d+)s\)$/.exec(String(await now.textContent()))?.[1]);
      const first = await seconds();
      expect(first).toBeGreaterThanOrEqual(12);
      await expect.poll(seconds, { timeout: 15_000, interval: 250 }).toBeGreaterThanOrEqual(first + 2);
    } finally {
      await browser.close();
      await dashboard.close();
    }
  });
});
