import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_WAITING_FOR_APPROVAL } from '../src/core/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli, startCli, waitFor } from './support/cli.js';
import { requireProgram } from './support/programs.js';
import { useRedisStore } from './support/redis.js';
import { useScriptedModel } from './support/scripted-model.js';

const model = useScriptedModel(
  {
    rules: [
      // Two agents for one worker slot: each writes its own note, on its first try and when resumed.
      ...['A', 'B'].flatMap((note) =>
        [{ turn: 1 }, { last: 'previous attempt' }].map((when) => ({
          match: { prompt: `Write queued note ${note}`, ...when },
          reply: { toolUse: { name: 'Write', input: { file_path: `${note}.md`, content: `note ${note}\n` } } },
          sequencePer: 'script' as const,
        })),
      ),
      // Resumed after --detach-on-wait, the agent makes its call again.
      {
        match: { prompt: 'when detached', last: 'previous attempt' },
        reply: { toolUse: { name: 'Write', input: { file_path: 'NOTE.md', content: 'v2 is out\n' } } },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Write the release note', turn: 1 },
        reply: { toolUse: { name: 'Write', input: { file_path: 'NOTE.md', content: 'v2 is out\n' } } },
        sequencePer: 'script',
      },
    ],
    default: { text: 'Finding: note written' },
  },
  'baton-appr-worker-',
);

/** A webhook receiver that fails its first call, to show the POST is tried again. */
async function flakyWebhook() {
  const received: Array<Record<string, unknown>> = [];
  let calls = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      calls++;
      if (calls === 1) return void res.writeHead(500).end();
      received.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, received, close: () => server.close() };
}

