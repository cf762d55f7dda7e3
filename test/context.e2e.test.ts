import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ClaudeRuntime } from '../src/agents/index.js';
import { AgentReranker, AgentSummarizer, DynamicContextAccumulator, countTokens } from '../src/context/index.js';
import type { UsageReport } from '../src/observability/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { runCli } from './support/cli.js';
import { useScriptedModel } from './support/scripted-model.js';

const model = useScriptedModel(
  {
    rules: [
      {
        match: { prompt: 'Survey the billing code' },
        reply: {
          text: 'Surveyed.\nDecision: invoices are stored in the ledger_v2 table\nFinding: the PDF renderer is slow',
        },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Survey the frontend' },
        reply: { text: 'Finding: the checkout page uses React 18' },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Decide the session timeout' },
        reply: {
          text: 'Decision: Sessions now end after 20 minutes idle.\nFinding: Orders are stored in PostgreSQL 15.',
        },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Review the session timeout' },
        reply: { text: 'Decision: Idle timeout raised to 45 minutes after user complaints.' },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Summarize the context of phase survey' },
        reply: { text: 'Survey: invoices live in ledger_v2; PDF rendering is slow.' },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Task: Check the wording of the payment receipts' },
        reply: { text: 'I cannot tell which of these the task needs.' },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Pick the facts from earlier agents' },
        reply: { text: 'It needs 2 and 1.' },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Survey the payment flow' },
        reply: {
          text: [
            'Surveyed.',
            ...Array.from(
              { length: 12 },
              (_, i) =>
                `Finding: payment area ${i} is handled by module payments/area-${i}.ts with its own retry rules`,
            ),
          ].join('\n'),
        },
        sequencePer: 'script',
      },
      // Two runs of one workflow: the cache researcher answers first in the first run and last in the second.
      {
        match: { prompt: 'Research the product page cache' },
        replies: [
          {
            text: 'Decision[cache-ttl]: product pages are cached for 5 minutes\nFinding: Redis 7 backs the cache\nFinding: product pages take 900 ms to render without the cache\nFile changed: none',
          },
          {
            text: 'Decision[cache-ttl]: product pages are cached for 5 minutes\nFinding: Redis 7 backs the cache\nFinding: product pages take 900 ms to render without the cache\nFile changed: none',
            delayMs: 3_000,
          },
        ],
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Research the product page images' },
        replies: [
          {
            text: 'Finding: product pages render slowly, about 900 ms, when the cache is cold\nFinding: product images are served by the CDN with a 1 day TTL',
            delayMs: 3_000,
          },
          {
            text: 'Finding: product pages render slowly, about 900 ms, when the cache is cold\nFinding: product images are served by the CDN with a 1 day TTL',
          },
        ],
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Research the search box' },
        reply: {
          text: Array.from(
            { length: 12 },
            (_, i) => `Finding: search facet ${i} is built by facets/facet-${i}.ts from the Elasticsearch index`,
          ).join('\n'),
        },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Decide how long pages stay cached' },
        reply: { text: 'Decision[cache-ttl]: product pages are cached for 30 minutes after the load tests' },
        sequencePer: 'script',
      },
      // A keyed decision revised by a phase that another one does not inherit: the reviewer answers
      // before the builder starts in the first run, after it in the second.
      {
        match: { prompt: 'Plan the storage layer' },
        reply: { text: 'Decision[db]: the store is PostgreSQL 16\nFinding: about 2 GB of data a year' },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Review the storage plan' },
        replies: [
          { text: 'Decision[db]: the store is SQLite; PostgreSQL is too much to run for 2 GB' },
          { text: 'Decision[db]: the store is SQLite; PostgreSQL is too much to run for 2 GB', delayMs: 5_000 },
        ],
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Draft the storage docs' },
        replies: [
          { text: 'Finding: the docs live in docs/storage.md', delayMs: 5_000 },
          { text: 'Finding: the docs live in docs/storage.md' },
        ],
        sequencePer: 'script',
      },
      // Phases that aggregate (concat, vote), answers in Markdown and structured blocks with an empty item.
      {
        match: { prompt: 'Size the order data' },
        reply: {
          text: 'Sized.\n**Finding:** orders grow by 2 GB a year\n**Decision[Region]:** orders stay in eu-west-1\nFile changed: none',
        },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Check the order traffic' },
        reply: { text: '- **Finding**: order writes peak at 300 per second on Mondays\nError: none' },
        sequencePer: 'script',
      },
      ...(
        [
          ['PostgreSQL', 'JSONB columns fit the order line items'],
          ['MySQL', 'the ops team already runs MySQL 8 with backups'],
          ['PostgreSQL', 'row-level security covers tenant isolation'],
        ] as const
      ).map(([db, why], i) => ({
        match: { prompt: `Vote on the order database as voter ${i}` },
        reply: {
          structured: {
            db,
            context: [
              { type: 'finding', content: why, key: null, tags: null },
              { type: 'finding', content: '' },
            ],
          },
        },
        sequencePer: 'script' as const,
      })),
      {
        match: { prompt: 'Move the orders region' },
        reply: { text: 'Decision[ region ]: orders move to us-east-1 instead of eu-west-1, after the latency tests' },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Plan the invoice export' },
        reply: { text: 'Decision: export runs nightly at 02:00' },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Write the invoice export job', last: 'Which file did you change?' },
        reply: { text: 'jobs/export.ts' },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Write the invoice export job' },
        reply: { text: 'File changed: jobs/export.ts — nightly export from ledger_v2' },
        sequencePer: 'script',
      },
      // Two agents of one phase contradicting each other: the one last by id (ten) answers last in the
      // first run and first in the second.
      ...(['two', 'ten'] as const).map((n) => ({
        match: { prompt: `Propose an export format, proposal ${n}` },
        replies: [
          { text: proposal(n), delayMs: n === 'ten' ? 3_000 : 0 },
          {
            text: proposal(n),
            delayMs: n === 'two' ? 3_000 : 0,
          },
        ],
        sequencePer: 'script' as const,
      })),
      ...(['gzip', 'zstd'] as const).map((codec) => ({
        match: { prompt: `Propose how export files are compressed: ${codec}` },
        reply: { text: `Decision: Export files are compressed with ${codec}.` },
        sequencePer: 'script' as const,
      })),
      {
        match: { prompt: 'Judge the compression proposals' },
        reply: { text: 'Decision: Export files are compressed with brotli.' },
        sequencePer: 'script',
      },
    ],
    default: { text: 'OK' },
  },
  'baton-context-',
);

