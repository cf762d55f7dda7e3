import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireProgram } from '../../test/support/programs.js';
import { gitIn, makeRepo } from '../../test/support/git-repo.js';
import { useTempStore } from '../../test/support/temp-store.js';
import { FakeRuntime, type AgentSpec, type AttemptOutcome, type FakeBehaviour } from '../agents/index.js';
import { defaultConfig, type BatonConfig } from '../config/index.js';
import { ErrorCodes } from '../core/index.js';
import { parseWorkflow } from '../workflow/index.js';
import { RunEvents } from './events.js';
import { LocalExecutor } from './execute.js';
import { runWorkflow, type RunWorkflowOptions } from './run.js';
import { AgentScheduler } from './scheduler.js';

const temp = useTempStore('baton-orchestration-');

const config = (overrides: Partial<BatonConfig> = {}): BatonConfig => ({
  ...defaultConfig(),
  data_dir: temp.dir,
  retry_base_delay_ms: 1,
  retry_max_delay_ms: 5,
  ...overrides,
});

function start(yaml: string, behaviour: FakeBehaviour, options: Partial<RunWorkflowOptions> = {}) {
  const runtime = new FakeRuntime(behaviour);
  const events = options.events ?? new RunEvents();
  const result = runWorkflow({
    workflow: parseWorkflow(yaml, 'wf.yaml'),
    workflowDir: temp.dir,
    config: config(),
    store: temp.store,
    runtime,
    env: { PATH: '/usr/bin' },
    events,
    ...options,
  });
  return { runtime, events, result };
}

const phaseOf = async (runId: string, id: string) => (await temp.store.listPhases(runId)).find((p) => p.id === id)!;