describe.runIf(requireProgram('redis-server'))('approvals on baton workers (real redis-server, real claude)', () => {
  const redis = useRedisStore();
  /** The CLI's environment: the shared Redis store, and Write asks a person. */
  const askingEnv = (extra: NodeJS.ProcessEnv = {}) =>
    model.home.cliEnv(model.url, {
      BATON_DATA_DIR: join(model.home.dir, 'data'),
      BATON_REDIS_URL: redis.server.url,
      BATON_PERMISSIONS: JSON.stringify({ ask: ['Write'] }),
      ...extra,
    });
  /** A project folder holding one workflow file. */
  const project = (name: string, file: string, yaml: string) => {
    const dir = join(model.home.dir, name);
    mkdirSync(dir);
    const workflow = join(dir, file);
    writeFileSync(workflow, yaml);
    return { dir, workflow };
  };

  it('an agent on a worker asks; the webhook hears of it; baton approve lets it go on', async () => {
    const hook = await flakyWebhook();
    const env = askingEnv({ BATON_APPROVAL_WEBHOOK_URL: hook.url });
    const { dir, workflow } = project(
      'project',
      'note.yaml',
      'version: 1\nname: note\nphases:\n  - { id: write, agents: [{ id: writer, prompt: Write the release note }] }\n',
    );
    const worker = startCli(['worker', '--concurrency', '1'], { env });
    try {
      await waitFor(() => worker.stderrSoFar().includes('ready') || undefined, 30_000, 'the worker to be ready');
      const run = startCli(['run', workflow, '--json'], { env });
      const request = await waitFor(
        async () => (await redis.store.listApprovals({ status: 'pending' }))[0],
        90_000,
        'the agent on the worker to ask',
      );
      expect(request).toMatchObject({ agentId: 'writer', tool: 'Write', rule: 'Write' });
      expect(worker.stderrSoFar()).toContain('writer');
      // The webhook failed once and was tried again; the agent waited for a person, not for it.
      const [payload] = await waitFor(() => (hook.received.length > 0 ? hook.received : undefined), 20_000, 'webhook');
      expect(payload).toMatchObject({
        id: request.id,
        runId: request.runId,
        agentId: 'writer',
        tool: 'Write',
        approve: `baton approve ${request.id} --message "…"`,
      });
      expect(String(payload!.summary)).toContain('NOTE.md');
      expect(existsSync(join(dir, 'NOTE.md'))).toBe(false);

      expect((await runCli(['approve', request.id], { env })).code).toBe(0);
      const { code, stdout } = await run.output;
      expect(code).toBe(0);
      expect((JSON.parse(stdout) as RunSummary).status).toBe('succeeded');
      expect(readFileSync(join(dir, 'NOTE.md'), 'utf8')).toBe('v2 is out\n');
    } finally {
      hook.close();
      worker.kill('SIGTERM');
      await worker.output;
    }
  }, 180_000);

  it('the orchestrator SIGKILLed while an agent on a worker waits: approved meanwhile, --resume takes its result, the agent runs once', async () => {
    const env = askingEnv();
    const { dir, workflow } = project(
      'killed',
      'note.yaml',
      'version: 1\nname: note-killed\nphases:\n  - { id: write, agents: [{ id: writer, prompt: Write the release note of the killed run }] }\n',
    );
    const worker = startCli(['worker', '--concurrency', '1'], { env });
    const run = startCli(['run', workflow, '--json'], { env });
    try {
      await waitFor(() => worker.stderrSoFar().includes('ready') || undefined, 30_000, 'the worker to be ready');
      const request = await waitFor(
        async () => {
          const killed = (await redis.store.listRuns()).find((r) => r.workflowName === 'note-killed');
          return killed && (await redis.store.listApprovals({ runId: killed.id, status: 'pending' }))[0];
        },
        90_000,
        'the agent on the worker to ask',
      );
      run.kill('SIGKILL');
      await run.output;

      // Resumed while the worker still runs the agent: the record says running, not queued again.
      const resuming = startCli(['run', '--resume', request.runId], { env });
      await waitFor(
        () => /writer queued for a worker/.test(resuming.stdoutSoFar() + resuming.stderrSoFar()) || undefined,
        60_000,
        'the resumed run to hand the writer over',
      );
      await waitFor(
        async () => (await redis.store.getAgent(request.runId, 'writer'))?.status === 'running' || undefined,
        30_000,
        'the writer, which the worker still runs, to show as running',
      );
      expect((await runCli(['approve', request.id], { env })).code).toBe(0);
      const resumed = await resuming.output;
      expect(resumed.stderr).not.toMatch(/\n\s+at /);
      expect(resumed.code).toBe(0);
      const summary = JSON.parse((await runCli(['status', request.runId, '--json'], { env })).stdout) as RunSummary;
      expect(summary.status).toBe('succeeded');
      expect(readFileSync(join(dir, 'NOTE.md'), 'utf8')).toBe('v2 is out\n');
      const writer = summary.phases[0]!.agents[0]!;
      // One conversation of two model calls (the write, then its result): nothing ran twice.
      const sessions = new Set(
        model.server
          .messageRequests()
          .filter((r) => r.view!.prompt.includes('killed run'))
          .map((r) => r.sessionId),
      );
      expect([writer.status, writer.attempts, sessions.size]).toEqual(['succeeded', 1, 1]);
    } finally {
      run.kill('SIGKILL');
      worker.kill('SIGTERM');
      await worker.output;
    }
  }, 180_000);

  it('--detach-on-wait with an agent on a worker exits 3; approved, --resume finishes the run', async () => {
    const env = askingEnv();
    const { dir, workflow } = project(
      'detached',
      'note.yaml',
      'version: 1\nname: note-detached\nphases:\n  - { id: write, agents: [{ id: writer, prompt: Write the release note when detached }] }\n',
    );
    const worker = startCli(['worker', '--concurrency', '1'], { env });
    try {
      await waitFor(() => worker.stderrSoFar().includes('ready') || undefined, 30_000, 'the worker to be ready');
      const first = await runCli(['run', workflow, '--detach-on-wait', '--json'], { env });
      expect(first.stderr).not.toMatch(/\n\s+at /);
      expect(first.code).toBe(EXIT_WAITING_FOR_APPROVAL);
      const stopped = JSON.parse(first.stdout) as RunSummary;
      const [request] = await redis.store.listApprovals({ runId: stopped.runId, status: 'pending' });
      expect(request).toMatchObject({ agentId: 'writer', tool: 'Write' });
      expect((await runCli(['approve', request!.id], { env })).code).toBe(0);

      const resumed = await runCli(['run', '--resume', stopped.runId, '--json'], { env });
      expect(resumed.stderr).not.toMatch(/\n\s+at /);
      expect(resumed.code).toBe(0);
      expect((JSON.parse(resumed.stdout) as RunSummary).status).toBe('succeeded');
      // Succeeded on its second attempt: the first attempt's stop is not its error.
      const writer = (JSON.parse(resumed.stdout) as RunSummary).phases[0]!.agents[0]!;
      expect(writer).toMatchObject({ status: 'succeeded', attempts: 2 });
      expect(writer.error).toBeUndefined();
      expect(readFileSync(join(dir, 'NOTE.md'), 'utf8')).toBe('v2 is out\n');
    } finally {
      worker.kill('SIGTERM');
      await worker.output;
    }
  }, 180_000);

  it('--detach-on-wait exits 3 when the agent waiting for a person holds the only worker slot and another agent is queued', async () => {
    const env = askingEnv();
    const { dir, workflow } = project(
      'queued',
      'notes.yaml',
      `version: 1
name: notes-queued
phases:
  - id: write
    agents:
      - { id: a, prompt: Write queued note A }
      - { id: b, prompt: Write queued note B }
`,
    );
    // One slot on the worker; the orchestrator's own parallel_limit (5) sends both agents to the queue.
    const worker = startCli(['worker', '--concurrency', '1'], { env });
    const detachedRun = async (args: string[]) => {
      const result = await runCli(['run', ...args, '--detach-on-wait', '--json'], { env });
      expect(result.stderr).not.toMatch(/\n\s+at /);
      return { code: result.code, summary: JSON.parse(result.stdout) as RunSummary };
    };
    const approveAll = async (runId: string) => {
      const pending = await redis.store.listApprovals({ runId, status: 'pending' });
      expect(pending).toHaveLength(1);
      expect((await runCli(['approve', pending[0]!.id], { env })).code).toBe(0);
      return pending[0]!.agentId;
    };
    try {
      await waitFor(() => worker.stderrSoFar().includes('ready') || undefined, 30_000, 'the worker to be ready');
      const first = await detachedRun([workflow]);
      expect(first.code).toBe(EXIT_WAITING_FOR_APPROVAL);
      const firstAsker = await approveAll(first.summary.runId);
      // Resumed: the approved agent writes its note, the other takes the slot and asks in turn.
      const second = await detachedRun(['--resume', first.summary.runId]);
      expect(second.code).toBe(EXIT_WAITING_FOR_APPROVAL);
      const secondAsker = await approveAll(first.summary.runId);
      expect([firstAsker, secondAsker].sort()).toEqual(['a', 'b']);
      const last = await detachedRun(['--resume', first.summary.runId]);
      expect(last.code).toBe(0);
      expect(last.summary.phases[0]!.agents.map((agent) => `${agent.id}:${agent.status}`)).toEqual([
        'a:succeeded',
        'b:succeeded',
      ]);
      expect([readFileSync(join(dir, 'A.md'), 'utf8'), readFileSync(join(dir, 'B.md'), 'utf8')]).toEqual([
        'note A\n',
        'note B\n',
      ]);
    } finally {
      worker.kill('SIGTERM');
      await worker.output;
    }
  }, 180_000);
});
