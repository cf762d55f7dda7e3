import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../src/orchestrator/index.js';
import type { UsageReport } from '../src/observability/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { listPriceUsd } from '../src/core/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { useScriptedModel } from './support/scripted-model.js';

// Every turn reports exactly these tokens, so its cost is known: Claude Code's own, at sonnet's list price.
const turnUsage = {
  input_tokens: 100_000,
  output_tokens: 100,
  cache_read_input_tokens: 0,
  cache_creation_input_tokens: 0,
};
const readHostname = { toolUse: { name: 'Read', input: { file_path: '/etc/hostname' } }, usage: turnUsage };
/** One answered turn, then a second response that streams far slower than any test waits. */
const oneTurnThenSlow = (prompt: string) => ({
  match: { prompt },
  replies: [readHostname, { text: `${prompt}: done`, usage: turnUsage, chunkDelayMs: 60_000 }],
  sequencePer: 'session' as const,
});

const model = useScriptedModel(
  {
    rules: [
      { match: { prompt: 'price one turn' }, reply: { text: 'priced', usage: turnUsage }, sequencePer: 'session' },
      oneTurnThenSlow('cancel me'),
      oneTurnThenSlow('time me out'),
      oneTurnThenSlow('cap me'),
      {
        match: { prompt: 'kill me' },
        replies: [
          readHostname,
          { text: 'cut off', usage: turnUsage, chunkDelayMs: 60_000 },
          { text: 'finished', usage: turnUsage },
        ],
        sequencePer: 'session' as const,
      },
    ],
    default: { text: 'OK' },
  },
  'baton-spend-',
);

const workflowFile = (yaml: string): string => model.home.writeWorkflow(yaml);

const env = (dataDir: string) =>
  model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, dataDir), BATON_RETRY_BASE_DELAY_MS: '0' });

const agentYaml = (id: string, prompt: string, extra = '') =>
  `{ id: ${id}, prompt: ${prompt}, model: claude-sonnet-4-5, allowedTools: [Read]${extra} }`;

/** What one answered turn costs as Claude Code reports it in its result. */
async function claudeCodePriceOfOneTurn(dataDir: string): Promise<number> {
  const path = workflowFile(`
version: 1
name: price
phases: [{ id: only, agents: [${agentYaml('pricer', 'price one turn')}] }]
`);
  const { stdout } = await runCli(['run', path, '--json'], { env: env(dataDir) });
  return (JSON.parse(stdout) as RunSummary).phases[0]!.agents[0]!.costUsd;
}

// Sonnet's list price: $3 per million input tokens, $15 per million output tokens.
const sonnetUsd = (input: number, output: number) => (input * 3 + output * 15) / 1_000_000;

describe("Baton's price table (real claude, scripted model)", () => {
  it('prices tokens as Claude Code does, model generation by model generation, aliases included', async () => {
    const models = [
      'opus',
      'claude-opus-5-5',
      'claude-opus-5',
      'claude-opus-4-1',
      'claude-opus-4-5',
      'sonnet',
      'claude-sonnet-4-5',
      'haiku',
      'claude-haiku-4-5',
      'weird-model-x',
      undefined,
    ];
    const agents = models.map(
      (m, i) => `{ id: a${i}, prompt: price one turn, ${m ? `model: ${m}, ` : ''}allowedTools: [Read] }`,
    );
    const path = workflowFile(`
version: 1
name: prices
phases: [{ id: only, agents: [${agents.join(', ')}] }]
`);
    const { stdout, stderr } = await runCli(['run', path, '--json'], { env: env('prices') });
    const finished = (JSON.parse(stdout) as RunSummary).phases[0]!.agents;
    const usage = { inputTokens: 100_000, outputTokens: 100, cacheReadTokens: 0, cacheCreationTokens: 0 };
    expect(
      finished.map((agent, i) => [models[i], agent.status, agent.costUsd.toFixed(6)]),
      stderr,
    ).toEqual(models.map((m) => [m, 'succeeded', listPriceUsd(m, usage).toFixed(6)]));
  }, 120_000);
});