describe('orchestration: swarms', () => {
  it('fans count: 20 out into 20 agents with their own sessions and collects every result once', async () => {
    // 16 agents wait for a slot on the run's signal at once: that is no leak, and Node must not say so.
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    const { runtime, result } = start(
      `version: 1\nname: swarm\nphases:\n  - id: fan\n    agents:\n      - { id: worker, count: 20, prompt: "part {{index}} of {{count}}", outputSchema: { type: object } }\n`,
      (spec) => ({ text: `did ${spec.prompt}`, structured: { part: spec.prompt }, delayMs: 5 }),
      { config: config({ parallel_limit: 4 }) },
    );
    const summary = await result;
    const agents = summary.phases[0]!.agents;
    expect(agents.map((a) => a.id)).toEqual(Array.from({ length: 20 }, (_, i) => `worker.${i}`));
    expect(new Set(agents.map((a) => a.sessionId)).size).toBe(20);
    expect(runtime.calls.map((c) => c.prompt).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `part ${i} of 20`).sort(),
    );
    expect(agents.map((a) => a.result)).toEqual(Array.from({ length: 20 }, (_, i) => `did part ${i} of 20`));
    const stored = await temp.store.listAgents(summary.runId);
    expect(stored.filter((a) => a.entryId === 'worker').map((a) => a.index)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    const output = (await phaseOf(summary.runId, 'fan')).output!;
    expect(output.strategy).toBe('concat');
    expect((output.structured as unknown[]).length).toBe(20);
    await new Promise(setImmediate); // warnings are emitted on a later tick
    process.off('warning', onWarning);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it("fans foreach out over an earlier phase's structured output, with {{item}} fields in the prompt", async () => {
    const { runtime, result } = start(
      `version: 1
name: foreach
phases:
  - { id: scan, agents: [{ id: scanner, prompt: list files, outputSchema: { type: object } }] }
  - id: review
    dependsOn: [scan]
    agents:
      - { id: reviewer, prompt: "review {{item.path}} ({{item.lang}})", foreach: { phase: scan, field: files } }
`,
      (spec) =>
        spec.agentId === 'scanner'
          ? {
              text: 'found 3',
              structured: {
                files: [
                  { path: 'a.ts', lang: 'ts' },
                  { path: 'b.py', lang: 'py' },
                  { path: 'c.go', lang: 'go' },
                ],
              },
            }
          : { text: `ok ${spec.prompt}` },
    );
    const summary = await result;
    expect(summary.status).toBe('succeeded');
    expect(
      runtime.calls.filter((c) => c.agentId.startsWith('reviewer')).map((c) => `${c.agentId}: ${c.prompt}`),
    ).toEqual(['reviewer.0: review a.ts (ts)', 'reviewer.1: review b.py (py)', 'reviewer.2: review c.go (go)']);
  });

  it("fails the phase with a clear error when foreach's list is missing", async () => {
    const { result } = start(
      `version: 1\nname: x\nphases:\n  - { id: scan, agents: [{ id: s, prompt: p }] }\n  - { id: r, dependsOn: [scan], agents: [{ id: x, prompt: p, foreach: { phase: scan, field: files } }] }\n`,
      () => ({ text: 'no structure' }),
    );
    const summary = await result;
    const review = await phaseOf(summary.runId, 'r');
    expect(review.status).toBe('failed');
    expect(review.error?.message).toMatch(/foreach: phase "scan" field "files" is missing from its structured output/);
  });
});

describe('orchestration: skipped phases and foreach', () => {
  it('a phase skipped with an empty foreach list is skipped, not succeeded, and its dependents do not run', async () => {
    const { runtime, result } = start(
      `version: 1
name: empty-skip
phases:
  - id: scan
    agents:
      - { id: s, prompt: scan, outputSchema: { type: object } }
      - { id: broken, prompt: break }
  - { id: review, dependsOn: [scan], agents: [{ id: r, prompt: "review {{item}}", foreach: { phase: scan, field: files } }] }
  - { id: report, dependsOn: [review], agents: [{ id: rep, prompt: report }] }
`,
      (spec) =>
        spec.agentId === 'broken'
          ? { error: { code: 'BATON_AGENT_CRASHED', message: 'boom', transient: false } }
          : { text: 'ok', structured: { files: [] } },
    );
    const summary = await result;
    expect(await phaseOf(summary.runId, 'review')).toMatchObject({
      status: 'skipped',
      error: { code: ErrorCodes.dependencyFailed },
    });
    expect((await phaseOf(summary.runId, 'report')).status).toBe('skipped');
    expect(runtime.calls.map((c) => c.agentId)).not.toContain('rep');
  });

  it('a foreach over a phase skipped by its own when is skipped the same way, and the run goes on', async () => {
    const { runtime, result } = start(
      `version: 1
name: skip-foreach
phases:
  - { id: check, agents: [{ id: c, prompt: check, outputSchema: { type: object } }] }
  - { id: gated, dependsOn: [check], when: { phase: check, field: go, equals: true }, agents: [{ id: g, prompt: list, outputSchema: { type: object } }] }
  - { id: each, dependsOn: [gated], agents: [{ id: e, prompt: "do {{item}}", foreach: { phase: gated, field: xs } }] }
  - { id: after, dependsOn: [each], agents: [{ id: a, prompt: wrap up }] }
`,
      () => ({ text: 'ok', structured: { go: false } }),
    );
    const summary = await result;
    expect(summary.status).toBe('succeeded');
    expect(await phaseOf(summary.runId, 'each')).toMatchObject({
      status: 'skipped',
      error: { code: ErrorCodes.conditionFalse, message: expect.stringContaining('foreach reads phase gated') },
    });
    expect((await phaseOf(summary.runId, 'after')).status).toBe('succeeded');
    expect(runtime.calls.map((c) => c.agentId).sort()).toEqual(['a', 'c']);
  });
});

describe('orchestration: phase output without aggregate', () => {
  it('a phase of two plain agents whose one failed concatenates, as it does when both succeed', async () => {
    const { result } = start(
      'version: 1\nname: two\nphases:\n  - { id: p, agents: [{ id: ok, prompt: ok, outputSchema: { type: object } }, { id: bad, prompt: bad }] }\n',
      (spec) =>
        spec.agentId === 'bad'
          ? { error: { code: 'BATON_AGENT_CRASHED', message: 'boom', transient: false } }
          : { text: 'fine', structured: { n: 1 } },
    );
    const summary = await result;
    expect((await phaseOf(summary.runId, 'p')).output).toMatchObject({ strategy: 'concat' });
  });
});

describe('orchestration: conditions', () => {
  const yaml = `version: 1
name: when
phases:
  - { id: review, agents: [{ id: reviewer, prompt: review, outputSchema: { type: object } }] }
  - id: fix
    dependsOn: [review]
    when: { phase: review, field: verdict, equals: changes }
    agents: [{ id: fixer, prompt: fix }]
  - { id: report, dependsOn: [fix], agents: [{ id: reporter, prompt: report }] }
`;

  it('skips a phase whose when is false, and its dependents still run', async () => {
    const { runtime, result } = start(yaml, () => ({ text: 'ok', structured: { verdict: 'approve' } }));
    const summary = await result;
    expect(runtime.calls.map((c) => c.agentId)).toEqual(['reviewer', 'reporter']);
    const fix = await phaseOf(summary.runId, 'fix');
    expect(fix).toMatchObject({
      status: 'skipped',
      error: { code: ErrorCodes.conditionFalse, message: 'not run: when: review.verdict is "approve", not "changes"' },
    });
    expect(summary.status).toBe('succeeded');
  });

  it("runs an on-failure phase whose when asks for its failed dependency's status", async () => {
    const summary = await start(
      `version: 1
name: on-failure
phases:
  - { id: build, agents: [{ id: builder, prompt: build }] }
  - { id: ship, dependsOn: [build], agents: [{ id: shipper, prompt: ship }] }
  - id: triage
    dependsOn: [build]
    when: { phase: build, status: [failed, partial] }
    agents: [{ id: triager, prompt: triage }]
`,
      (spec) =>
        spec.agentId === 'builder'
          ? { error: { code: ErrorCodes.agentFailed, message: 'compile error', transient: false } }
          : { text: 'ok' },
    ).result;
    expect(summary.phases.map((p) => `${p.id}:${p.status}`)).toEqual([
      'build:failed',
      'ship:skipped',
      'triage:succeeded',
    ]);
    expect(summary.phases[1]!.agents[0]!.error?.code).toBe(ErrorCodes.dependencyFailed);
  });

  it('runs it when the condition holds', async () => {
    const { runtime, result } = start(yaml, () => ({ text: 'ok', structured: { verdict: 'changes' } }));
    const summary = await result;
    expect(runtime.calls.map((c) => c.agentId)).toEqual(['reviewer', 'fixer', 'reporter']);
    expect(summary.phases.find((p) => p.id === 'fix')!.status).toBe('succeeded');
  });
});

describe('orchestration: aggregation', () => {
  const swarm = (aggregate: string, count = 3) =>
    `version: 1\nname: agg\nphases:\n  - id: p\n    aggregate: ${aggregate}\n    agents:\n      - { id: a, count: ${count}, prompt: "task {{index}}", outputSchema: { type: object } }\n  - { id: next, dependsOn: [p], inherit: all, agents: [{ id: n, prompt: use it }] }\n`;

  it('concat joins every result under its agent', async () => {
    const summary = await start(swarm('concat'), (spec) => ({ text: `text of ${spec.agentId}` })).result;
    const output = (await phaseOf(summary.runId, 'p')).output!;
    expect(output.text).toBe('## a.0\ntext of a.0\n\n## a.1\ntext of a.1\n\n## a.2\ntext of a.2');
  });

  it('merge deep-merges structured outputs and lists conflicts', async () => {
    const outputs: Record<string, unknown> = {
      'a.0': { files: ['x.ts'], meta: { owner: 'ann', lang: 'ts' } },
      'a.1': { files: ['y.ts', 'x.ts'], meta: { owner: 'bob' } },
      'a.2': { tests: 4 },
    };
    const summary = await start(swarm('merge'), (spec) => ({ text: 'ok', structured: outputs[spec.agentId] })).result;
    const output = (await phaseOf(summary.runId, 'p')).output!;
    expect(output.structured).toEqual({ files: ['x.ts', 'y.ts'], meta: { owner: 'ann', lang: 'ts' }, tests: 4 });
    expect(output.details?.conflicts).toEqual([
      {
        path: 'meta.owner',
        values: [
          { agentId: 'a.0', value: 'ann' },
          { agentId: 'a.1', value: 'bob' },
        ],
      },
    ]);
  });

  it('vote takes the majority on a field and reports ties', async () => {
    const verdicts: Record<string, string> = { 'a.0': 'yes', 'a.1': 'no', 'a.2': 'yes' };
    const summary = await start(swarm('{ strategy: vote, field: verdict }'), (spec) => ({
      text: 'ok',
      structured: { verdict: verdicts[spec.agentId] },
    })).result;
    const output = (await phaseOf(summary.runId, 'p')).output!;
    expect(output.structured).toMatchObject({ verdict: 'yes' });
    expect(output.text).toBe('verdict = "yes" (2 of 3 votes)');
    // `baton status` / `--json` show it under the phase.
    expect(summary.phases[0]!.output).toEqual(output);

    const tied = await start(swarm('{ strategy: vote, field: verdict }', 2), (spec) => ({
      text: 'ok',
      structured: { verdict: spec.agentId === 'a.0' ? 'yes' : 'no' },
    })).result;
    const tie = (await phaseOf(tied.runId, 'p')).output!;
    expect(tie.structured).toMatchObject({ verdict: null, tie: ['yes', 'no'] });
    expect(tie.text).toMatch(/^tie on verdict between "yes" and "no"/);
  });

  it('judge runs a judge agent over every result, and its answer is the phase output that dependents inherit', async () => {
    const { runtime, result } = start(swarm('judge'), (spec) =>
      spec.agentId === 'p.judge'
        ? { text: 'Decision: a.1 is best', structured: { best: 'a.1' } }
        : { text: `answer ${spec.agentId}`, structured: { n: spec.agentId } },
    );
    const summary = await result;
    const judge = runtime.calls.find((c) => c.agentId === 'p.judge')!;
    for (const id of ['a.0', 'a.1', 'a.2']) expect(judge.prompt).toContain(`<result agent="${id}">`);
    const output = (await phaseOf(summary.runId, 'p')).output!;
    expect(output).toMatchObject({
      strategy: 'judge',
      text: 'Decision: a.1 is best',
      structured: { best: 'a.1' },
      details: { judge: 'p.judge' },
    });
    const next = runtime.calls.find((c) => c.agentId === 'n')!;
    expect(next.appendSystemPrompt).toContain('a.1 is best');
    expect((await temp.store.getAgent(summary.runId, 'p.judge'))?.role).toBe('judge');
    // Its facts are marked as the judge's, so they have the last word over the phase's agents' facts.
    const { entries } = await temp.store.listContextEntries({ runId: summary.runId, phaseIds: ['p'] });
    const tagsOf = (agentId: string) => entries.filter((e) => e.agentId === agentId).map((e) => e.tags);
    expect(tagsOf('p.judge')).toEqual([['baton:judge']]);
    expect(tagsOf('a.0').flat()).not.toContain('baton:judge');
  });

  it('reduce folds a large fan-out level by level, fanIn at a time', async () => {
    const { runtime, result } = start(swarm('{ strategy: reduce, fanIn: 3 }', 7), (spec) => ({
      text: `r(${spec.agentId})`,
    }));
    const summary = await result;
    const reducers = runtime.calls.filter((c) => c.agentId.startsWith('p.reduce')).map((c) => c.agentId);
    // 7 results -> 3 groups (3, 3, 1: the single one passes through) -> 1 group of 3 -> done.
    expect(reducers).toEqual(['p.reduce.1.0', 'p.reduce.1.1', 'p.reduce.2.0']);
    const last = runtime.calls.find((c) => c.agentId === 'p.reduce.2.0')!;
    expect(last.prompt).toContain('r(p.reduce.1.0)');
    expect(last.prompt).toContain('<result agent="a.6">');
    expect((await phaseOf(summary.runId, 'p')).output).toMatchObject({
      strategy: 'reduce',
      text: 'r(p.reduce.2.0)',
      details: { levels: 2, inputs: 7 },
    });
    const { entries } = await temp.store.listContextEntries({ runId: summary.runId, phaseIds: ['p'] });
    expect(entries.filter((e) => e.tags.includes('baton:reducer')).map((e) => e.agentId)).toEqual(reducers);
  });
});

describe('orchestration: multi-generation planning', () => {
  it("runs the planner's tasks as the next generation, feeds results back, and stops when it says done", async () => {
    const yaml = `version: 1
name: planned
phases:
  - { id: plan, plan: { maxGenerations: 4 }, agents: [{ id: planner, prompt: Build the feature }] }
  - { id: report, dependsOn: [plan], agents: [{ id: reporter, prompt: report }] }
`;
    const plans: Record<string, unknown> = {
      'planner.g1': {
        done: false,
        tasks: [
          { id: 'schema', prompt: 'design schema' },
          { id: 'api', prompt: 'write api', dependsOn: ['schema'] },
        ],
      },
      'planner.g2': { done: false, tasks: [{ id: 'tests', prompt: 'write tests' }] },
      'planner.g3': { done: true, summary: 'all done', tasks: [] },
    };
    const order: string[] = [];
    const { runtime, events, result } = start(yaml, (spec) => {
      order.push(spec.agentId);
      return plans[spec.agentId]
        ? { text: 'plan', structured: plans[spec.agentId] }
        : { text: `Finding: ${spec.prompt} done` };
    });
    const generations: number[] = [];
    events.on('plan.generation', (e) => generations.push(e.generation));
    const summary = await result;
    expect(summary.status).toBe('succeeded');
    expect(order).toEqual([
      'planner.g1',
      'plan.g1.schema',
      'plan.g1.api',
      'planner.g2',
      'plan.g2.tests',
      'planner.g3',
      'reporter',
    ]);
    expect(generations).toEqual([1, 2, 3]);
    const second = runtime.calls.find((c) => c.agentId === 'planner.g2')!;
    expect(second.prompt).toContain('Build the feature');
    expect(second.prompt).toMatch(/Generation 1:\n- schema \(succeeded\): Finding: design schema done/);
    expect(second.outputSchema).toMatchObject({ type: 'object', required: expect.arrayContaining(['done']) });
    const phases = await temp.store.listPhases(summary.runId);
    expect(phases.filter((p) => p.parentId === 'plan').map((p) => `${p.id}@${p.generation}`)).toEqual([
      'plan.g1.schema@1',
      'plan.g1.api@1',
      'plan.g2.tests@2',
    ]);
    expect(phases.find((p) => p.id === 'plan.g1.api')?.spec).toMatchObject({ dependsOn: ['plan.g1.schema'] });
    expect(summary.phases.filter((p) => p.parentId === 'plan').map((p) => `${p.id}@${p.generation}`)).toEqual([
      'plan.g1.schema@1',
      'plan.g1.api@1',
      'plan.g2.tests@2',
    ]);
    expect(summary.phases[0]!.agents.map((a) => `${a.id}:${a.role}`)).toEqual([
      'planner.g1:planner',
      'planner.g2:planner',
      'planner.g3:planner',
    ]);
    // Later generations inherit what earlier ones found.
    expect(runtime.calls.find((c) => c.agentId === 'plan.g2.tests')!.appendSystemPrompt).toContain(
      'design schema done',
    );
    expect((await phaseOf(summary.runId, 'plan')).output).toMatchObject({
      strategy: 'plan',
      structured: { done: true },
      details: { generations: 2 },
    });
  });

  /** A planner, then a reporter that inherits everything the plan phase produced. */
  const plannedThenReport = `version: 1
name: planned-then-report
phases:
  - { id: plan, plan: { maxGenerations: 3 }, agents: [{ id: planner, prompt: Build the feature }] }
  - { id: report, dependsOn: [plan], agents: [{ id: reporter, prompt: Report on the schema, inherit: all }] }
`;

  it("a phase after the plan phase inherits what the planned agents found, not only the planner's plans", async () => {
    const plans: Record<string, unknown> = {
      'planner.g1': { done: false, tasks: [{ id: 'schema', prompt: 'design schema' }] },
      'planner.g2': { done: true, summary: 'all done', tasks: [] },
    };
    const { runtime, result } = start(plannedThenReport, (spec) =>
      plans[spec.agentId]
        ? { text: 'plan', structured: plans[spec.agentId] }
        : { text: 'Decision: the schema keys orders by tenant id' },
    );
    const summary = await result;
    expect(summary.status).toBe('succeeded');
    const reporter = runtime.calls.find((c) => c.agentId === 'reporter')!;
    expect(reporter.appendSystemPrompt).toContain('the schema keys orders by tenant id');
    expect(reporter.appendSystemPrompt).toContain('### From agent plan.g1.schema, phase plan.g1.schema');
  });

  it("later agents get a planner's tasks and summary as facts, not its plan's JSON", async () => {
    const plans: Record<string, unknown> = {
      'planner.g1': {
        done: false,
        tasks: [
          { id: 'schema', prompt: 'Design the orders schema' },
          { id: 'api', prompt: 'Write the orders API', dependsOn: ['schema'] },
        ],
      },
      'planner.g2': { done: true, summary: 'The orders feature is built.', tasks: [] },
    };
    // As Claude Code answers a JSON-schema agent: the result text is the structured output's JSON.
    const { runtime, result } = start(plannedThenReport, (spec) =>
      plans[spec.agentId]
        ? { text: JSON.stringify(plans[spec.agentId]), structured: plans[spec.agentId] }
        : {
            text: `Finding: ${spec.agentId === 'plan.g1.api' ? 'GET /orders pages by cursor' : 'orders are keyed by tenant'}`,
          },
    );
    const summary = await result;
    expect(summary.status).toBe('succeeded');
    const facts = (await temp.store.listContextEntries({ runId: summary.runId, phaseIds: ['plan'] })).entries;
    expect(facts.filter((e) => e.agentId?.startsWith('planner')).map((e) => [e.agentId, e.type, e.content])).toEqual([
      ['planner.g1', 'finding', 'Planned task schema (generation 1): Design the orders schema'],
      ['planner.g1', 'finding', 'Planned task api (generation 1, after schema): Write the orders API'],
      ['planner.g2', 'finding', 'The orders feature is built.'],
    ]);
    const reporter = runtime.calls.find((c) => c.agentId === 'reporter')!.appendSystemPrompt;
    expect(reporter).toContain('Planned task api (generation 1, after schema): Write the orders API');
    expect(reporter).not.toContain('"done"');
    // The API task is told its sibling's task, as a fact of its planner.
    expect(runtime.calls.find((c) => c.agentId === 'plan.g1.api')!.appendSystemPrompt).toContain(
      'Planned task schema (generation 1): Design the orders schema',
    );
  });

  it("a planner's tasks reading one summary at once find in it what each of them asks about", async () => {
    const yaml = `version: 1
name: planned-summaries
context: { inherit: summary, summarizer: extractive }
phases:
  - { id: plan, plan: { maxGenerations: 3 }, agents: [{ id: planner, prompt: Fix what the research finds }] }
`;
    // Twelve findings no task needs, saying more than the three, as long, that the tasks paraphrase:
    // a summary of at most 500 bytes has room for four of them.
    const findings = [
      ...Array.from(
        { length: 12 },
        (_, i) =>
          `Finding: Module ${i}: cron, dashboards, runbooks, pagers, alerts, SLOs, logs, traces, quotas, owners.`,
      ),
      'Finding: Sign-in cookies lack the Secure flag: every sign-in cookie lacks the Secure cookie flag, each sign-in cookie.',
      'Finding: Invoices are rounded per line: every invoice line is rounded, and each rounded invoice line is rounded again.',
      'Finding: Webhooks retry twice: every webhook retries twice, and each retried webhook is retried twice, again and again.',
    ];
    const tasks = ['Fix the invoice rounding totals', 'Harden the login session cookies', 'Make webhook retries safe'];
    const plans: Record<string, unknown> = {
      'planner.g1': { done: false, tasks: [{ id: 'research', prompt: 'look around' }] },
      'planner.g2': { done: false, tasks: tasks.map((prompt, i) => ({ id: `fix${i}`, prompt })) },
      'planner.g3': { done: true, tasks: [] },
    };
    const { runtime, result } = start(
      yaml,
      (spec) =>
        plans[spec.agentId]
          ? { text: 'plan', structured: plans[spec.agentId] }
          : { text: spec.agentId === 'plan.g1.research' ? findings.join('\n') : 'ok' },
      { config: config({ context_size_limit: 2_000 }) },
    );
    expect((await result).status).toBe('succeeded');
    for (const [i, needed] of ['Invoices are rounded', 'Sign-in cookies lack', 'Webhooks retry twice'].entries())
      expect(runtime.calls.find((c) => c.agentId === `plan.g2.fix${i}`)!.appendSystemPrompt).toContain(needed);
  });

  it('stops at maxGenerations and fails a plan that is not valid', async () => {
    const yaml = `version: 1\nname: p\nphases:\n  - { id: plan, plan: { maxGenerations: 2 }, agents: [{ id: planner, prompt: go }] }\n`;
    const endless = await start(yaml, (spec) =>
      spec.agentId.startsWith('planner')
        ? { text: 'plan', structured: { done: false, tasks: [{ id: 't', prompt: 'again' }] } }
        : { text: 'did it' },
    ).result;
    expect((await phaseOf(endless.runId, 'plan')).output).toMatchObject({
      details: { generations: 2, reachedLimit: true },
    });

    const broken = await start(yaml, () => ({
      text: 'plan',
      structured: { done: false, tasks: [{ id: 'a', prompt: 'x', dependsOn: ['ghost'] }] },
    })).result;
    expect(broken.status).toBe('failed');
    expect((await phaseOf(broken.runId, 'plan')).error).toEqual({
      code: ErrorCodes.planInvalid,
      message: 'planner planner.g1: task "a" depends on unknown task "ghost"',
    });
  });
});

describe('orchestration: a planner that plans too much', () => {
  const tasks = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `t${i}`, prompt: 'work' }));

  it('refuses a generation over plan.maxTasks (default 20) before any of its agents is made', async () => {
    const yaml = `version: 1\nname: p\nphases:\n  - { id: plan, plan: { maxGenerations: 2 }, agents: [{ id: planner, prompt: go }] }\n`;
    const { runtime, result } = start(yaml, () => ({
      text: 'plan',
      structured: { done: false, tasks: tasks(10_000) },
    }));
    const summary = await result;
    expect(summary.status).toBe('failed');
    expect((await phaseOf(summary.runId, 'plan')).error).toEqual({
      code: ErrorCodes.planTooLarge,
      message:
        'planner planner.g1 planned 10000 tasks, more than plan.maxTasks (20) allows for one generation; raise plan.maxTasks (at most 1000) or ask the planner for fewer, larger tasks',
    });
    expect(runtime.calls.map((c) => c.agentId)).toEqual(['planner.g1']);
    expect((await temp.store.listAgents(summary.runId)).map((a) => a.id)).toEqual(['planner.g1']);
  });

  it('runs a generation of exactly plan.maxTasks, and tells the planner the limit', async () => {
    const yaml = `version: 1\nname: p\nphases:\n  - { id: plan, plan: { maxGenerations: 1, maxTasks: 3 }, agents: [{ id: planner, prompt: go }] }\n`;
    const { runtime, result } = start(yaml, (spec) =>
      spec.agentId.startsWith('planner')
        ? { text: 'plan', structured: { done: false, tasks: tasks(3) } }
        : { text: 'did it' },
    );
    expect((await result).status).toBe('succeeded');
    expect(runtime.calls).toHaveLength(4);
    expect(runtime.calls[0]!.prompt).toContain('at most 3 tasks');
  });
});

