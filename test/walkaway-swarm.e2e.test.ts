// The second "start the agents and walk away" scenario, end to end through the CLI on real claude
// agents against the scripted model and real git: a scanner lists modules and records facts, a
// planner plans two generations, a phase gate waits for a person (answered in the web dashboard with
// the tenant's token) while the shared memory server is SIGKILLed and restarted, a foreach swarm of
// reviewers inherits the scanner's facts (filtered), one agent crashes and is retried, one times out,
// an expensive agent uses up tenant acme's daily token budget so the run stops cleanly, and a resume
// with a raised budget and priority lands the last phase's worktrees as one verified branch. Mid-run,
// `baton status` answers for acme and tenant globex sees nothing; at the end nothing is left running
// and no secret is in any output, log or stored record.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { ApprovalRecord } from '../src/core/index.js';
import { scriptSchema } from '../src/model-server/index.js';
import type { AgentTimeline } from '../src/observability/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { AGENT_QUEUE } from '../src/queue/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { runCli, startCli, waitFor, type CliResult } from './support/cli.js';
import { startOtlpReceiver, spanAttribute } from './support/otlp-receiver.js';
import { checkoutFingerprint, expectRunLeftNothing, leftoverRunDirs, makeRepo } from './support/git-repo.js';
import { npmServers, toolThenText } from './support/mcp-servers.js';
import { agentProcessesWithEnv, mcpServerProcessesWithEnv } from './support/processes.js';
import { requireProgram } from './support/programs.js';
import { useRedisServer } from './support/redis.js';
import { useScriptedModel } from './support/scripted-model.js';

/** Secrets of the scenario: none may show in any output, log or stored record. */
const API_KEY = 'sk-ant-api03-walkaway2-3f9c1d7e5b2a4c6d8e0f1a3b5c7d9e1f';
const MEMORY_TOKEN = 'memvault-7c41e9d2b86a4f35a0c9e17d';
const DEPLOY_TOKEN = 'ghp_walkaway2Dep1oyT0kenAbCdEfGh1234567';

const INVOICE_FACT = 'Invoices are stored in Postgres 16 with row-level security per customer';
const modules = [
  { path: 'src/billing/invoices.ts', area: 'invoices' },
  { path: 'src/billing/refunds.ts', area: 'refunds' },
];
const scan = {
  modules,
  context: [
    { type: 'decision', key: 'invoice-store', content: INVOICE_FACT, tags: ['invoices'] },
    ...[
      'The login page loads its web font from a public CDN',
      'Nightly exports write CSV files to the reports bucket',
      'The admin dashboard polls the metrics endpoint every 30 seconds',
      'Email templates are rendered with Handlebars partials',
      'The search index is rebuilt by a cron job at 02:00 UTC',
      'Feature flags are read from LaunchDarkly at process start',
      'The mobile app pins TLS certificates for the API host',
      'Session cookies expire after 12 hours of inactivity',
      'Image uploads are resized by a Lambda before storage',
      'The support widget loads Intercom only for signed-in users',
    ].map((content) => ({ type: 'finding', content })),
  ],
};