/** One of two contradicting proposals, unkeyed and keyed. */
function proposal(n: 'two' | 'ten'): string {
  const [format, bucket] = n === 'two' ? ['CSV', 'S3'] : ['Parquet', 'GCS'];
  return `Decision: The export format is ${format}.\nDecision[export-bucket]: Exports are written to ${bucket}.`;
}

/** Which of `agentIds` finished first, second, …, in a run stored under `dataDir`. */
async function finishingOrder(dataDir: string, runId: string, agentIds: string[]): Promise<string[]> {
  const store = openSqliteStore({ dataDir });
  try {
    const records = (await store.listAgents(runId)).filter((a) => agentIds.includes(a.id));
    return records.sort((a, b) => a.finishedAt! - b.finishedAt!).map((a) => a.id);
  } finally {
    await store.close();
  }
}

/** The "## Context from earlier agents" section of a system prompt. */
function contextSection(system: string): string {
  const start = system.indexOf('## Context from earlier agents');
  return system.slice(start, system.indexOf('\n\n## Your assignment', start));
}

/**
 * `baton run <file> --json` on the scripted model, which must succeed: its summary, its agents by id,
 * and each one's first system prompt and the context section in it.
 */
async function runWorkflowFile(file: string, env: NodeJS.ProcessEnv) {
  const { code, stdout } = await runCli(['run', file, '--json'], { env });
  expect(code).toBe(0);
  const summary = JSON.parse(stdout) as RunSummary;
  const agent = (id: string) => summary.phases.flatMap((p) => p.agents).find((a) => a.id === id)!;
  const systemOf = (id: string) => model.server.messageRequests(agent(id).sessionId)[0]!.view!.system;
  return { summary, agent, systemOf, contextOf: (id: string) => contextSection(systemOf(id)) };
}