describe('orchestration: priorities and tenant quotas', () => {
  it('runs waiting agents of a higher-priority run first when runs share a scheduler', async () => {
    const scheduler = new AgentScheduler({ limit: 1 });
    const order: string[] = [];
    const behaviour: FakeBehaviour = (spec) => {
      order.push(spec.agentId);
      return { text: 'ok', delayMs: 10 };
    };
    const wf = (name: string) =>
      `version: 1\nname: ${name}\nphases:\n  - id: p\n    agents:\n${[1, 2, 3].map((i) => `      - { id: ${name}${i}, prompt: work }`).join('\n')}\n`;
    const low = start(wf('low'), behaviour, { scheduler, priority: 0 });
    await new Promise((r) => setTimeout(r, 5)); // low's first agent holds the slot; the rest queue
    const high = start(wf('high'), behaviour, { scheduler, priority: 10 });
    await Promise.all([low.result, high.result]);
    expect(order).toEqual(['low1', 'high1', 'high2', 'high3', 'low2', 'low3']);
    expect((await temp.store.getRun((await high.result).runId))?.priority).toBe(10);
  });

  it("keeps a resumed run's priority unless the resume gives a new one", async () => {
    const yaml = `version: 1\nname: p\npriority: 3\nphases:\n  - { id: p, agents: [{ id: a, prompt: work }] }\n`;
    const cancelled = new AbortController();
    cancelled.abort(new Error('stopped before it began'));
    const { runId } = await start(yaml, () => ({ text: 'ok' }), { signal: cancelled.signal }).result;
    expect((await temp.store.getRun(runId))?.priority).toBe(3);
    const resumed = await start(yaml, () => ({ text: 'ok' }), { runId, resume: true, priority: 7 }).result;
    expect(resumed.status).toBe('succeeded');
    expect((await temp.store.getRun(runId))?.priority).toBe(7);
  });

  it('holds a tenant to its concurrent-agent limit across its runs', async () => {
    const scheduler = new AgentScheduler({ limit: 10, tenantLimits: { acme: 2 } });
    let running = 0;
    let peak = 0;
    const behaviour: FakeBehaviour = () => ({ text: 'ok', delayMs: 20 });
    const events = new RunEvents();
    events.on('agent.started', () => (peak = Math.max(peak, ++running)));
    events.on('agent.finished', () => running--);
    const wf = `version: 1\nname: t\nphases:\n  - { id: p, agents: [{ id: a, count: 4, prompt: work }] }\n`;
    await Promise.all([
      start(wf, behaviour, { scheduler, tenant: 'acme', events }).result,
      start(wf, behaviour, { scheduler, tenant: 'acme', events }).result,
    ]);
    expect(peak).toBe(2);
  });

  it("stops a run that uses up what is left of its tenant's daily token budget", async () => {
    const summary = await start(
      `version: 1\nname: t\nphases:\n  - { id: p, agents: [{ id: a, count: 4, prompt: work }] }\n`,
      () => ({ text: 'ok', usage: { inputTokens: 600, outputTokens: 100 } }),
      {
        config: config({ parallel_limit: 1 }),
        budgetTokens: 1500,
      },
    ).result;
    expect(summary.phases[0]!.agents.map((a) => a.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'cancelled',
    ]);
    expect((await temp.store.getRun(summary.runId))?.error?.message).toMatch(
      /tokens, all that was left of tenant default's daily token budget/,
    );
  });
});