const model = useScriptedModel(
  scriptSchema.parse({
    rules: [
      {
        match: { prompt: 'Survey the billing service', turn: 1 },
        reply: {
          toolUse: {
            name: 'mcp__memory__create_entities',
            input: { entities: [{ name: 'Launch', entityType: 'event', observations: ['set for March 3'] }] },
          },
        },
      },
      { match: { prompt: 'Survey the billing service' }, reply: { structured: scan } },
      {
        match: { prompt: '/^Prepare the billing release[\\s\\S]*Generation 1:/' },
        reply: { structured: { done: true, summary: 'Notes and changelog are written.', tasks: [] } },
      },
      {
        match: { prompt: 'Prepare the billing release' },
        reply: {
          structured: {
            done: false,
            tasks: [
              { id: 'notes', prompt: 'Draft the billing release notes.' },
              { id: 'changelog', prompt: 'Write the billing changelog entry.', dependsOn: ['notes'] },
            ],
          },
        },
      },
      {
        match: { prompt: 'Draft the billing release notes' },
        reply: { text: 'Decision: the notes lead with refunds.' },
      },
      { match: { prompt: 'Write the billing changelog' }, reply: { text: 'Artifact: CHANGELOG.md entry for 3.0' } },
      ...toolThenText('Review src/billing/', { name: 'mcp__memory__read_graph', input: {} }, 'Finding: reviewed.'),
      // The crasher's first request never answers: the test SIGKILLs its claude there; the retry is answered.
      {
        match: { prompt: 'Check the refund webhook' },
        replies: [{ hang: true }, { text: 'Finding: webhook retries are capped at 5.' }],
        sequencePer: 'script',
      },
      { match: { prompt: 'Wait for the ledger export' }, reply: { hang: true } },
      {
        match: { prompt: 'Reconcile the ledger' },
        reply: { text: 'Finding: the ledger balances.', usage: { input_tokens: 3_000_000, output_tokens: 1000 } },
      },
      ...toolThenText(
        'Hold the only worker slot',
        {
          name: 'Bash',
          input: { command: `touch hold.held; while [ -e hold ]; do sleep 0.1; done`, description: 'hold' },
        },
        'Released.',
      ),
      ...toolThenText(
        'Write the release notes file',
        { name: 'Write', input: { file_path: 'NOTES.md', content: '# Billing 3.0\n' } },
        'Wrote NOTES.md.',
      ),
      ...toolThenText(
        'Write the summary file',
        { name: 'Write', input: { file_path: 'SUMMARY.md', content: 'Reviewed 2 modules.\n' } },
        'Wrote SUMMARY.md.',
      ),
    ],
    default: { text: 'OK' },
  }),
  'baton-walkaway-swarm-',
  API_KEY,
);

function workflowYaml(repo: string): string {
  return `version: 1
name: swarm-walkaway
priority: 5
context: { inherit: filtered }
mcpServers:
  memory:
    command: ${process.execPath}
    args: [${npmServers.memory}]
    env: { MEMORY_FILE_PATH: ${join(model.home.dir, 'memory.json')}, MEMORY_VAULT_TOKEN: ${MEMORY_TOKEN} }
    scope: run
defaults:
  permissions: { allow: [Write], approvalTimeoutMs: 600000 }
phases:
  - id: scan
    agents:
      - id: scanner
        prompt: Survey the billing service and list its modules.
        mcpServers: [memory]
        env: { DEPLOY_TOKEN: ${DEPLOY_TOKEN} }
        outputSchema:
          type: object
          properties:
            modules: { type: array, items: { type: object, properties: { path: { type: string }, area: { type: string } } } }
            context: { type: array, items: { type: object, properties: { type: { type: string }, content: { type: string }, key: { type: string }, tags: { type: array, items: { type: string } } }, required: [type, content] } }
          required: [modules]
  - id: plan
    dependsOn: [scan]
    plan: { maxGenerations: 3 }
    agents: [{ id: planner, prompt: Prepare the billing release., mcpServers: [] }]
  - id: review
    dependsOn: [plan]
    approval: { before: true, message: Check the plan before the reviews start }
    agents:
      - id: reviewer
        foreach: { phase: scan, field: modules }
        prompt: "Review {{item.path}}: where are {{item.area}} stored, and when is the launch?"
        mcpServers: [memory]
      - { id: crasher, prompt: Check the refund webhook retries., mcpServers: [memory] }
      - { id: sleeper, prompt: Wait for the ledger export., mcpServers: [], timeoutMs: 8000 }
  - id: spend
    dependsOn: [review]
    when: { phase: review, status: [partial] }
    agents: [{ id: spender, prompt: Reconcile the ledger., mcpServers: [] }]
  - id: wrapup
    dependsOn: [spend]
    workspace: worktree
    repo: ${repo}
    merge: { verify: node check.mjs }
    agents:
      - { id: notes-writer, prompt: Write the release notes file., mcpServers: [] }
      - { id: summary-writer, prompt: Write the summary file., mcpServers: [] }
`;
}

/** Every file under `dir`, as bytes read as latin1 (the store and logs hold secrets as plain bytes, if at all). */
function filesUnder(dir: string): Array<{ path: string; text: string }> {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((entry) => join(dir, entry))
    .filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile())
    .map((path) => ({ path, text: readFileSync(path, 'latin1') }));
}