describe('context accumulation (real claude agents)', () => {
  it('phase 3 is told a fact only phase 1 produced, and not what it does not depend on', async () => {
    const workflow = join(model.home.dir, 'accumulate.yaml');
    writeFileSync(
      workflow,
      `version: 1
name: accumulate
context: { inherit: all }
phases:
  - id: survey
    agents: [{ id: billing, prompt: Survey the billing code }]
  - id: frontend
    agents: [{ id: ui, prompt: Survey the frontend }]
  - id: plan
    dependsOn: [survey]
    agents: [{ id: planner, prompt: Plan the invoice export }]
  - id: build
    dependsOn: [plan]
    agents: [{ id: builder, prompt: Write the invoice export job }]
`,
    );
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'data') });
    const { summary, agent, systemOf } = await runWorkflowFile(workflow, env);

    const builderSystem = systemOf('builder');
    expect(builderSystem).toContain(
      '### From agent billing, phase survey\n- [decision] invoices are stored in the ledger_v2 table\n- [finding] the PDF renderer is slow\n',
    );
    expect(builderSystem).toContain('### From agent planner, phase plan\n- [decision] export runs nightly at 02:00');
    expect(builderSystem).not.toContain('React 18');
    expect(agent('builder').context).toMatchObject({ mode: 'all', considered: 3 });
    // The first phase inherits nothing.
    expect(model.server.messageRequests(agent('billing').sessionId)[0]!.view!.system).not.toContain(
      'Context from earlier agents',
    );

    // Sessions went through their lifecycle.
    const sessions = await runCli(['sessions', 'list', '--run', summary.runId, '--json'], { env });
    const rows = JSON.parse(sessions.stdout) as Array<{ agentId: string; status: string; expiresAt: number }>;
    expect(rows.map((r) => r.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(rows.every((r) => r.expiresAt > Date.now())).toBe(true);

    // A finished session can be forked: the new session carries the old conversation.
    const fork = await runCli(
      ['sessions', 'fork', agent('builder').sessionId, 'Which file did you change?', '--json'],
      { env },
    );
    expect(fork.code).toBe(0);
    const forked = JSON.parse(fork.stdout) as { sessionId: string; status: string; output: { text: string } };
    expect(forked).toMatchObject({ status: 'succeeded', output: { text: 'jobs/export.ts' } });
    expect(forked.sessionId).not.toBe(agent('builder').sessionId);
    const forkRequest = model.server.messageRequests(forked.sessionId)[0]!;
    expect(forkRequest.view!.prompt).toContain('Write the invoice export job');
    expect(forkRequest.view!.last).toBe('Which file did you change?');
    const shown = JSON.parse((await runCli(['sessions', 'show', forked.sessionId, '--json'], { env })).stdout) as {
      session: { parentId: string; status: string };
    };
    expect(shown.session).toMatchObject({ parentId: agent('builder').sessionId, status: 'completed' });
    // The fork took the path of every agent: its attempt is recorded after the run's, under the same agent.
    const store = openSqliteStore({ dataDir: join(model.home.dir, 'data') });
    try {
      const attempts = await store.listAttempts(summary.runId, 'builder');
      expect(attempts.map((a) => [a.attempt, a.status])).toEqual([
        [1, 'succeeded'],
        [2, 'succeeded'],
      ]);
    } finally {
      await store.close();
    }

    // Context moves between stores through export and import, checksums intact.
    const file = join(model.home.dir, 'context.json');
    expect((await runCli(['context', 'export', '--run', summary.runId, '--out', file], { env })).code).toBe(0);
    const otherEnv = { ...env, BATON_DATA_DIR: join(model.home.dir, 'other-data') };
    const imported = await runCli(['context', 'import', file], { env: otherEnv });
    // The run's 5 facts and the one the fork stated (its answer), with the run's 5 sessions.
    expect(imported.stdout).toBe('Imported 6 entries and 5 sessions; 0 entries were already there.\n');
    // Without the run itself, its sessions and context are still there to read and pass on.
    const shownThere = await runCli(['sessions', 'show', forked.sessionId, '--json'], { env: otherEnv });
    expect(shownThere.code).toBe(0);
    expect(JSON.parse(shownThere.stdout)).toMatchObject({ context: [{ content: 'jobs/export.ts' }] });
    const again = await runCli(['context', 'export', '--run', summary.runId], { env: otherEnv });
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { entries: unknown[] }).entries).toHaveLength(6);
  });
});