describe('orchestration: resume', () => {
  it('reuses finished agents, re-runs the rest, and ends with every result exactly once', async () => {
    const yaml = `version: 1\nname: r\nphases:\n  - { id: one, agents: [{ id: a, count: 2, prompt: first }] }\n  - { id: two, dependsOn: [one], agents: [{ id: b, count: 3, prompt: second }] }\n  - { id: three, dependsOn: [two], agents: [{ id: c, prompt: third }] }\n`;
    // First orchestrator: stop it while phase two runs, as a crash would (its records stay "running").
    const controller = new AbortController();
    const events = new RunEvents();
    events.on('agent.started', (e) => {
      if (e.agentId === 'b.1') controller.abort(new Error('orchestrator died'));
    });
    const first = await start(
      yaml,
      (spec) => ({ text: `Finding: ${spec.agentId} done`, delayMs: spec.agentId.startsWith('b') ? 50 : 0 }),
      { signal: controller.signal, events, config: config({ parallel_limit: 1 }) },
    ).result;
    const runId = first.runId;
    // Make it look like the process died instead of cancelling: pending/running records, a running attempt.
    expect((await temp.store.listAgents(runId)).map((a) => `${a.id}:${a.status}`)).toEqual([
      'a.0:succeeded',
      'a.1:succeeded',
      'b.0:succeeded',
      'b.1:cancelled',
      'b.2:cancelled',
      'c:cancelled',
    ]);
    for (const agent of await temp.store.listAgents(runId)) {
      if (agent.status === 'cancelled')
        await temp.store.saveAgent({ ...agent, status: agent.id === 'b.1' ? 'running' : 'pending', error: undefined });
    }
    await temp.store.saveAttempt({
      runId,
      agentId: 'b.1',
      attempt: 1,
      status: 'running',
      resumed: false,
      startedAt: Date.now(),
      usage: { inputTokens: 100, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 },
      costUsd: 0.5,
      durationMs: 0,
    });
    // It was waiting on a tool when the process died.
    await temp.store.saveToolCall({
      runId,
      agentId: 'b.1',
      attempt: 1,
      seq: 1,
      toolUseId: 'toolu_lost',
      name: 'Bash',
      turn: 1,
      startedAt: Date.now(),
      status: 'running',
      inputPreview: '{"command":"sleep 60"}',
    });
    await temp.store.saveRun({
      ...(await temp.store.getRun(runId))!,
      status: 'running',
      error: undefined,
      finishedAt: undefined,
    });

    const resumed = start(yaml, (spec) => ({ text: `Finding: ${spec.agentId} done again` }), { runId, resume: true });
    const reused: string[] = [];
    resumed.events.on('agent.reused', (e) => reused.push(e.agentId));
    const summary = await resumed.result;
    expect(summary.status).toBe('succeeded');
    expect(reused.sort()).toEqual(['a.0', 'a.1', 'b.0']);
    expect(resumed.runtime.calls.map((c) => c.agentId).sort()).toEqual(['b.1', 'b.2', 'c']);
    // The attempt the dead orchestrator left is closed as lost; the new one is numbered after it.
    expect(
      (await temp.store.listAttempts(runId, 'b.1')).map((a) => `${a.attempt}:${a.status}:${a.error?.code ?? ''}`),
    ).toEqual(['1:failed:BATON_ORCHESTRATOR_LOST', '2:succeeded:']);
    // ... and so is the tool call it was waiting on, still recorded.
    expect(await temp.store.listToolCalls(runId, 'b.1')).toMatchObject([
      { attempt: 1, toolUseId: 'toolu_lost', status: 'error', outputPreview: expect.stringMatching(/stopped/) },
    ]);
    expect(await temp.store.getAgent(runId, 'b.1')).toMatchObject({
      attempts: 2,
      costUsd: 0.5,
      usage: { inputTokens: 100 },
    });
    const agents = await temp.store.listAgents(runId);
    expect(agents.map((a) => a.id).sort()).toEqual(['a.0', 'a.1', 'b.0', 'b.1', 'b.2', 'c']);
    expect(agents.every((a) => a.status === 'succeeded')).toBe(true);
    const facts = (await temp.store.listContextEntries({ runId })).entries.filter((e) => e.type === 'finding');
    expect(facts.map((f) => f.agentId).sort()).toEqual(['a.0', 'a.1', 'b.0', 'b.1', 'b.2', 'c']);
    expect((await temp.store.getRun(runId))?.resumes).toBe(1);
  });
});

