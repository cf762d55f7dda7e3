import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import { FakeRuntime, type FakeBehaviour } from '../agents/index.js';
import { defaultConfig, type BatonConfig } from '../config/index.js';
import { ErrorCodes, type Clock } from '../core/index.js';
import { parseWorkflow, type Workflow } from '../workflow/index.js';
import { RunEvents } from './events.js';
import { runWorkflow } from './run.js';
import { requestRunCancel } from './run-stop.js';

const temp = useTempStore('baton-orch-');

const config = (overrides: Partial<BatonConfig> = {}): BatonConfig => ({
  ...defaultConfig(),
  data_dir: temp.dir,
  retry_base_delay_ms: 1,
  retry_max_delay_ms: 5,
  ...overrides,
});

const diamond = parseWorkflow(
  `
version: 1
name: diamond
phases:
  - { id: join, dependsOn: [left, right], agents: [{ id: j, prompt: join them }] }
  - { id: start, agents: [{ id: s1, prompt: start one }, { id: s2, prompt: start two }] }
  - { id: left, dependsOn: [start], agents: [{ id: l, prompt: go left }] }
  - { id: right, dependsOn: [start], agents: [{ id: r, prompt: go right }] }
`,
  'diamond.yaml',
);

function run(
  workflow: Workflow,
  behaviour: FakeBehaviour,
  options: {
    config?: BatonConfig;
    signal?: AbortSignal;
    events?: RunEvents;
    runId?: string;
    resume?: boolean;
    clock?: Clock;
  } = {},
) {
  const runtime = new FakeRuntime(behaviour);
  const result = runWorkflow({
    workflow,
    workflowDir: temp.dir,
    config: options.config ?? config(),
    store: temp.store,
    runtime,
    env: { PATH: '/usr/bin' },
    signal: options.signal,
    events: options.events,
    runId: options.runId,
    resume: options.resume,
    clock: options.clock,
  });
  return { runtime, result };
}