describe('what an agent was told (real claude agents)', () => {
  it('baton status --agent lists the facts it was given and the decision a newer one replaced', async () => {
    const workflow = join(model.home.dir, 'told.yaml');
    writeFileSync(
      workflow,
      `version: 1
name: told
phases:
  - id: design
    agents: [{ id: backend, prompt: Decide the session timeout }]
  - id: review
    dependsOn: [design]
    agents: [{ id: lead, prompt: Review the session timeout }]
  - id: build
    dependsOn: [review]
    agents: [{ id: builder, prompt: Implement the idle session timeout }]
`,
    );
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'told-data') });
    const { summary, systemOf } = await runWorkflowFile(workflow, env);
    const system = systemOf('builder');
    expect(system).toContain('- [decision] Idle timeout raised to 45 minutes after user complaints.');
    expect(system).not.toContain('20 minutes idle');

    const shown = await runCli(['status', summary.runId, '--agent', 'builder'], { env });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(
      '[decision] lead (review): Idle timeout raised to 45 minutes after user complaints.',
    );
    expect(shown.stdout).toMatch(
      /Left out, replaced by a newer decision: 1\n\s+- \[decision\] backend \(design\): Sessions now end after 20 minutes idle\.\n\s+replaced by \[decision\] lead \(review\)/,
    );

    // With `superseded: show`, the builder is told what the new decision replaced, on its line.
    const shownWorkflow = join(model.home.dir, 'told-show.yaml');
    writeFileSync(
      shownWorkflow,
      readFileSync(workflow, 'utf8').replace('name: told\n', 'name: told\ncontext: { superseded: show }\n'),
    );
    expect((await runWorkflowFile(shownWorkflow, env)).systemOf('builder')).toContain(
      '- [decision] Idle timeout raised to 45 minutes after user complaints. (replacing "Sessions now end after 20 minutes idle." (agent backend))',
    );
  });
});

describe('filtered context in a real run', () => {
  it('is the same in two runs whatever finished first, within the budget counted on the injected text', async () => {
    const workflow = join(model.home.dir, 'filtered.yaml');
    writeFileSync(
      workflow,
      `version: 1
name: filtered
context: { inherit: filtered, budgetTokens: 150 }
phases:
  - id: research
    agents:
      - { id: cache, prompt: Research the product page cache }
      - { id: images, prompt: Research the product page images }
      - { id: search, prompt: Research the search box }
  - id: decide
    dependsOn: [research]
    agents: [{ id: lead, prompt: Decide how long pages stay cached }]
  - id: build
    dependsOn: [decide]
    agents: [{ id: builder, prompt: Make product pages faster with caching }]
`,
    );
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'filtered-data') });
    const builderContext = async () => {
      const { summary, agent, contextOf } = await runWorkflowFile(workflow, env);
      const finished = await finishingOrder(join(model.home.dir, 'filtered-data'), summary.runId, ['cache', 'images']);
      return { section: contextOf('builder'), tokens: agent('builder').context!.tokens, finished };
    };
    const first = await builderContext();
    const second = await builderContext();
    expect(first.finished).toEqual(['cache', 'images']);
    expect(second.finished).toEqual(['images', 'cache']);
    expect(second.section).toBe(first.section);
    expect(first.tokens).toBe(countTokens(first.section));
    expect(first.tokens).toBeLessThanOrEqual(150);
    const lines = first.section.split('\n');
    expect(lines).toContain('- [decision] product pages are cached for 30 minutes after the load tests');
    expect(first.section).not.toContain('5 minutes');
    expect(first.section).not.toContain('Output of phase');
    expect(first.section).not.toMatch(/\bnone\b/);
    const headings = lines.filter((line) => line.startsWith('### '));
    expect(new Set(headings).size).toBe(headings.length);
  });
});