describe('orchestration: resume and keyed facts', () => {
  it("leaves keyed decisions as they were: reusing finished agents neither reverts a later writer's value nor renews it", async () => {
    const yaml = `version: 1\nname: k\nphases:\n  - { id: one, agents: [{ id: x, prompt: pick }, { id: y, prompt: pick }] }\n  - { id: two, dependsOn: [one], agents: [{ id: c, prompt: build }] }\n`;
    // x answers first, y last: y's value updates x's (y, last by id, also has the last word in the phase).
    const behaviour: FakeBehaviour = (spec) =>
      spec.agentId === 'x'
        ? { text: 'Decision[db]: orders live in PostgreSQL' }
        : spec.agentId === 'y'
          ? { text: 'Decision[db]: orders live in SQLite', delayMs: 60 }
          : { text: 'Finding: built' };
    const first = await start(yaml, behaviour).result;
    const before = await temp.store.getContextEntryByKey(first.runId, 'db');
    expect(before).toMatchObject({ content: 'orders live in SQLite', version: 2, agentId: 'y' });
    // The last agent is to run again, as after a crash.
    const c = (await temp.store.listAgents(first.runId)).find((a) => a.id === 'c')!;
    await temp.store.saveAgent({ ...c, status: 'pending', output: undefined, finishedAt: undefined });
    await temp.store.saveRun({ ...(await temp.store.getRun(first.runId))!, status: 'running', finishedAt: undefined });
    const resumed = await start(yaml, behaviour, { runId: first.runId, resume: true }).result;
    expect(resumed.status).toBe('succeeded');
    expect(await temp.store.getContextEntryByKey(first.runId, 'db')).toEqual(before);
  });
});