describe('spend of attempts cut off before Claude Code reports their cost (real claude, scripted model)', () => {
  it('a cancelled attempt is priced from the tokens its stream showed, marked as an estimate, and counts toward usage and budgets', async () => {
    const turnUsd = await claudeCodePriceOfOneTurn('cancelled');
    // The price table agrees with Claude Code's own pricing of the same tokens.
    expect(turnUsd).toBeCloseTo(sonnetUsd(100_000, 100), 6);

    const path = workflowFile(`
version: 1
name: cancelled
phases: [{ id: only, agents: [${agentYaml('worker', 'cancel me')}] }]
`);
    const runEnv = env('cancelled');
    const cli = startCli(['run', path], { env: runEnv });
    const store = openSqliteStore({ dataDir: join(model.home.dir, 'cancelled') });
    try {
      const runId = await waitFor(
        async () => {
          const run = (await store.listRuns({ limit: 5 })).find((r) => r.workflowName === 'cancelled');
          const agent = run ? await store.getAgent(run.id, 'worker') : undefined;
          // Its second (slow) response has started: the first turn is answered and the second's input counted.
          return agent && model.server.messageRequests(agent.sessionId).length >= 2 ? run!.id : undefined;
        },
        60_000,
        'the second model turn',
      );
      const cancel = await runCli(['cancel', runId], { env: runEnv });
      expect(cancel.code, cancel.stderr).toBe(0);
      await cli.output;

      // The first turn in full, and the second's input (its message_start says one output token so far).
      const estimate = sonnetUsd(200_000, 101);
      const [attempt] = await store.listAttempts(runId, 'worker');
      expect(attempt).toMatchObject({ status: 'failed', error: { code: 'BATON_CANCELLED' } });
      expect(attempt!.costUsd).toBeCloseTo(estimate, 6);
      expect(attempt!.estimatedCostUsd).toBeCloseTo(estimate, 6);

      const status = JSON.parse((await runCli(['status', runId, '--json'], { env: runEnv })).stdout) as RunSummary;
      const agent = status.phases[0]!.agents[0]!;
      expect(agent).toMatchObject({ status: 'cancelled' });
      expect(agent.costUsd).toBeCloseTo(estimate, 6);
      expect(agent.estimatedCostUsd).toBeCloseTo(estimate, 6);
      expect(status.totals.estimatedCostUsd).toBeCloseTo(estimate, 6);
      const text = (await runCli(['status', runId], { env: runEnv })).stdout;
      expect(text).toContain(`~$${estimate.toFixed(4)}`);
      const timeline = (await runCli(['status', runId, '--agent', 'worker'], { env: runEnv })).stdout;
      expect(timeline).toContain(`$${estimate.toFixed(4)} (estimated)`);

      const usage = JSON.parse(
        (await runCli(['usage', '--by', 'run', '--json'], { env: runEnv })).stdout,
      ) as UsageReport;
      const row = usage.rows.find((r) => r.key === runId)!;
      expect(row.costUsd).toBeCloseTo(estimate, 6);
      expect(row.estimatedCostUsd).toBeCloseTo(estimate, 6);
      expect(usage.totals.costUsd).toBeCloseTo(turnUsd + estimate, 6);
      const usageText = (await runCli(['usage', '--by', 'run'], { env: runEnv })).stdout;
      expect(usageText).toContain(`~$${estimate.toFixed(4)}`);
      expect(usageText).toContain(`~ $${estimate.toFixed(4)} of it is Baton's estimate at list price`);

      // The tenant's daily budget sees that spend: a budget the priced turn alone leaves room in is used up.
      const config = join(model.home.dir, 'daily.yaml');
      writeFileSync(config, `tenant_daily_budget_usd: { default: ${(turnUsd + estimate * 0.9).toFixed(4)} }\n`);
      const refused = await runCli(['run', path, '--config', config], { env: runEnv });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('BATON_TENANT_BUDGET_EXCEEDED');
    } finally {
      cli.kill('SIGKILL');
      await store.close();
    }
  });

  it("an agent's timeout: its attempt's estimate counts in the run's spend and budget", async () => {
    const path = workflowFile(`
version: 1
name: timeout
budgetUsd: 0.5
phases: [{ id: only, agents: [${agentYaml('slow', 'time me out', ', timeoutMs: 20000')}] }]
`);
    const { stdout } = await runCli(['run', path, '--json'], { env: env('timeout') });
    const summary = JSON.parse(stdout) as RunSummary;
    const agent = summary.phases[0]!.agents[0]!;
    expect(agent.error?.code).toBe('BATON_AGENT_TIMEOUT');
    const estimate = sonnetUsd(200_000, 101);
    expect(agent.costUsd).toBeCloseTo(estimate, 6);
    expect(summary.totals.costUsd).toBeCloseTo(estimate, 6);
    // $0.60 of a $0.50 budget: the run reports the budget spent.
    const store = openSqliteStore({ dataDir: join(model.home.dir, 'timeout') });
    try {
      const exceeded = (await store.listAuditEvents({ action: 'budget.exceeded' })).filter(
        (e) => e.target === summary.runId,
      );
      expect(exceeded).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('an agent stopped by its own maxBudgetUsd is audited as a budget stop (limit agent), and the run goes on', async () => {
    const path = workflowFile(`
version: 1
name: capped
phases:
  - id: only
    agents:
      - ${agentYaml('capped', 'cap me', ', maxBudgetUsd: 0.1')}
      - ${agentYaml('free', 'price one turn')}
`);
    const runEnv = env('capped');
    const { stdout } = await runCli(['run', path, '--json'], { env: runEnv });
    const summary = JSON.parse(stdout) as RunSummary;
    expect(summary.phases[0]!.agents.map((a) => [a.id, a.status, a.error?.code])).toEqual([
      ['capped', 'failed', 'BATON_AGENT_BUDGET_EXCEEDED'],
      ['free', 'succeeded', undefined],
    ]);
    const audit = JSON.parse(
      (await runCli(['audit', '--action', 'budget.exceeded', '--json'], { env: runEnv })).stdout,
    ) as Array<{ target: string; details: Record<string, unknown> }>;
    const capped = summary.phases[0]!.agents[0]!;
    expect(audit).toEqual([
      expect.objectContaining({
        target: summary.runId,
        details: {
          limit: 'agent',
          agentId: 'capped',
          budgetUsd: 0.1,
          spentUsd: capped.costUsd,
          spentTokens: capped.usage.inputTokens + capped.usage.outputTokens,
        },
      }),
    ]);
  });

  it("an attempt its killed orchestrator left running is priced on --resume from the turns its session's transcript recorded", async () => {
    const path = workflowFile(`
version: 1
name: killed
phases: [{ id: only, agents: [${agentYaml('worker', 'kill me')}] }]
`);
    const runEnv = env('killed');
    const orchestrator = startCli(['run', path], { env: runEnv });
    const store = openSqliteStore({ dataDir: join(model.home.dir, 'killed') });
    try {
      const runId = await waitFor(
        async () => {
          const run = (await store.listRuns({ limit: 5 })).find((r) => r.workflowName === 'killed');
          const agent = run ? await store.getAgent(run.id, 'worker') : undefined;
          return agent && model.server.messageRequests(agent.sessionId).length >= 2 ? run!.id : undefined;
        },
        60_000,
        'the second model turn',
      );
      orchestrator.kill('SIGKILL');
      await orchestrator.output;

      const resumed = await runCli(['run', '--resume', runId, '--json'], { env: runEnv });
      expect(resumed.code, resumed.stderr).toBe(0);
      const attempts = await store.listAttempts(runId, 'worker');
      expect(attempts.map((a) => `${a.attempt}:${a.status}:${a.error?.code ?? ''}`)).toEqual([
        '1:failed:BATON_ORCHESTRATOR_LOST',
        '2:succeeded:',
      ]);
      // The transcript holds the first turn, answered; the second was cut off before it recorded anything.
      const lostUsd = sonnetUsd(100_000, 100);
      expect(attempts[0]).toMatchObject({ usage: { inputTokens: 100_000, outputTokens: 100 } });
      expect(attempts[0]!.costUsd).toBeCloseTo(lostUsd, 6);
      expect(attempts[0]!.estimatedCostUsd).toBeCloseTo(lostUsd, 6);
      const agent = (JSON.parse(resumed.stdout) as RunSummary).phases[0]!.agents[0]!;
      expect(agent.costUsd).toBeCloseTo(lostUsd + attempts[1]!.costUsd, 6);
      expect(agent.estimatedCostUsd).toBeCloseTo(lostUsd, 6);
    } finally {
      orchestrator.kill('SIGKILL');
      await store.close();
    }
  });
});