/** The claude process of an agent session (its command line names the session). */
const claudeOfSession = (sessionId: string) =>
  agentProcessesWithEnv(model.home.dir).find((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return argv.includes(sessionId) && !argv.includes('--resume');
    } catch {
      return false; // it exited while we looked
    }
  });

describe.runIf(requireProgram('git'))('a swarm with a planner and a budget, and walk away', () => {
  it('planner, gate, MCP crash, agent crash and timeout, budget stop, resume with a raised budget: one verified branch, tenants kept apart, nothing left, no secret shown', async () => {
    const dir = join(model.home.dir, 'swarm');
    const repo = join(dir, 'repo');
    const git = makeRepo(repo, {
      'check.mjs': "import { existsSync } from 'node:fs';\nprocess.exit(existsSync('README.md') ? 0 : 1);\n",
      'README.md': '# billing\n',
    });
    const before = checkoutFingerprint(repo);
    const dataDir = join(dir, 'data');
    const workflow = join(dir, 'workflow.yaml');
    writeFileSync(workflow, workflowYaml(repo));
    const tight = join(dir, 'tight.yaml');
    writeFileSync(tight, 'parallel_limit: 4\ntenant_daily_token_budget: { acme: 2000000 }\n');
    const raised = join(dir, 'raised.yaml');
    writeFileSync(raised, 'parallel_limit: 4\ntenant_daily_token_budget: { acme: 50000000 }\n');
    const traces = await startOtlpReceiver();
    const env = model.home.cliEnv(model.url, { ANTHROPIC_API_KEY: API_KEY, BATON_OTEL_ENDPOINT: traces.endpoint });
    const outputs: CliResult[] = [];
    const cli = async (args: string[]) => {
      const result = await runCli([...args, '--data-dir', dataDir], { env });
      outputs.push(result);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      return result;
    };
    const json = async <T>(args: string[]) => JSON.parse((await cli(args)).stdout) as T;
    const store = openSqliteStore({ dataDir });
    const serve = startCli(['serve', '--port', '0', '--data-dir', dataDir], { env });
    /** Answers a request as a person in `baton serve` would, with a tenant's dashboard token. */
    const approveInDashboard = async (id: string) => {
      const url = await waitFor(
        () => /dashboard at (http:\/\/\S+)/.exec(serve.stdoutSoFar())?.[1],
        30_000,
        'the dashboard',
      );
      const { origin } = new URL(url);
      const tokens = new Map<string, string>();
      for (const tenant of ['acme', 'globex'])
        tokens.set(tenant, (await cli(['dashboard-token', '--tenant', tenant])).stdout.trim());
      const as = (tenant: string, path: string, init: RequestInit = {}) =>
        fetch(`${origin}/${path}`, {
          ...init,
          headers: { authorization: `Bearer ${tokens.get(tenant)!}`, origin, 'content-type': 'application/json' },
        });
      const listed = async (tenant: string) =>
        ((await (await as(tenant, 'api/approvals')).json()) as ApprovalRecord[]).map((r) => r.id);
      expect(await listed('globex')).toEqual([]);
      expect(await listed('acme')).toEqual([id]);
      const decide = (tenant: string) =>
        as(tenant, `api/approvals/${id}/approve`, { method: 'POST', body: JSON.stringify({ message: 'go ahead' }) });
      expect((await decide('globex')).status).toBe(404);
      expect((await decide('acme')).status).toBe(200);
    };
    const first = startCli(['run', workflow, '--config', tight, '--tenant', 'acme', '--json', '--data-dir', dataDir], {
      env,
    });
    try {
      // 1. The run waits at the review gate, every earlier phase (planned ones included) done.
      const gate = await waitFor(
        async () => {
          const [run] = await store.listRuns({ limit: 1 });
          const [pending] = run ? await store.listApprovals({ runId: run.id, status: 'pending' }) : [];
          return pending;
        },
        90_000,
        'the review gate to wait',
      );
      const { runId } = gate;
      const mid = await json<RunSummary>(['status', runId, '--json']);
      expect(mid).toMatchObject({ status: 'running', waiting: 1 });
      expect(Object.fromEntries(mid.phases.map((p) => [p.id, p.status]))).toMatchObject({
        scan: 'succeeded',
        plan: 'succeeded',
        'plan.g1.notes': 'succeeded',
        'plan.g1.changelog': 'succeeded',
        review: 'pending',
      });
      expect(mid.phases.find((p) => p.id === 'plan')!.output!.text).toContain('The planner said done.');
      expect((await cli(['status', runId])).stdout).toContain(
        `Run ${runId} (swarm-walkaway): running, waiting for 1 approval(s)`,
      );
      const listed = await json<ApprovalRecord[]>(['approvals', '--run', runId, '--tenant', 'acme', '--json']);
      expect(listed.map((r) => r.id)).toEqual([gate.id]);
      expect(listed[0]!.summary).toContain('Check the plan before the reviews start');
      // The person deciding sees what the gate's dependency (the plan) produced.
      expect(listed[0]!.summary).toContain('plan: Generation 1: notes succeeded, changelog succeeded');

      // 2. Tenant globex sees nothing of acme's run, not even mid-run.
      const globex = ['--tenant', 'globex'];
      expect(await json<unknown[]>(['runs', ...globex, '--json'])).toEqual([]);
      const notFound = await cli(['status', runId, ...globex]);
      expect(notFound.code).toBe(2);
      expect(notFound.stderr).toContain('BATON_RUN_NOT_FOUND');
      expect(await json<unknown[]>(['approvals', ...globex, '--json'])).toEqual([]);
      const usage = await json<{ rows: unknown[] }>(['usage', '--by', 'run', ...globex, '--json']);
      expect(usage.rows).toEqual([]);
      const refused = await cli(['approve', gate.id, ...globex]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('BATON_APPROVAL_NOT_FOUND');
      const audit = await json<Array<{ target?: string }>>(['audit', ...globex, '--json']);
      expect(audit).toEqual([]);
      expect(await json<unknown[]>(['sessions', 'list', ...globex, '--json'])).toEqual([]);
      const exported = await json<{ sessions: unknown[]; entries: unknown[] }>(['context', 'export', ...globex]);
      expect([...exported.sessions, ...exported.entries]).toEqual([]);

      // 3. The shared memory server dies while the run waits; the gateway restarts it.
      // One memory process served the scanner and the planner's run so far (started once for the run).
      const [memory, ...more] = mcpServerProcessesWithEnv(model.home.dir, 'memory');
      expect(memory).toBeDefined();
      expect(more).toEqual([]);
      process.kill(memory!, 'SIGKILL');
      await waitFor(
        async () => {
          const status = await json<{ mcpHealth?: Array<{ name: string; restarts: number }> }>([
            'status',
            runId,
            '--json',
          ]);
          return (status.mcpHealth?.find((h) => h.name === 'memory')?.restarts ?? 0) > 0 || undefined;
        },
        30_000,
        'the memory server to be restarted',
      );

      // 4. Approved in the web dashboard with acme's token (globex's finds no such request); then the
      // crasher's claude is killed mid-request.
      await approveInDashboard(gate.id);
      expect((await store.getApproval(gate.id))!.answer).toMatchObject({ message: 'go ahead' });
      const crasherRequest = await waitFor(
        () => model.server.messageRequests().find((r) => r.view?.prompt.includes('Check the refund webhook')),
        60_000,
        "the crasher's first model request",
      );
      const crasherPid = await waitFor(
        () => claudeOfSession(crasherRequest.sessionId!),
        10_000,
        "the crasher's claude",
      );
      process.kill(crasherPid, 'SIGKILL');

      // 5. The spender uses up acme's tokens: the run stops cleanly, the worktree phase cancelled.
      const stopped = await first.output;
      outputs.push(stopped);
      expect(stopped.stderr).not.toMatch(/\n\s+at /);
      expect(stopped.code).toBe(1);
      const firstSummary = JSON.parse(stopped.stdout) as RunSummary;
      expect(firstSummary.status).toBe('failed');
      const agents = new Map(firstSummary.phases.flatMap((p) => p.agents.map((a) => [a.id, a])));
      expect(agents.get('crasher')).toMatchObject({ status: 'succeeded', attempts: 2 });
      expect(agents.get('sleeper')).toMatchObject({ status: 'failed', error: { code: 'BATON_AGENT_TIMEOUT' } });
      expect(agents.get('spender')).toMatchObject({ status: 'succeeded' });
      for (const id of ['notes-writer', 'summary-writer'])
        expect(agents.get(id)).toMatchObject({ status: 'cancelled', error: { code: 'BATON_RUN_BUDGET_EXCEEDED' } });
      expect(firstSummary.phases.find((p) => p.id === 'review')!.status).toBe('partial');
      // Stopped cleanly: no agent or server process, worktree or branch of the cancelled phase left.
      expect(agentProcessesWithEnv(model.home.dir)).toEqual([]);
      expect(mcpServerProcessesWithEnv(model.home.dir)).toEqual([]);
      expect(leftoverRunDirs(dataDir, runId)).toEqual([]);
      expect(git('branch', '--format=%(refname:short)')).toBe('main');

      // The reviewers read the launch date through the restarted server, and inherited the invoice decision.
      for (const [i, item] of modules.entries()) {
        const reviewer = agents.get(`reviewer.${i}`)!;
        const requests = model.server.messageRequests(reviewer.sessionId);
        expect(requests[0]!.view!.prompt).toContain(`Review ${item.path}: where are ${item.area} stored`);
        expect(requests.at(-1)!.view!.last).toContain('set for March 3');
        expect(reviewer.context).toMatchObject({ mode: 'filtered' });
      }
      // Filtered inheritance: out of every earlier fact, the invoice reviewer is given the invoice decision
      // (not the login page's font), and the refunds reviewer the decision of a phase the planner added.
      const injected = (id: string) => model.server.messageRequests(agents.get(id)!.sessionId)[0]!.view!.system;
      expect(injected('reviewer.0')).toContain(INVOICE_FACT);
      expect(injected('reviewer.0')).not.toContain('web font');
      expect(injected('reviewer.1')).toContain('the notes lead with refunds');
      const chosen = agents.get('reviewer.0')!.context!;
      expect(chosen.entryIds.length).toBeLessThan(chosen.considered);
      // 11 of the scanner, 3 of the planner (a finding per planned task, then its summary), 2 planned agents' results.
      expect(chosen.considered).toBe(16);
      // Every tool call is recorded with its attempt: the reviewer's memory read, the crasher's two attempts.
      const timeline = await json<AgentTimeline>(['status', runId, '--agent', 'reviewer.0', '--json']);
      expect(timeline.attempts.flatMap((a) => a.toolCalls.map((c) => `${c.name}:${c.server}:${c.status}`))).toEqual([
        'mcp__memory__read_graph:memory:ok',
      ]);
      const crasherTimeline = await json<AgentTimeline>(['status', runId, '--agent', 'crasher', '--json']);
      // The retry resumes the session when claude had written its transcript before the kill, and
      // starts the task over when it had not (both happen, by a few ms): either way it succeeds.
      expect(crasherTimeline.attempts.map((a) => `${a.status}:${a.error?.code ?? ''}`)).toEqual([
        'failed:BATON_AGENT_CRASHED',
        'succeeded:',
      ]);

      // A new run of acme is refused today; the stopped one is resumed with a raised budget and priority.
      const refusedRun = await cli(['run', workflow, '--config', tight, '--tenant', 'acme']);
      expect(refusedRun.code).toBe(1);
      expect(refusedRun.stderr).toContain('BATON_TENANT_BUDGET_EXCEEDED');
      const refusedResume = await cli(['run', '--resume', runId, '--config', tight]);
      expect(refusedResume.code).toBe(1);
      expect(refusedResume.stderr).toContain('BATON_TENANT_BUDGET_EXCEEDED');
      const requestsBefore = model.server.messageRequests().length;
      const last = await cli(['run', '--resume', runId, '--config', raised, '--priority', '9', '--json']);
      expect(last.code).toBe(1); // the sleeper stays failed: a resume continues a run, it does not retry failures
      const summary = JSON.parse(last.stdout) as RunSummary;
      expect(summary.status).toBe('partial');
      expect((await store.getRun(runId))!).toMatchObject({ tenant: 'acme', priority: 9 });
      const wrapup = summary.phases.find((p) => p.id === 'wrapup')!;
      expect(wrapup.agents.map((a) => a.status)).toEqual(['succeeded', 'succeeded']);
      expect(wrapup.merge).toMatchObject({ status: 'succeeded' });
      expect(wrapup.merge!.steps.map((s) => `${s.agentId}:${s.outcome}`)).toEqual([
        'notes-writer:merged',
        'summary-writer:merged',
      ]);
      const files = git('ls-tree', '-r', '--name-only', wrapup.merge!.into).split('\n');
      expect(files).toEqual(expect.arrayContaining(['NOTES.md', 'SUMMARY.md', 'check.mjs']));
      // Only the two writers asked the model again: nothing finished ran twice.
      const again = model.server.messageRequests().slice(requestsBefore);
      expect(new Set(again.map((r) => r.view?.prompt.split('.')[0]))).toEqual(
        new Set(['Write the release notes file', 'Write the summary file']),
      );
      const status = await json<RunSummary & { mcpHealth: Array<Record<string, unknown>> }>([
        'status',
        runId,
        '--json',
      ]);
      expect(status.mcpHealth.find((h) => h.name === 'memory')).toMatchObject({ crashes: 1, restarts: 1 });

      // Traced: one trace over both orchestrators, each attempt and tool call a span, tenant on the run.
      const runSpans = traces.spans.filter((span) => span.name === 'baton.run');
      expect(runSpans.map((span) => spanAttribute(span, 'baton.tenant'))).toEqual(['acme', 'acme']);
      expect(new Set(traces.spans.map((span) => span.traceId)).size).toBe(1);
      const agentSpan = (id: string) => traces.spans.find((span) => span.name === `invoke_agent ${id}`)!;
      const childrenOf = (parent: { spanId: string }) => traces.spans.filter((s) => s.parentSpanId === parent.spanId);
      expect(
        childrenOf(agentSpan('crasher'))
          .map((span) => span.name)
          .sort(),
      ).toEqual(['baton.attempt 1', 'baton.attempt 2']);
      const reads = traces.spans.filter((span) => span.name === 'execute_tool mcp__memory__read_graph');
      expect(reads).toHaveLength(2);
      for (const read of reads) expect(spanAttribute(read, 'baton.mcp.server')).toBe('memory');

      // Acme's own reads see the run and what it spent.
      expect(
        (await json<Array<{ runId: string }>>(['runs', '--tenant', 'acme', '--json'])).map((r) => r.runId),
      ).toEqual([runId]);
      const acmeUsage = await json<{ rows: Array<{ key: string; inputTokens: number }> }>([
        'usage',
        '--by',
        'tenant',
        '--tenant',
        'acme',
        '--json',
      ]);
      expect(acmeUsage.rows.map((r) => r.key)).toEqual(['acme']);
      expect(acmeUsage.rows[0]!.inputTokens).toBeGreaterThanOrEqual(3_000_000);
      // Acme's audit trail: both orchestrators' runs and the gate's approval, all of this run.
      const acmeAudit = await json<Array<{ action: string; target?: string }>>(['audit', '--tenant', 'acme', '--json']);
      expect(new Set(acmeAudit.map((e) => e.target))).toEqual(new Set([runId]));
      expect(acmeAudit.map((e) => e.action)).toEqual(
        expect.arrayContaining(['run.started', 'approval.approved', 'run.finished']),
      );
      expect(acmeAudit.filter((e) => e.action === 'run.started')).toHaveLength(2);

      // Nothing left: no claude or MCP server process, worktree or stray branch; the checkout untouched.
      expectRunLeftNothing({ home: model.home.dir, repo, before, dataDir, runId });
      const run8 = runId.slice(0, 8);
      expect(git('branch', '--format=%(refname:short)').split('\n').sort()).toEqual(
        ['main', wrapup.merge!.into, `baton/${run8}/notes-writer`, `baton/${run8}/summary-writer`].sort(),
      );

      // No secret in any output, log, trace or stored record; the gateway's per-run secret (given to claude
      // on its stdin, never on a command line) is in none of them either.
      const written = [
        ...outputs.map((o, i) => ({ path: `output ${i}`, text: o.stdout + o.stderr })),
        { path: 'traces', text: JSON.stringify(traces.spans) },
        ...filesUnder(dataDir),
      ];
      // What claude kept in its HOME (config, transcripts) counts too.
      written.push(...filesUnder(join(model.home.dir, '.claude')));
      for (const secret of [API_KEY, MEMORY_TOKEN, DEPLOY_TOKEN])
        expect(written.filter((w) => w.text.includes(secret)).map((w) => w.path)).toEqual([]);
      const gatewaySecret = /x-baton-gateway-token\W+[A-Za-z0-9_-]{43}/;
      const withGatewaySecret = written.filter((w) => gatewaySecret.test(w.text));
      expect(withGatewaySecret.map((w) => w.path)).toEqual([]);
      expect(written.some((w) => w.text.includes('x-baton-gateway-token'))).toBe(true);
    } finally {
      first.kill('SIGKILL');
      serve.kill('SIGTERM');
      await serve.output;
      await store.close();
      await traces.close();
    }
  }, 240_000);
});

describe.runIf(requireProgram('redis-server'))('priorities across runs on one baton worker (real redis-server)', () => {
  const redis = useRedisServer();

  it("a later run of higher priority (--priority over the workflow's) goes ahead of an earlier run's waiting agents", async () => {
    const dir = join(model.home.dir, 'priorities');
    mkdirSync(dir, { recursive: true });
    const workflow = (name: string, agents: string[], prompt: string, extra = '') => {
      const path = join(dir, `${name}.yaml`);
      const list = agents.map((id) => `      - { id: ${id}, prompt: ${prompt}, mcpServers: [] }`).join('\n');
      writeFileSync(
        path,
        `version: 1\nname: ${name}\npriority: 1\n${extra}phases:\n  - id: only\n    agents:\n${list}\n`,
      );
      return path;
    };
    const hold = workflow(
      'hold',
      ['holder'],
      'Hold the only worker slot.',
      'defaults: { permissions: { allow: [Bash] } }\n',
    );
    const env = model.home.cliEnv(model.url, {
      ANTHROPIC_API_KEY: API_KEY,
      BATON_DATA_DIR: join(dir, 'data'),
      BATON_REDIS_URL: redis.server.url,
    });
    const queue = new Queue(AGENT_QUEUE, { connection: { host: '127.0.0.1', port: redis.server.port } });
    const worker = startCli(['worker', '--concurrency', '1'], { env });
    const runs: Array<ReturnType<typeof startCli>> = [];
    const run = (args: string[]) => {
      const started = startCli(['run', ...args, '--json'], { env });
      runs.push(started);
      return started;
    };
    const queued = async (n: number) => {
      const counts = await queue.getJobCounts('waiting', 'prioritized');
      return (counts.waiting ?? 0) + (counts.prioritized ?? 0) === n || undefined;
    };
    try {
      await waitFor(() => worker.stderrSoFar().includes('ready') || undefined, 30_000, 'the worker to be ready');
      writeFileSync(join(dir, 'hold'), '');
      run([hold]);
      await waitFor(() => existsSync(join(dir, 'hold.held')) || undefined, 60_000, 'the holder to take the slot');
      run([workflow('low', ['low-1', 'low-2'], 'Low priority task.')]);
      await waitFor(() => queued(2), 60_000, "the low run's two agents to wait in the queue");
      run([workflow('high', ['high-1'], 'High priority task.'), '--priority', '9']);
      await waitFor(() => queued(3), 60_000, "the high run's agent to wait in the queue");
      rmSync(join(dir, 'hold'));
      const results = await Promise.all(runs.map((r) => r.output));
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      // One slot: the order of the agents' first model requests is the order the worker took them.
      const firsts = [...new Set(model.server.messageRequests().map((r) => r.view?.prompt ?? ''))].filter((p) =>
        /priority task/.test(p),
      );
      expect(firsts.map((p) => p.split(' ')[0])).toEqual(['High', 'Low']);
    } finally {
      for (const r of runs) r.kill('SIGKILL');
      worker.kill('SIGTERM');
      await worker.output;
      await queue.close();
    }
  }, 180_000);
});