describe('orchestration: the run budget over a resume', () => {
  it('counts what the run spent before it was stopped: budgetUsd caps the whole run, not each orchestrator', async () => {
    const yaml = `version: 1\nname: b\nbudgetUsd: 1\nphases:\n  - { id: p, agents: [{ id: a, count: 4, prompt: work }] }\n`;
    const events = new RunEvents();
    const controller = new AbortController();
    const first = start(yaml, () => ({ text: 'ok', costUsd: 0.3 }), {
      events,
      signal: controller.signal,
      config: config({ parallel_limit: 1 }),
    });
    // Stopped (as by Ctrl-C) once two agents have spent $0.60 of the $1 budget.
    let finished = 0;
    events.on('agent.finished', () => {
      if (++finished === 2) controller.abort(new Error('Ctrl-C'));
    });
    const stopped = await first.result;
    expect(stopped.status).toBe('cancelled');
    const spentBefore = stopped.phases[0]!.agents.reduce((sum, a) => sum + a.costUsd, 0);
    expect(spentBefore).toBeCloseTo(0.6);
    const resumed = start(yaml, () => ({ text: 'ok', costUsd: 0.3 }), {
      runId: stopped.runId,
      resume: true,
      config: config({ parallel_limit: 1 }),
    });
    const summary = await resumed.result;
    expect(summary.status).toBe('failed');
    expect((await temp.store.getRun(summary.runId))?.error?.code).toBe(ErrorCodes.runBudgetExceeded);
    // Each agent started after the resume was capped by what was left of the whole run's budget.
    expect(resumed.runtime.calls.map((c) => c.maxBudgetUsd)).toEqual([
      expect.closeTo(1 - spentBefore),
      expect.closeTo(1 - spentBefore - 0.3),
    ]);
  });
});