describe('contradicting agents of one phase (real claude agents)', () => {
  it("are settled alike whichever finished first, keyed or not: the agent last by id, and a judge's word over its phase", async () => {
    const workflow = join(model.home.dir, 'one-phase.yaml');
    writeFileSync(
      workflow,
      `version: 1
name: one-phase
context: { inherit: all }
phases:
  - id: pick
    agents:
      - { id: format-2, prompt: "Propose an export format, proposal two" }
      - { id: format-10, prompt: "Propose an export format, proposal ten" }
  - id: compress
    aggregate: { strategy: judge, prompt: Judge the compression proposals }
    agents:
      - { id: zip-a, prompt: "Propose how export files are compressed: gzip" }
      - { id: zip-b, prompt: "Propose how export files are compressed: zstd" }
  - id: build
    dependsOn: [pick, compress]
    agents: [{ id: exporter, prompt: Write the export job }]
`,
    );
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'one-phase-data') });
    const formats = ['format-2', 'format-10'];
    const exporterContext = async () => {
      const { summary, contextOf } = await runWorkflowFile(workflow, env);
      const dataDir = join(model.home.dir, 'one-phase-data');
      return { section: contextOf('exporter'), finished: await finishingOrder(dataDir, summary.runId, formats) };
    };
    const first = await exporterContext();
    const second = await exporterContext();
    expect(first.finished).toEqual(['format-2', 'format-10']);
    expect(second.finished).toEqual(['format-10', 'format-2']);
    expect(second.section).toBe(first.section);
    expect(first.section).toContain('- [decision] The export format is Parquet.');
    expect(first.section).toContain('- [decision] Exports are written to GCS.');
    expect(first.section).not.toContain('S3');
    expect(first.section).toContain('- [decision] Export files are compressed with brotli.');
    for (const replaced of ['CSV', 'gzip', 'zstd']) expect(first.section).not.toContain(replaced);
  });
});

