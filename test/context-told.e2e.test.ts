import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli } from './support/cli.js';
import { useScriptedModel } from './support/scripted-model.js';

const model = useScriptedModel(
  {
    rules: [
      {
        match: { prompt: 'Choose the order store' },
        reply: { text: 'Decision[db]: the order store is PostgreSQL 16\nFinding: p95 of the order list is 900 ms.' },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Measure the order list' },
        reply: {
          text: 'Decision: The order store will use PostgreSQL 16.\nFinding: p95 of the order list is 0.9 s.',
        },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Review the order store' },
        reply: { text: 'Decision[db]: the order store is SQLite; PostgreSQL is too much to run' },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Build the order list on the order store', last: 'Which store did you build on?' },
        reply: { text: 'PostgreSQL 16' },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Survey the shop codebase' },
        reply: {
          text: [
            'Surveyed.',
            'Finding: The login page takes 3 s to render on mobile.',
            'Finding: Payments go through Stripe with webhooks on /stripe/hook.',
            'Finding: The CI pipeline runs on GitHub Actions in 14 minutes.',
            'Decision: Emails are sent through SendGrid templates.',
            'Finding: The search box queries Elasticsearch 7 directly.',
            'Finding: Feature flags are served by Unleash.',
            'Decision: The admin UI is built with Vue 2.',
            'Finding: Images are resized by a Lambda on upload.',
            'Finding: Logs go to Loki via promtail.',
            'Decision: Invoices are rendered to PDF with Puppeteer.',
            'Finding: Translations live in locales/*.json.',
            'Finding: Backups of the database run nightly to S3.',
            'Finding: CSV exports are generated synchronously in the request.',
            'Decision: The marketing site is a separate Next.js app on Vercel.',
            'Finding: The GraphQL gateway is Apollo Server 4 behind nginx.',
            'Finding: Cron jobs run through node-cron inside the API process.',
            'Finding: The warehouse sync pulls stock levels every 15 minutes over SFTP.',
          ].join('\n'),
        },
        sequencePer: 'script',
      },
    ],
    default: { text: 'Done.' },
  },
  'baton-context-told-',
);

const agentOf = (summary: RunSummary, id: string) => summary.phases.flatMap((p) => p.agents).find((a) => a.id === id)!;

describe('what an agent was told, when facts change after it (real claude agents)', () => {
  it('status --agent shows the keyed decision as the builder was given it; a decision said twice is one line', async () => {
    const workflow = join(model.home.dir, 'later.yaml');
    writeFileSync(
      workflow,
      `version: 1
name: later
context: { superseded: show }
phases:
  - id: design
    agents:
      - { id: architect, prompt: Choose the order store }
      - { id: perf, prompt: Measure the order list }
  - id: build
    dependsOn: [design]
    agents: [{ id: builder, prompt: Build the order list on the order store }]
  - id: review
    dependsOn: [build]
    agents: [{ id: lead, prompt: Review the order store }]
`,
    );
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'data') });
    const { code, stdout } = await runCli(['run', workflow, '--json'], { env });
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as RunSummary;
    const system = model.server.messageRequests(agentOf(summary, 'builder').sessionId)[0]!.view!.system;
    // The two agents' PostgreSQL decisions and their one measurement (900 ms / 0.9 s) are each one line.
    expect(system.match(/PostgreSQL 16/g)).toHaveLength(1);
    expect(system.match(/900 ms|0\.9 s/g)).toHaveLength(1);
    expect(system).not.toContain('replacing');

    // The reviser ran after the builder: the builder's record shows what it was given.
    const shown = await runCli(['status', summary.runId, '--agent', 'builder'], { env });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(
      /\[decision\] \w+ \(design\): (the order store is|The order store will use) PostgreSQL 16/,
    );
    expect(shown.stdout).not.toContain('SQLite');
    expect(shown.stdout).not.toContain('Left out');
  });

  it('a child of one researcher is given what its task needs, not every fact of that researcher', async () => {
    const workflow = join(model.home.dir, 'one-source.yaml');
    writeFileSync(
      workflow,
      `version: 1
name: one-source
phases:
  - id: survey
    agents: [{ id: researcher, prompt: Survey the shop codebase }]
  - id: fix
    dependsOn: [survey]
    agents: [{ id: mobile, prompt: Speed up the login page on phones }]
`,
    );
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'one-source-data') });
    const { code, stdout } = await runCli(['run', workflow, '--json'], { env });
    expect(code).toBe(0);
    const system = model.server.messageRequests(agentOf(JSON.parse(stdout) as RunSummary, 'mobile').sessionId)[0]!.view!
      .system;
    expect(system).toContain('- [finding] The login page takes 3 s to render on mobile.');
    expect(system).not.toContain('SendGrid');
    expect(system).not.toContain('Puppeteer');
    // More than the 200 tokens given whole (smallContextTokens): this is a choice, not a small context.
    expect(system.match(/^- \[/gm)!.length).toBeLessThanOrEqual(2);
  });

  it('a forked or resumed session keeps the context its agent was given', async () => {
    const workflow = join(model.home.dir, 'fork.yaml');
    writeFileSync(
      workflow,
      `version: 1
name: fork
phases:
  - id: design
    agents: [{ id: architect, prompt: Choose the order store }]
  - id: build
    dependsOn: [design]
    agents: [{ id: builder, prompt: Build the order list on the order store }]
`,
    );
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'fork-data') });
    const { code, stdout } = await runCli(['run', workflow, '--json'], { env });
    expect(code).toBe(0);
    const builder = agentOf(JSON.parse(stdout) as RunSummary, 'builder');
    const given = model.server.messageRequests(builder.sessionId)[0]!.view!.system;
    expect(given).toContain('- [decision] the order store is PostgreSQL 16');
    for (const mode of ['fork', 'resume'] as const) {
      const followUp = await runCli(['sessions', mode, builder.sessionId, 'Which store did you build on?', '--json'], {
        env,
      });
      expect(followUp.code).toBe(0);
      const { sessionId } = JSON.parse(followUp.stdout) as { sessionId: string };
      const requests = model.server.messageRequests(sessionId);
      const system = requests[requests.length - 1]!.view!.system;
      expect([mode, system]).toEqual([mode, expect.stringContaining('- [decision] the order store is PostgreSQL 16')]);
    }
  });
});