describe("orchestration: an agent's maxBudgetUsd over a resume", () => {
  const yaml = `version: 1\nname: capped\nbudgetUsd: 10\nphases:\n  - { id: p, agents: [{ id: a, prompt: work, maxBudgetUsd: 0.5 }] }\n`;

  /** A run stopped (as by Ctrl-C) while its agent works, after its attempt spent `spentUsd`. */
  async function stoppedAfter(spentUsd: number): Promise<string> {
    const events = new RunEvents();
    const controller = new AbortController();
    events.on('agent.attempt', () => setTimeout(() => controller.abort(new Error('Ctrl-C')), 20));
    const first = start(yaml, () => ({ text: 'ok', costUsd: spentUsd, delayMs: 5_000 }), {
      events,
      signal: controller.signal,
    });
    const stopped = await first.result;
    expect(stopped.status).toBe('cancelled');
    return stopped.runId;
  }

  it('gives the resumed agent only what its earlier attempts left of it', async () => {
    const runId = await stoppedAfter(0.4);
    const resumed = start(yaml, () => ({ text: 'ok', costUsd: 0.05 }), { runId, resume: true });
    expect((await resumed.result).status).toBe('succeeded');
    expect(resumed.runtime.calls.map((c) => c.maxBudgetUsd)).toEqual([expect.closeTo(0.1, 10)]);
  });

  it('does not start it again when they spent it all', async () => {
    const runId = await stoppedAfter(0.5);
    const resumed = start(yaml, () => ({ text: 'ok', costUsd: 0.05 }), { runId, resume: true });
    const summary = await resumed.result;
    expect(summary.phases[0]!.agents[0]).toMatchObject({
      status: 'failed',
      error: { code: 'BATON_AGENT_BUDGET_EXCEEDED' },
    });
    expect(resumed.runtime.calls).toEqual([]);
  });
});

describe('orchestration: resume after baton cancel', () => {
  it('is not cancelled again by the cancel request that stopped the run', async () => {
    const yaml = `version: 1\nname: c\nphases:\n  - { id: p, agents: [{ id: a, count: 2, prompt: work }] }\n`;
    const events = new RunEvents();
    const first = start(yaml, () => ({ text: 'ok', delayMs: 2_000 }), {
      events,
      config: config({ parallel_limit: 1 }),
    });
    events.on('agent.started', (e) => void temp.store.requestCancel(e.runId)); // what `baton cancel` does from another shell
    const cancelled = await first.result;
    expect(cancelled.status).toBe('cancelled');
    const resumed = await start(yaml, () => ({ text: 'ok', delayMs: 400 }), { runId: cancelled.runId, resume: true })
      .result; // long enough for the cancel poll
    expect(resumed.status).toBe('succeeded');
    expect(await temp.store.isCancelRequested(cancelled.runId)).toBe(false);
  });
});

describe('orchestration: agent timeouts', () => {
  it("counts neither the time a crashed run waited for --resume nor a prewarmed agent's wait for a slot against its timeout", async () => {
    const yaml = `version: 1\nname: t\nphases:\n  - { id: p, agents: [{ id: a, count: 2, prompt: work, timeoutMs: 400 }] }\n`;
    // A runtime with a session pool: the agent waiting for the one slot is prepared and prewarmed early.
    class PooledRuntime extends FakeRuntime {
      readonly prewarmed: string[] = [];
      readonly warmCapacity = 1;
      prewarm(spec: { agentId: string }): boolean {
        this.prewarmed.push(spec.agentId);
        return true;
      }
    }
    const pooled = new PooledRuntime(() => ({ text: 'ok', delayMs: 300 }));
    const first = await start(yaml, () => ({ text: 'unused' }), {
      runtime: pooled,
      config: config({ parallel_limit: 1 }),
    }).result;
    expect(pooled.prewarmed).toEqual(['a.1']);
    expect(first.phases[0]!.agents.map((a) => a.status)).toEqual(['succeeded', 'succeeded']);

    // An agent left running by an orchestrator that died an hour ago gets its whole timeout on resume.
    const runId = first.runId;
    const agent = (await temp.store.getAgent(runId, 'a.1'))!;
    await temp.store.saveAgent({ ...agent, status: 'running', startedAt: Date.now() - 3_600_000, output: undefined });
    await temp.store.saveRun({ ...(await temp.store.getRun(runId))!, status: 'running' });
    const resumed = await start(yaml, () => ({ text: 'ok', delayMs: 100 }), { runId, resume: true }).result;
    expect(resumed.phases[0]!.agents.map((a) => `${a.id}:${a.status}`)).toEqual(['a.0:succeeded', 'a.1:succeeded']);
  });
});

describe('orchestration: session pool', () => {
  it('keeps the pool full: each spare an agent takes is refilled with the next waiting agent, never beyond its room', async () => {
    const yaml = `version: 1\nname: t\nphases:\n  - { id: p, agents: [{ id: a, count: 6, prompt: work }] }\n`;
    // A pool of two spares, as ClaudeRuntime keeps: an agent that starts takes its spare out of the pool.
    class PooledRuntime extends FakeRuntime {
      readonly spares = new Set<string>();
      /** Every agent offered to the pool, and whether the pool took it. */
      readonly offered: Array<[string, boolean]> = [];
      readonly started: Array<[string, boolean]> = [];
      get warmCapacity(): number {
        return Math.max(0, 2 - this.spares.size);
      }
      prewarm(spec: AgentSpec): boolean {
        const took = this.warmCapacity > 0;
        if (took) this.spares.add(spec.agentId);
        this.offered.push([spec.agentId, took]);
        return took;
      }
      override execute(spec: AgentSpec, signal: AbortSignal): Promise<AttemptOutcome> {
        this.started.push([spec.agentId, this.spares.delete(spec.agentId)]);
        return super.execute(spec, signal);
      }
    }
    const pooled = new PooledRuntime(() => ({ text: 'ok', delayMs: 20 }));
    const summary = await start(yaml, () => ({ text: 'unused' }), {
      runtime: pooled,
      config: config({ parallel_limit: 1 }),
    }).result;
    expect(summary.phases[0]!.agents.every((a) => a.status === 'succeeded')).toBe(true);
    // The first agent has a free slot; every agent after it starts from a spare, the pool refilled as each is taken.
    expect(pooled.started).toEqual([
      ['a.0', false],
      ['a.1', true],
      ['a.2', true],
      ['a.3', true],
      ['a.4', true],
      ['a.5', true],
    ]);
    expect(pooled.spares.size).toBe(0);
  });
});