describe('a keyed decision revised by another phase (real claude agents)', () => {
  it('each phase sees the value its inherited phases wrote: the same bytes whether the revision came first', async () => {
    const workflow = join(model.home.dir, 'keyed.yaml');
    writeFileSync(
      workflow,
      `version: 1
name: keyed
context: { inherit: all }
phases:
  - id: plan
    agents: [{ id: architect, prompt: Plan the storage layer }]
  - id: review
    dependsOn: [plan]
    agents: [{ id: reviewer, prompt: Review the storage plan }]
  - id: docs
    dependsOn: [plan]
    agents: [{ id: writer, prompt: Draft the storage docs }]
  - id: build
    dependsOn: [plan, docs]
    agents: [{ id: builder, prompt: Build the storage layer }]
  - id: ship
    dependsOn: [review]
    agents: [{ id: shipper, prompt: Ship the storage layer }]
`,
    );
    const dataDir = join(model.home.dir, 'keyed-data');
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: dataDir });
    const contexts = async () => {
      const { summary, agent, contextOf: system } = await runWorkflowFile(workflow, env);
      const store = openSqliteStore({ dataDir });
      try {
        const records = await store.listAgents(summary.runId);
        const at = (id: string) => records.find((a) => a.id === id)!;
        const revisedFirst = at('reviewer').finishedAt! < at('builder').startedAt!;
        return {
          build: system('builder'),
          ship: system('shipper'),
          revisedFirst,
          architect: agent('architect').sessionId,
        };
      } finally {
        await store.close();
      }
    };
    const first = await contexts();
    const second = await contexts();
    expect([first.revisedFirst, second.revisedFirst]).toEqual([true, false]);
    // build does not depend on review: it gets plan's value, whichever finished first.
    expect(second.build).toBe(first.build);
    expect(first.build).toContain('### From agent architect, phase plan\n- [decision] the store is PostgreSQL 16\n');
    expect(first.build).not.toContain('SQLite');
    // ship depends on review: the current value only, shown as the reviewer's.
    expect(second.ship).toBe(first.ship);
    expect(first.ship).toContain('### From agent reviewer, phase review\n- [decision] the store is SQLite;');
    expect(first.ship).not.toContain('the store is PostgreSQL 16');
    expect(first.ship).toContain('- [finding] about 2 GB of data a year');
    // The architect's session still shows the value it wrote, as replaced.
    const shown = await runCli(['sessions', 'show', first.architect], { env });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(
      'Context it produced (1):\n  - [finding] about 2 GB of data a year\nReplaced since by a later value of their key (1):\n  - [decision] db: the store is PostgreSQL 16\n',
    );
  });
});

describe('aggregating phases and agents writing Markdown (real claude agents)', () => {
  it("a vote's tally goes on, a concat's repetition and empty facts do not; keys match whatever their spelling", async () => {
    const workflow = join(model.home.dir, 'aggregates.yaml');
    const voter = (i: number) => `
      - id: voter-${i}
        prompt: Vote on the order database as voter ${i}
        outputSchema:
          type: object
          properties:
            db: { type: string }
            context: { type: array, items: { type: object } }
          required: [db]`;
    writeFileSync(
      workflow,
      `version: 1
name: aggregates
context: { inherit: all, summarizer: extractive }
phases:
  - id: survey
    aggregate: { strategy: concat }
    agents:
      - { id: sizer, prompt: Size the order data }
      - { id: traffic, prompt: Check the order traffic }
  - id: choose
    dependsOn: [survey]
    aggregate: { strategy: vote, field: db }
    agents:${[0, 1, 2].map(voter).join('')}
  - id: build
    dependsOn: [choose]
    agents: [{ id: builder, prompt: Build the order tables }]
  - id: move
    dependsOn: [survey]
    agents: [{ id: mover, prompt: Move the orders region }]
  - id: ship
    dependsOn: [move]
    inherit: summary
    agents: [{ id: shipper, prompt: Ship the orders service }]
`,
    );
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'aggregates-data') });
    const { contextOf: sectionOf } = await runWorkflowFile(workflow, env);
    const build = sectionOf('builder');
    expect(build).toContain(
      '### From phase choose\n- [decision] Output of phase choose (vote): db = "PostgreSQL" (2 of 3 votes)',
    );
    for (const why of ['JSONB columns fit', 'the ops team already runs MySQL 8', 'row-level security covers'])
      expect(build).toContain(`- [finding] ${why}`);
    expect(build).toContain(
      '### From agent sizer, phase survey\n- [finding] orders grow by 2 GB a year\n- [decision] orders stay in eu-west-1',
    );
    expect(build).toContain(
      '### From agent traffic, phase survey\n- [finding] order writes peak at 300 per second on Mondays',
    );
    expect(build).not.toContain('Output of phase survey');
    expect(build).not.toMatch(/\] (?:none)?$/im);
    const headings = build.split('\n').filter((line) => line.startsWith('### '));
    expect(new Set(headings).size).toBe(headings.length);
    // `Decision[Region]:` and `Decision[ region ]:` are one fact: ship's summary has only the new value.
    const ship = sectionOf('shipper');
    expect(ship).toContain('us-east-1');
    expect(ship).not.toContain('stay in eu-west-1');
  });
});