describe('runWorkflow', () => {
  it('runs phases after their dependencies, independent ones concurrently', async () => {
    const log: string[] = [];
    const events = new RunEvents();
    events.on('agent.started', (e) => log.push(`start ${e.agentId}`));
    events.on('agent.finished', (e) => log.push(`end ${e.agentId}`));
    const { result } = run(diamond, (spec) => ({ text: `did ${spec.agentId}`, delayMs: 20 }), { events });
    const summary = await result;
    expect(summary.status).toBe('succeeded');
    const at = (entry: string) => log.indexOf(entry);
    expect(at('start l')).toBeGreaterThan(Math.max(at('end s1'), at('end s2')));
    expect(at('start r')).toBeLessThan(at('end l')); // left and right overlap
    expect(at('start j')).toBeGreaterThan(Math.max(at('end l'), at('end r')));
    expect(summary.phases.map((p) => p.id)).toEqual(['join', 'start', 'left', 'right']);
    expect(summary.totals).toMatchObject({ agents: 5, succeeded: 5, failed: 0 });
  });

  it('never runs more than parallel_limit agents at once across the whole run', async () => {
    const wide = parseWorkflow(
      `version: 1\nname: wide\nphases:\n${['a', 'b'].map((p) => `  - id: ${p}\n    agents:\n${[1, 2, 3, 4].map((i) => `      - { id: ${p}${i}, prompt: work }`).join('\n')}`).join('\n')}\n`,
      'wide.yaml',
    );
    let running = 0;
    let peak = 0;
    const events = new RunEvents();
    events.on('agent.started', () => {
      running++;
      peak = Math.max(peak, running);
    });
    events.on('agent.finished', () => running--);
    const summary = await run(wide, () => ({ text: 'ok', delayMs: 30 }), {
      config: config({ parallel_limit: 3 }),
      events,
    }).result;
    expect(summary.totals.succeeded).toBe(8);
    expect(peak).toBe(3);
  });

  it('stores a phase that failed unexpectedly as failed with its error, not left running; its dependents do not run', async () => {
    // A store that cannot save the first phase's facts: an error no phase expects.
    const store = new Proxy(temp.store, {
      get: (target, name, receiver) =>
        name === 'saveContextEntry'
          ? () => Promise.reject(new Error('the context table is locked'))
          : (Reflect.get(target, name, receiver) as unknown),
    });
    const chain = parseWorkflow(
      'version: 1\nname: chain\nphases:\n  - { id: first, agents: [{ id: f, prompt: find }] }\n  - { id: next, dependsOn: [first], agents: [{ id: n, prompt: use it }] }\n',
      'chain.yaml',
    );
    const summary = await runWorkflow({
      workflow: chain,
      workflowDir: temp.dir,
      config: config(),
      store,
      runtime: new FakeRuntime(() => ({ text: 'Finding: the cache is cold' })),
      env: { PATH: '/usr/bin' },
    });
    expect(summary.status).toBe('failed');
    const [first, next] = await Promise.all(
      ['first', 'next'].map(async (id) => (await temp.store.listPhases(summary.runId)).find((p) => p.id === id)),
    );
    expect(first).toMatchObject({
      status: 'failed',
      error: { message: expect.stringContaining('the context table is locked') },
    });
    expect(first!.finishedAt).toBeDefined();
    expect(next).toMatchObject({ status: 'skipped', error: { code: ErrorCodes.dependencyFailed } });
  });

  it('--resume runs again an agent the model refused the credentials of (fixed since), and the phase after it', async () => {
    const chain = parseWorkflow(
      'version: 1\nname: auth\nphases:\n  - { id: one, agents: [{ id: a, prompt: find }] }\n  - { id: two, dependsOn: [one], agents: [{ id: b, prompt: use it }] }\n',
      'auth.yaml',
    );
    const refused = await run(chain, () => ({
      error: { code: ErrorCodes.modelAuth, message: 'Not logged in', transient: false },
    })).result;
    expect(refused.phases.map((p) => p.agents[0]!.status)).toEqual(['failed', 'skipped']);
    const { runtime, result } = run(chain, (spec) => ({ text: `Finding: ${spec.agentId} done` }), {
      runId: refused.runId,
      resume: true,
    });
    const resumed = await result;
    expect(resumed.status).toBe('succeeded');
    expect(runtime.calls.map((c) => c.agentId)).toEqual(['a', 'b']);
  });

  it("commits a phase's results before a dependent phase starts", async () => {
    const events = new RunEvents();
    let storedWhenJoinStarted: Promise<string[]> | undefined;
    events.on('agent.started', (e) => {
      if (e.agentId !== 'j') return;
      storedWhenJoinStarted = temp.store.listAgents(e.runId).then((agents) =>
        agents
          .filter((a) => a.status === 'succeeded' && a.output)
          .map((a) => a.id)
          .sort(),
      );
    });
    await run(diamond, (spec) => ({ text: `did ${spec.agentId}`, delayMs: 5 }), { events }).result;
    expect(await storedWhenJoinStarted).toEqual(['l', 'r', 's1', 's2']);
  });

  it('skips phases whose dependencies failed, and the run is partial', async () => {
    const { result } = run(diamond, (spec) =>
      spec.agentId === 'l'
        ? { error: { code: ErrorCodes.modelInvalidRequest, message: 'bad', transient: false } }
        : { text: 'ok' },
    );
    const summary = await result;
    expect(summary.status).toBe('partial');
    const phase = (id: string) => summary.phases.find((p) => p.id === id)!;
    expect(phase('left').status).toBe('failed');
    expect(phase('right').status).toBe('succeeded');
    expect(phase('join').status).toBe('skipped');
    expect(phase('join').agents[0]).toMatchObject({
      status: 'skipped',
      error: { code: 'BATON_DEPENDENCY_FAILED', message: expect.stringContaining('left') },
    });
    expect(summary.totals).toMatchObject({ succeeded: 3, failed: 1 });
  });

  it("summarises an inherited phase keeping first what the later phase's agents ask about", async () => {
    const workflow = parseWorkflow(
      `
version: 1
name: summaries
context: { summarizer: extractive }
phases:
  - { id: research, agents: [{ id: scout, prompt: look around }] }
  - id: build
    dependsOn: [research]
    inherit: summary
    agents: [{ id: billing, prompt: Fix the invoice rounding totals }, { id: security, prompt: Harden the login session cookies }]
`,
      'summaries.yaml',
    );
    const findings = [
      ...Array.from(
        { length: 12 },
        (_, i) => `Finding: Module ${i}: cron, dashboards, runbooks, pagers, alerts, SLOs, logs.`,
      ),
      'Finding: Sign-in cookies: the Secure flag is missing on every sign-in cookie.',
      'Finding: Invoices are rounded per line: each invoice line is rounded.',
    ];
    const { runtime, result } = run(
      workflow,
      (spec) => ({ text: spec.agentId === 'scout' ? findings.join('\n') : 'ok' }),
      {
        config: config({ context_size_limit: 2_000 }), // summaries of at most 500 bytes: 4 or 5 findings
      },
    );
    await result;
    // One summary for both agents, made when the first asked: it keeps what each of them needs.
    for (const agentId of ['billing', 'security']) {
      const prompt = runtime.calls.find((c) => c.agentId === agentId)!.appendSystemPrompt;
      expect(prompt).toContain('Invoices are rounded per line: each invoice line is rounded.');
      expect(prompt).toContain('Sign-in cookies: the Secure flag is missing on every sign-in cookie.');
    }
  });

  // Twelve findings no summary reader needs, saying more (more distinct words) than the three, as
  // long, that readers paraphrase: a summary of at most 500 bytes has room for four of them.
  const scoutFindings = [
    ...Array.from(
      { length: 12 },
      (_, i) =>
        `Finding: Module ${i}: cron, dashboards, runbooks, pagers, alerts, SLOs, logs, traces, quotas, owners, budgets, backups.`,
    ),
    'Finding: Sign-in cookies lack the Secure flag: every sign-in cookie lacks the Secure cookie flag, each sign-in cookie.',
    'Finding: Invoices are rounded per line: every invoice line is rounded, and each rounded invoice line is rounded again.',
    'Finding: Webhooks retry twice: every webhook retries twice, and each retried webhook is retried twice, again and again.',
  ];
  const scoutsFindings = (spec: { agentId: string }) => ({
    text: spec.agentId === 'scout' ? scoutFindings.join('\n') : 'ok',
  });

  it('a summary is written for the agents that read summaries, not for those that filter or inherit nothing', async () => {
    const workflow = parseWorkflow(
      `
version: 1
name: readers
context: { summarizer: extractive }
phases:
  - { id: research, agents: [{ id: scout, prompt: look around }] }
  - id: build
    dependsOn: [research]
    inherit: summary
    agents: [{ id: billing, prompt: Fix the invoice rounding totals }]
  - id: ops
    dependsOn: [research]
    agents:
      - { id: oncall, prompt: "Review the cron jobs, dashboards, runbooks, pagers, alerts, SLOs and logs of each module" }
      - { id: quiet, inherit: none, prompt: "Tidy the module cron dashboards runbooks pagers alerts" }
`,
      'readers.yaml',
    );
    const { runtime, result } = run(workflow, scoutsFindings, { config: config({ context_size_limit: 2_000 }) });
    await result;
    const prompt = runtime.calls.find((c) => c.agentId === 'billing')!.appendSystemPrompt;
    expect(prompt).toContain('Invoices are rounded per line: every invoice line');
  });

  it('a run summary (inherit: all, over the size limit) keeps first what the agents reading it ask about', async () => {
    const workflow = parseWorkflow(
      `
version: 1
name: chain
context: { inherit: all, summarizer: extractive }
phases:
  - { id: a, agents: [{ id: scout, prompt: look around }] }
  - { id: b, dependsOn: [a], agents: [{ id: oncall, prompt: "Review the cron jobs, dashboards, runbooks, pagers and alerts" }] }
  - { id: c, dependsOn: [b], agents: [{ id: sre, prompt: "Audit the SLOs, logs, traces, quotas and owners of each module" }] }
  - { id: d, dependsOn: [c], agents: [{ id: billing, prompt: Fix the invoice rounding totals }] }
`,
      'chain.yaml',
    );
    // Three phase summaries of 500 bytes do not fit in 1,000: d gets one run summary of a, b and c.
    const notes: Record<string, string[]> = {
      oncall: [
        'the release train leaves on Tuesdays after the code freeze',
        'staging databases are refreshed from production snapshots nightly',
        'the design system lives in a separate repository with its own maintainers',
        'feature flags are evaluated at the edge by the CDN workers',
        'the mobile apps pin the API version through a response header',
      ],
      sre: [
        'translations are pulled from the vendor portal before each release',
        'the search index is rebuilt from scratch every Sunday morning',
        'customer exports are zipped and mailed as signed download links',
        'the legacy admin panel still runs on a single virtual machine',
        'support tickets are tagged automatically by a keyword classifier',
      ],
    };
    const { runtime, result } = run(
      workflow,
      (spec) =>
        spec.agentId === 'oncall' || spec.agentId === 'sre'
          ? { text: notes[spec.agentId]!.map((note) => `Finding: ${note}.`).join('\n') }
          : scoutsFindings(spec),
      { config: config({ context_size_limit: 1_000 }) },
    );
    await result;
    const prompt = runtime.calls.find((c) => c.agentId === 'billing')!.appendSystemPrompt;
    expect(prompt).toContain('Summary of the run so far');
    expect(prompt).toContain('Invoices are rounded per line: every invoice line');
  });

  it('a summary says the same in two runs whose agents finish in opposite orders', async () => {
    const workflow = parseWorkflow(
      `
version: 1
name: order
context: { summarizer: extractive }
phases:
  - { id: research, agents: [{ id: s1, prompt: look left }, { id: s2, prompt: look right }] }
  - { id: build, dependsOn: [research], inherit: summary, agents: [{ id: dev, prompt: Build the thing }] }
`,
      'order.yaml',
    );
    // Eight findings from each agent, none alike, equally substantial: a summary has room for about half.
    const words = ['amber', 'birch', 'cobalt', 'dune', 'ember', 'fjord', 'garnet'];
    const findings = (agentId: string) =>
      Array.from({ length: 8 }, (_, i) => `Finding: ${words.map((w) => `${w}${agentId}x${i}`).join(', ')}.`);
    const contextOf = async (first: string) => {
      const { runtime, result } = run(
        workflow,
        (spec) =>
          spec.agentId === 'dev'
            ? { text: 'ok' }
            : { text: findings(spec.agentId).join('\n'), delayMs: spec.agentId === first ? 1 : 40 },
        { config: config({ context_size_limit: 2_000 }) },
      );
      await result;
      return runtime.calls.find((c) => c.agentId === 'dev')!.appendSystemPrompt!.split('## Your assignment')[0];
    };
    const [one, two] = [await contextOf('s1'), await contextOf('s2')];
    expect(one).toContain('Summary of phase research');
    expect(two).toBe(one);
  });

  it("a swarm's members read one summary that keeps what each member's {{item}} asks about", async () => {
    const workflow = parseWorkflow(
      `
version: 1
name: swarm-readers
context: { summarizer: extractive }
phases:
  - { id: research, agents: [{ id: scout, prompt: look around }] }
  - id: build
    dependsOn: [research]
    inherit: summary
    agents:
      - id: fixer
        foreach: [invoice rounding totals, login session cookies, webhook retries]
        prompt: "Fix the {{item}}"
`,
      'swarm-readers.yaml',
    );
    const { runtime, result } = run(workflow, scoutsFindings, { config: config({ context_size_limit: 2_000 }) });
    await result;
    for (const agentId of ['fixer.0', 'fixer.1', 'fixer.2']) {
      const prompt = runtime.calls.find((c) => c.agentId === agentId)!.appendSystemPrompt;
      expect(prompt).toContain('Invoices are rounded per line: every invoice line');
      expect(prompt).toContain('Sign-in cookies lack the Secure flag: every');
      expect(prompt).toContain('Webhooks retry twice: every');
    }
  });

  it("gives each agent its own session and Baton's appended system prompt", async () => {
    const { runtime, result } = run(diamond, () => ({ text: 'ok' }));
    const summary = await result;
    const sessions = runtime.calls.map((c) => c.sessionId);
    expect(new Set(sessions).size).toBe(5);
    const l = runtime.calls.find((c) => c.agentId === 'l')!;
    expect(l.appendSystemPrompt).toContain('workflow "diamond"');
    expect(l.appendSystemPrompt).toContain('Phase: left');
    expect(l.env.CLAUDE_CODE_MAX_RETRIES).toBe('0');
    const stored = await temp.store.getSession(l.sessionId);
    expect(stored).toMatchObject({ runId: summary.runId, agentId: 'l', status: 'completed' });
  });

  it('records each attempt of a retried agent', async () => {
    const { result } = run(diamond, (spec, call) =>
      spec.agentId === 's1' && call <= 2
        ? { error: { code: ErrorCodes.modelOverloaded, message: '529', transient: true } }
        : { text: 'ok' },
    );
    const summary = await result;
    const attempts = await temp.store.listAttempts(summary.runId, 's1');
    expect(attempts.map((a) => `${a.attempt}:${a.status}`)).toEqual(['1:failed', '2:succeeded']);
    expect(attempts[0]!.error?.code).toBe('BATON_MODEL_OVERLOADED');
    expect(summary.phases.find((p) => p.id === 'start')!.agents.find((a) => a.id === 's1')!.attempts).toBe(2);
  });

  it('warns at 80 % of the run budget and stops every agent at 100 %', async () => {
    const serial = parseWorkflow(
      `version: 1\nname: budget\nbudgetUsd: 1.0\nphases:\n  - id: p\n    agents:\n${[1, 2, 3, 4, 5].map((i) => `      - { id: a${i}, prompt: work }`).join('\n')}\n`,
      'budget.yaml',
    );
    const events = new RunEvents();
    const budget: string[] = [];
    events.on('budget.warning', (e) => budget.push(`warning at ${e.spentUsd.toFixed(1)}`));
    events.on('budget.exceeded', (e) => budget.push(`exceeded at ${e.spentUsd.toFixed(1)}`));
    const { runtime, result } = run(serial, () => ({ text: 'ok', costUsd: 0.3 }), {
      config: config({ parallel_limit: 1 }),
      events,
    });
    const summary = await result;
    expect(budget).toEqual(['warning at 0.9', 'exceeded at 1.2']);
    expect(summary.status).toBe('failed');
    expect(summary.phases[0]!.agents.map((a) => a.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'succeeded',
      'cancelled',
    ]);
    expect(summary.phases[0]!.agents[4]!.error).toMatchObject({ code: 'BATON_RUN_BUDGET_EXCEEDED' });
    expect((await temp.store.getRun(summary.runId))?.error?.code).toBe('BATON_RUN_BUDGET_EXCEEDED');
    // Each agent may spend at most what is left of the run's budget.
    expect(runtime.calls.map((c) => c.maxBudgetUsd?.toFixed(1))).toEqual(['1.0', '0.7', '0.4', '0.1']);
  });

  it("warns at 80 % of the tenant's daily tokens as it does of a USD budget, once, before stopping at 100 %", async () => {
    const serial = parseWorkflow(
      `version: 1\nname: tokens\nphases:\n  - id: p\n    agents:\n${[1, 2, 3, 4, 5].map((i) => `      - { id: a${i}, prompt: work }`).join('\n')}\n`,
      'tokens.yaml',
    );
    const events = new RunEvents();
    const budget: string[] = [];
    events.on('budget.warning', (e) => budget.push(`warning ${e.limit} at ${e.spentTokens}`));
    events.on('budget.exceeded', (e) => budget.push(`exceeded ${e.limit} at ${e.spentTokens}`));
    const runtime = new FakeRuntime(() => ({ text: 'ok', usage: { inputTokens: 250, outputTokens: 50 } }));
    const summary = await runWorkflow({
      workflow: serial,
      workflowDir: temp.dir,
      config: config({ parallel_limit: 1 }),
      store: temp.store,
      runtime,
      env: { PATH: '/usr/bin' },
      events,
      budgetTokens: 1000,
    });
    expect(budget).toEqual(['warning tokens at 900', 'exceeded tokens at 1200']);
    expect(summary.status).toBe('failed');
  });

  it('says when an agent is stopped by its own maxBudgetUsd (budget.exceeded, limit agent), and the run goes on', async () => {
    const workflow = parseWorkflow(
      `version: 1\nname: capped\nphases:\n  - id: p\n    agents:\n      - { id: spender, prompt: spend, maxBudgetUsd: 0.25 }\n      - { id: thrifty, prompt: save }\n`,
      'capped.yaml',
    );
    const events = new RunEvents();
    const exceeded: unknown[] = [];
    events.on('budget.exceeded', (e) => exceeded.push(e));
    const { result } = run(
      workflow,
      (spec) =>
        spec.agentId === 'spender'
          ? {
              costUsd: 0.26,
              usage: { inputTokens: 80_000, outputTokens: 100 },
              error: {
                code: ErrorCodes.agentBudgetExceeded,
                message: 'the agent spent its USD budget',
                transient: false,
              },
            }
          : { text: 'ok', costUsd: 0.01 },
      { events },
    );
    const summary = await result;
    expect(exceeded).toEqual([
      {
        runId: summary.runId,
        limit: 'agent',
        agentId: 'spender',
        spentUsd: 0.26,
        spentTokens: 80_100,
        budgetUsd: 0.25,
      },
    ]);
    expect(summary.phases[0]!.agents.map((a) => a.status)).toEqual(['failed', 'succeeded']);
  });

  /** A run with a $1 budget whose second phase reads a summary, written by a summarizer agent. */
  const summarizedWorkflow = (name: string) =>
    parseWorkflow(
      `
version: 1
name: ${name}
budgetUsd: 1.0
context: { summarizer: agent }
phases:
  - { id: research, agents: [{ id: scout, prompt: look around }] }
  - { id: build, dependsOn: [research], inherit: summary, agents: [{ id: dev, prompt: build it }] }
`,
      `${name}.yaml`,
    );

  it("counts the summarizer's model calls against the run budget, and caps them by what is left", async () => {
    const workflow = summarizedWorkflow('summarized');
    const events = new RunEvents();
    const exceeded: number[] = [];
    events.on('budget.exceeded', (e) => exceeded.push(e.spentUsd));
    const { runtime, result } = run(
      workflow,
      (spec) =>
        spec.agentId === 'context-summarizer'
          ? { text: 'the summary', costUsd: 0.4 }
          : { text: 'Finding: the cache is cold.', costUsd: 0.3 },
      { events },
    );
    const summary = await result;
    // scout 0.3 + summarizer 0.4 + dev 0.3 reach the budget.
    expect(exceeded.map((usd) => usd.toFixed(1))).toEqual(['1.0']);
    expect(summary.status).toBe('failed');
    expect(runtime.calls.find((c) => c.agentId === 'context-summarizer')?.maxBudgetUsd?.toFixed(1)).toBe('0.7');
    expect(runtime.calls.find((c) => c.agentId === 'dev')?.maxBudgetUsd?.toFixed(1)).toBe('0.3');
    // The call is stored as the run's, with its purpose and tenant, and the run's totals count it.
    const summarizer = runtime.calls.find((c) => c.agentId === 'context-summarizer')!;
    expect(await temp.store.listBatonCalls(summary.runId)).toEqual([
      expect.objectContaining({
        id: summarizer.sessionId,
        runId: summary.runId,
        tenant: 'default',
        purpose: 'summary',
      }),
    ]);
    expect(summary.batonCalls).toMatchObject({ calls: 1, costUsd: 0.4, byPurpose: { summary: { calls: 1 } } });
    expect(summary.totals.costUsd.toFixed(1)).toBe('1.0');
  });

  it("a resumed run's budget starts from what the summarizer spent before, not only its agents", async () => {
    const workflow = summarizedWorkflow('summarized-resume');
    const controller = new AbortController();
    const behaviour: FakeBehaviour = (spec) => {
      if (spec.agentId === 'context-summarizer') return { text: 'the summary', costUsd: 0.4 };
      if (spec.agentId === 'scout') return { text: 'Finding: the cache is cold.', costUsd: 0.3 };
      if (!controller.signal.aborted) controller.abort(new Error('run cancelled by SIGINT'));
      return { text: 'built', costUsd: 0.1, delayMs: controller.signal.aborted ? 0 : 5_000 };
    };
    const first = await run(workflow, behaviour, { signal: controller.signal, runId: 'summarized-resume' }).result;
    expect(first.status).toBe('cancelled');
    const { runtime, result } = run(workflow, behaviour, { runId: 'summarized-resume', resume: true });
    const resumed = await result;
    expect(resumed.status).toBe('succeeded');
    // 1.0 - scout 0.3 - the summarizer's 0.4 (stored by the first orchestrator) - dev's cancelled attempt 0.1.
    expect(runtime.calls.find((c) => c.agentId === 'dev')?.maxBudgetUsd?.toFixed(1)).toBe('0.2');
  });

  it('a run cancelled during a summarizer call stores no summary: resumed, it asks the summarizer again', async () => {
    const workflow = parseWorkflow(
      `
version: 1
name: cancel-summary
context: { summarizer: agent }
phases:
  - { id: research, agents: [{ id: scout, prompt: look around }] }
  - { id: build, dependsOn: [research], inherit: summary, agents: [{ id: dev, prompt: Fix the invoice rounding totals }] }
`,
      'cancel-summary.yaml',
    );
    const controller = new AbortController();
    const behaviour =
      (cancel: boolean): FakeBehaviour =>
      (spec) => {
        if (spec.agentId !== 'context-summarizer') return scoutsFindings(spec);
        if (cancel) controller.abort(new Error('run cancelled by SIGINT'));
        return cancel ? { text: 'never', delayMs: 5_000 } : { text: 'Invoices: rounded per line.' };
      };
    const first = await run(workflow, behaviour(true), { signal: controller.signal, runId: 'cancel-summary' }).result;
    expect(first.status).toBe('cancelled');
    expect(first.phases.find((p) => p.id === 'build')!.agents[0]!.status).toBe('cancelled');
    const summaries = await temp.store.listContextEntries({
      runId: 'cancel-summary',
      phaseIds: ['research'],
      level: 1,
    });
    expect(summaries.entries).toEqual([]);

    const { runtime, result } = run(workflow, behaviour(false), { runId: 'cancel-summary', resume: true });
    const resumed = await result;
    expect(resumed.status).toBe('succeeded');
    expect(runtime.calls.find((c) => c.agentId === 'dev')!.appendSystemPrompt).toContain('Invoices: rounded per line.');
  });

  it('a phase gate nobody answers: onTimeout deny refuses that gate, the run going on; fail fails its phase and stops the run', async () => {
    const gated = (onTimeout: 'deny' | 'fail') =>
      parseWorkflow(
        `version: 1
name: gated
phases:
  - id: ship
    approval: { before: true }
    permissions: { approvalTimeoutMs: 60000, onTimeout: ${onTimeout} }
    agents: [{ id: shipper, prompt: ship it }]
  - { id: announce, dependsOn: [ship], agents: [{ id: announcer, prompt: announce it }] }
  - { id: build, agents: [{ id: builder, prompt: build it }] }
`,
        'gated.yaml',
      );
    const phase = (summary: Awaited<ReturnType<typeof runWorkflow>>, id: string) => {
      const found = summary.phases.find((p) => p.id === id)!;
      return [found.status, found.agents[0]!.status, found.agents[0]!.error?.code];
    };
    // The gate's deadline passes (an hour on, on the run's clock) while the builder works: 1 s, or 30 s with fail.
    const expireWhileBuilding = async (onTimeout: 'deny' | 'fail') => {
      let now = Date.now();
      let building = (): void => undefined;
      const started = new Promise<void>((resolve) => (building = resolve));
      const delayMs = onTimeout === 'fail' ? 30_000 : 1_000;
      const { result } = run(
        gated(onTimeout),
        (spec) => (spec.agentId === 'builder' ? (building(), { text: 'built', delayMs }) : { text: 'done' }),
        { clock: { now: () => now } },
      );
      await started;
      now += 3_600_000;
      return result;
    };
    const refused = await expireWhileBuilding('deny');
    expect(refused.status).toBe('partial');
    expect(phase(refused, 'ship')).toEqual(['skipped', 'skipped', ErrorCodes.approvalTimeout]);
    expect(phase(refused, 'announce')).toEqual(['skipped', 'skipped', ErrorCodes.dependencyFailed]);
    expect(phase(refused, 'build')).toEqual(['succeeded', 'succeeded', undefined]);
    const failed = await expireWhileBuilding('fail');
    expect(failed.status).toBe('failed');
    expect((await temp.store.getRun(failed.runId))?.error).toMatchObject({
      code: ErrorCodes.approvalTimeout,
      message: expect.stringContaining('phase ship'),
    });
    expect(phase(failed, 'ship')).toEqual(['failed', 'failed', ErrorCodes.approvalTimeout]);
    // What had not started is cancelled; the builder, stopped while it worked, fails with the reason.
    expect(phase(failed, 'announce')).toEqual(['cancelled', 'cancelled', ErrorCodes.approvalTimeout]);
    expect(phase(failed, 'build')).toEqual(['failed', 'failed', ErrorCodes.approvalTimeout]);
  });

  it('cancels every agent when its signal aborts', async () => {
    const controller = new AbortController();
    const events = new RunEvents();
    events.on('agent.started', () => controller.abort(new Error('run cancelled by SIGINT')));
    const summary = await run(diamond, () => ({ text: 'ok', delayMs: 5000 }), { signal: controller.signal, events })
      .result;
    expect(summary.status).toBe('cancelled');
    const all = summary.phases.flatMap((p) => p.agents);
    expect(all.every((a) => a.status === 'cancelled')).toBe(true);
    expect(all[0]!.error?.code).toBe('BATON_CANCELLED');
  });

  it('is cancelled through the store, as `baton cancel` from another process does', async () => {
    const events = new RunEvents();
    events.on('agent.started', (e) => void requestRunCancel(temp.store, e.runId));
    const started = Date.now();
    const summary = await run(diamond, () => ({ text: 'ok', delayMs: 10_000 }), { events }).result;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(summary.status).toBe('cancelled');
    expect((await temp.store.getRun(summary.runId))?.status).toBe('cancelled');
  });

  it("a timeout's error names the timeout as configured and where to change it, not the timer left after preparing", async () => {
    // Each reading of the clock is 40 ms later: preparing the agent takes time off its timer.
    let now = 1_000_000;
    const clock: Clock = { now: () => (now += 40) };
    const workflow =
      'version: 1\nname: slow\nphases: [{ id: p, agents: [{ id: slow, prompt: work, timeoutMs: 300 }] }]\n';
    const late = () => ({ text: 'late', delayMs: 10_000 });
    const timedOut = async (yaml: string, overrides: Partial<BatonConfig> = {}) => {
      const summary = await run(parseWorkflow(yaml, 'slow.yaml'), late, { clock, config: config(overrides) }).result;
      const agent = summary.phases[0]!.agents[0]!;
      expect(agent.error?.code).toBe(ErrorCodes.agentTimeout);
      return agent.error!.message;
    };
    expect(await timedOut(workflow)).toBe(
      "agent slow timed out after 300 ms and was killed; to give it longer, raise the agent's timeoutMs in the workflow",
    );
    // Set for every agent by the workflow's defaults, or by the config.
    const unset = 'version: 1\nname: slow\nphases: [{ id: p, agents: [{ id: slow, prompt: work }] }]\n';
    expect(await timedOut(`${unset}defaults: { timeoutMs: 250 }\n`)).toBe(
      'agent slow timed out after 250 ms and was killed; to give it longer, raise defaults.timeoutMs in the workflow',
    );
    expect(await timedOut(unset, { agent_timeout_ms: 200 })).toBe(
      'agent slow timed out after 200 ms and was killed; to give it longer, raise agent_timeout_ms in the Baton config',
    );
  });

  it('the summary (`baton run|status --json`) says whom the run is for and its priority', async () => {
    const workflow = parseWorkflow(
      'version: 1\nname: urgent\npriority: 3\nphases: [{ id: p, agents: [{ id: a, prompt: work }] }]\n',
      'urgent.yaml',
    );
    const common = { workflowDir: temp.dir, config: config(), store: temp.store, env: { PATH: '/usr/bin' } };
    const summary = await runWorkflow({ ...common, workflow, runtime: new FakeRuntime(), tenant: 'acme' });
    expect(summary).toMatchObject({ tenant: 'acme', priority: 3 });
    // A resume given another priority says the new one.
    const resumed = await runWorkflow({
      ...common,
      workflow,
      runtime: new FakeRuntime(),
      runId: summary.runId,
      resume: true,
      priority: 9,
    });
    expect(resumed).toMatchObject({ tenant: 'acme', priority: 9 });
  });
});