describe.runIf(requireProgram('git'))('orchestration: worktrees', () => {
  it('gives each agent its own branch and records what it changed', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'baton-repo-'));
    try {
      const git = (...args: string[]) =>
        execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
          cwd: repo,
          encoding: 'utf8',
        }).trim();
      git('init', '-q', '-b', 'main');
      writeFileSync(join(repo, 'README.md'), 'hello\n');
      git('add', '.');
      git('commit', '-q', '-m', 'init');
      const yaml = `version: 1\nname: wt\nphases:\n  - { id: p, workspace: worktree, repo: ${repo}, agents: [{ id: w, count: 2, prompt: edit }] }\n`;
      const summary = await start(yaml, (spec) => {
        writeFileSync(join(spec.cwd, `${spec.agentId}.txt`), `work of ${spec.agentId}\nline two\n`);
        return { text: 'edited' };
      }).result;
      expect(summary.status).toBe('succeeded');
      const agents = await temp.store.listAgents(summary.runId);
      for (const agent of agents) {
        expect(agent.workspace).toMatchObject({
          branch: expect.stringMatching(new RegExp(`^baton/.+/${agent.id.replace('.', '\\.')}$`)),
          diffStat: { files: 1, insertions: 2, deletions: 0 },
        });
        expect(git('show', `${agent.workspace!.branch}:${agent.id}.txt`)).toBe(`work of ${agent.id}\nline two`);
      }
      expect(git('status', '--porcelain')).toBe(''); // the main checkout is untouched
      expect(summary.phases[0]!.agents.map((a) => a.workspace?.branch)).toEqual(agents.map((a) => a.workspace!.branch));
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it("a worktree phase after a merged phase of another repository starts at its own repository's HEAD", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-repos-'));
    try {
      const heads = ['backend', 'frontend'].map((name) => {
        const repo = join(dir, name);
        makeRepo(repo, { 'README.md': `${name}\n` });
        return gitIn(repo)('rev-parse', 'HEAD');
      });
      const yaml = `version: 1\nname: two-repos\nphases:
  - { id: api, workspace: worktree, repo: ${join(dir, 'backend')}, merge: {}, agents: [{ id: be, prompt: edit }] }
  - { id: web, dependsOn: [api], workspace: worktree, repo: ${join(dir, 'frontend')}, agents: [{ id: fe, prompt: edit }] }\n`;
      const summary = await start(yaml, (spec) => {
        writeFileSync(join(spec.cwd, `${spec.agentId}.txt`), 'work\n');
        return { text: 'edited' };
      }).result;
      expect(summary.status).toBe('succeeded');
      const fe = (await temp.store.listAgents(summary.runId)).find((a) => a.id === 'fe')!;
      expect(fe.workspace?.baseCommit).toBe(heads[1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('orchestration: attempts a dead orchestrator left running', () => {
  const yaml = `version: 1\nname: lost\nphases:\n  - { id: one, agents: [{ id: x, prompt: first }, { id: y, prompt: first }] }\n  - { id: two, dependsOn: [one], agents: [{ id: z, prompt: second }] }\n`;

  /** A run whose orchestrator "died" while x and y ran: their records and first attempts stay running, x mid-tool. */
  async function killedWhileTwoRan(): Promise<string> {
    const controller = new AbortController();
    const events = new RunEvents();
    let started = 0;
    events.on('agent.started', () => {
      if (++started === 2) controller.abort(new Error('orchestrator died'));
    });
    const { runId } = await start(yaml, () => ({ text: 'done', delayMs: 50 }), {
      signal: controller.signal,
      events,
    }).result;
    for (const agent of await temp.store.listAgents(runId)) {
      if (agent.id === 'z') continue;
      await temp.store.saveAgent({ ...agent, status: 'running', error: undefined });
      await temp.store.saveAttempt({
        runId,
        agentId: agent.id,
        attempt: 1,
        status: 'running',
        resumed: false,
        startedAt: 1_700_000_000_000,
        usage: { inputTokens: 10, outputTokens: 1, cacheReadTokens: 0, cacheCreationTokens: 0 },
        costUsd: 0.01,
        durationMs: 0,
      });
    }
    await temp.store.saveToolCall({
      runId,
      agentId: 'x',
      attempt: 1,
      seq: 1,
      toolUseId: 'toolu_x',
      name: 'Bash',
      turn: 1,
      startedAt: 1_700_000_000_100,
      status: 'running',
      inputPreview: '{"command":"sleep 60"}',
    });
    await temp.store.saveRun({ ...(await temp.store.getRun(runId))!, status: 'running', finishedAt: undefined });
    return runId;
  }

  const attemptsOf = async (runId: string, agentId: string) =>
    (await temp.store.listAttempts(runId, agentId)).map((a) => `${a.attempt}:${a.status}:${a.error?.code ?? ''}`);

  it('closes them as lost at resume start, once, even when the resumed run stops before their agents run again', async () => {
    const runId = await killedWhileTwoRan();
    const events = new RunEvents();
    const lost: string[] = [];
    events.on('agent.attempt.lost', (e) => lost.push(`${e.agentId}:${e.attempt}:${e.errorCode}`));
    // Cancelled as it starts (a `baton cancel`, Ctrl-C): no agent runs again.
    const cancelled = new AbortController();
    cancelled.abort(new Error('cancelled by the user'));
    const stopped = start(yaml, () => ({ text: 'done again' }), {
      runId,
      resume: true,
      events,
      signal: cancelled.signal,
    });
    expect((await stopped.result).status).toBe('cancelled');
    expect(stopped.runtime.calls).toEqual([]);
    expect(lost.sort()).toEqual(['x:1:BATON_ORCHESTRATOR_LOST', 'y:1:BATON_ORCHESTRATOR_LOST']);
    expect(await attemptsOf(runId, 'x')).toEqual(['1:failed:BATON_ORCHESTRATOR_LOST']);
    expect(await attemptsOf(runId, 'y')).toEqual(['1:failed:BATON_ORCHESTRATOR_LOST']);
    expect(await temp.store.listToolCalls(runId, 'x')).toMatchObject([{ toolUseId: 'toolu_x', status: 'error' }]);

    // Resumed again to the end: the agents run again, and nothing is closed a second time.
    const again = start(yaml, () => ({ text: 'done again' }), { runId, resume: true, events });
    expect((await again.result).status).toBe('succeeded');
    expect(lost).toHaveLength(2);
    expect(await attemptsOf(runId, 'x')).toEqual(['1:failed:BATON_ORCHESTRATOR_LOST', '2:succeeded:']);
    expect(await attemptsOf(runId, 'y')).toEqual(['1:failed:BATON_ORCHESTRATOR_LOST', '2:succeeded:']);
  });

  it('leaves open the attempts of agents a live worker still holds', async () => {
    const runId = await killedWhileTwoRan();
    const runtime = new FakeRuntime(() => ({ text: 'done again' }));
    const executor = new (class extends LocalExecutor {
      override agentsHeld(): Promise<Set<string>> {
        return Promise.resolve(new Set(['y']));
      }
    })({ store: temp.store, runtime, env: { PATH: '/usr/bin' } });
    const cancelled = new AbortController();
    cancelled.abort(new Error('cancelled by the user'));
    await start(yaml, () => ({ text: 'unused' }), { runId, resume: true, executor, signal: cancelled.signal }).result;
    expect(await attemptsOf(runId, 'x')).toEqual(['1:failed:BATON_ORCHESTRATOR_LOST']);
    expect(await attemptsOf(runId, 'y')).toEqual(['1:running:']);
  });
});