describe('summaries over the size limit', () => {
  it('are written by a real claude summarizer agent, and the originals stay', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'baton-summary-'));
    const store = openSqliteStore({ dataDir });
    const runtime = new ClaudeRuntime();
    try {
      const summarizer = new AgentSummarizer({ runtime, env: model.home.cliEnv(model.url), cwd: model.home.dir });
      const accumulator = new DynamicContextAccumulator({ store, runId: 'r', sizeLimitBytes: 400, summarizer });
      const facts = Array.from({ length: 8 }, (_, i) => ({
        type: 'finding' as const,
        content: `Survey fact ${i}: ${'the ledger_v2 table holds invoices. '.repeat(3)}`,
        tags: [],
      }));
      const originals = await accumulator.add(facts, { phaseId: 'survey' });
      const selected = await accumulator.select({
        phaseIds: ['survey'],
        task: 'plan',
        mode: 'all',
        budgetTokens: 10_000,
      });
      expect(selected.entries).toHaveLength(1);
      expect(selected.entries[0]).toMatchObject({
        type: 'summary',
        level: 1,
        content: 'Survey: invoices live in ledger_v2; PDF rendering is slow.',
        tags: ['summary', 'agent'],
      });
      expect(selected.entries[0]!.summaryOf).toEqual(originals.map((e) => e.id).sort());
      const request = model.server
        .messageRequests()
        .find((r) => r.view?.prompt.startsWith('Summarize the context of phase survey'))!;
      expect(request.view!.prompt).toContain('- [finding] Survey fact 7');
      expect((await store.listContextEntries({ runId: 'r', level: 0 })).entries).toHaveLength(8);
    } finally {
      await runtime.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** Runs `use` with an accumulator of a fresh store whose re-ranker is a real claude call, then cleans up. */
async function withReranker(
  use: (tools: { accumulator: (runId: string, rerank?: boolean) => DynamicContextAccumulator }) => Promise<void>,
) {
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-rerank-'));
  const store = openSqliteStore({ dataDir });
  const runtime = new ClaudeRuntime();
  try {
    const reranker = new AgentReranker({ runtime, env: model.home.cliEnv(model.url), cwd: model.home.dir });
    // A context this small would be given whole, without asking, and capped at a share of itself: filter it anyway.
    const tuning = { smallContextTokens: 0, contextShare: 1 };
    await use({
      accumulator: (runId, rerank = true) =>
        new DynamicContextAccumulator({ store, runId, sizeLimitBytes: 1e6, tuning, ...(rerank ? { reranker } : {}) }),
    });
  } finally {
    await runtime.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('a model re-ranker', () => {
  it('is a real claude call: the facts it names by number are the ones selected', async () => {
    await withReranker(async (tools) => {
      const accumulator = tools.accumulator('r');
      await accumulator.add(
        [
          { type: 'decision', content: '3-D Secure is requested automatically by Stripe.', tags: [] },
          { type: 'finding', content: 'Apple Pay is enabled through the Payment Request Button.', tags: [] },
          { type: 'finding', content: 'Metrics are scraped by Prometheus.', tags: [] },
        ],
        { phaseId: 'research', agentId: 'payments' },
      );
      const selected = await accumulator.select({
        phaseIds: ['research'],
        task: 'Build the pay page with wallets and bank authentication challenges.',
        mode: 'filtered',
        budgetTokens: 2000,
      });
      const request = model.server
        .messageRequests()
        .find((r) => r.view?.prompt.startsWith('Pick the facts from earlier agents'))!;
      const listed = (n: number) =>
        request
          .view!.prompt.split('\n')
          .find((line) => line.startsWith(`${n}. `))!
          .replace(/^\d+\. \[\w+\] /, '');
      expect(selected.entries.map((e) => e.content).sort()).toEqual([listed(1), listed(2)].sort());
      expect(request.view!.prompt.split('\n').filter((line) => /^\d+\. /.test(line))).toHaveLength(3);
    });
  });

  it('that names no fact leaves the deterministic choice, not an empty context', async () => {
    await withReranker(async (tools) => {
      const chosen = async (runId: string, rerank: boolean) => {
        const acc = tools.accumulator(runId, rerank);
        await acc.add(
          [
            { type: 'decision', content: 'Payment receipts are emailed by Postmark.', tags: [] },
            { type: 'finding', content: 'Metrics are scraped by Prometheus.', tags: [] },
          ],
          { phaseId: 'research', agentId: 'payments' },
        );
        const task = 'Check the wording of the payment receipts.';
        return (await acc.select({ phaseIds: ['research'], task, mode: 'filtered', budgetTokens: 2000 })).entries.map(
          (e) => e.content,
        );
      };
      const deterministic = await chosen('plain', false);
      expect(deterministic).toContain('Payment receipts are emailed by Postmark.');
      expect(await chosen('reranked', true)).toEqual(deterministic);
      const asked = model.server.messageRequests().some((r) => r.view?.prompt.includes('Task: Check the wording'));
      expect(asked).toBe(true);
    });
  });
});

describe('a re-ranker named in the workflow', () => {
  it('context.rerank: agent asks a real claude which facts an agent gets', async () => {
    const workflow = join(model.home.dir, 'rerank.yaml');
    writeFileSync(
      workflow,
      `version: 1
name: rerank
context: { inherit: filtered, rerank: agent }
phases:
  - id: survey
    agents: [{ id: payments, prompt: Survey the payment flow }]
  - id: build
    dependsOn: [survey]
    agents: [{ id: builder, prompt: Write the invoice export job for payment areas }]
`,
    );
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'rerank-data') });
    const { summary, agent } = await runWorkflowFile(workflow, env);
    const builder = agent('builder');
    const ask = model.server
      .messageRequests()
      .filter((r) => r.view?.prompt.startsWith('Pick the facts from earlier agents'))
      .find((r) => r.view!.prompt.includes('Write the invoice export job for payment areas'))!;
    const listed = (n: number) =>
      ask
        .view!.prompt.split('\n')
        .find((line) => line.startsWith(`${n}. `))!
        .replace(/^\d+\. \[\w+\] /, '');
    // The scripted model names facts 2 and 1: the builder gets exactly those.
    const system = model.server.messageRequests(builder.sessionId)[0]!.view!.system;
    const given = system.split('\n').filter((line) => line.startsWith('- [finding] '));
    expect(given.map((line) => line.replace('- [finding] ', '')).sort()).toEqual([listed(1), listed(2)].sort());
    // The re-ranker's call is the run's spend: `baton usage` lists it as Baton's own, not an agent.
    const usage = JSON.parse((await runCli(['usage', '--json'], { env })).stdout) as UsageReport;
    expect(usage.batonCalls.rows).toEqual([
      expect.objectContaining({ run: summary.runId, purpose: 'rerank', calls: 1 }),
    ]);
  });
});

describe('concurrent writers', () => {
  it('two processes writing to one store lose nothing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'baton-writers-'));
    try {
      await openSqliteStore({ dataDir }).close();
      const writerScript = fileURLToPath(new URL('./fixtures/context-writer.ts', import.meta.url));
      const run = (writer: string) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', writerScript, dataDir, writer], {
            stdio: 'inherit',
          });
          child.on('close', resolve);
        });
      expect(await Promise.all([run('alpha'), run('beta')])).toEqual([0, 0]);
      const store = openSqliteStore({ dataDir });
      const { entries, corrupt } = await store.listContextEntries({ runId: 'shared-run' });
      const facts = entries.filter((e) => e.key === undefined);
      expect(facts).toHaveLength(400);
      expect(new Set(facts.map((e) => e.content)).size).toBe(400);
      expect(corrupt).toEqual([]);
      expect(await store.getContextEntryByKey('shared-run', 'tally')).toMatchObject({ content: '200', version: 200 });
      await store.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
