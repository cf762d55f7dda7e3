import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isolatedHome, TEST_API_KEY } from '../../test/support/agent-env.js';
import { processesWithEnv } from '../../test/support/processes.js';
import { useScriptedModel } from '../../test/support/scripted-model.js';
import { startModelServer, type Script } from '../model-server/index.js';
import { ClaudeRuntime } from './claude-runtime.js';
import { runWithRetries } from './runner.js';
import { describeRuntimeContract, type ContractScenario } from './runtime.contract.js';
import type { AgentSpec } from './runtime.js';

const contractScript: Script = {
  rules: [
    { match: { prompt: 'scenario:text' }, reply: { text: 'contract-ok' }, sequencePer: 'script' },
    { match: { prompt: 'scenario:structured' }, reply: { structured: { answer: 'forty-two' } }, sequencePer: 'script' },
    {
      match: { prompt: 'scenario:rate-limited' },
      reply: { fault: { status: 429, retryAfter: 0 } },
      sequencePer: 'script',
    },
    {
      match: { prompt: 'scenario:invalid-request' },
      reply: { fault: { status: 400, message: 'bad request' } },
      sequencePer: 'script',
    },
    { match: { prompt: 'scenario:slow' }, reply: { hang: true }, sequencePer: 'script' },
  ],
  default: { text: 'OK' },
};

describeRuntimeContract('claude (real binary, scripted model)', async () => {
  const { server, url } = await startModelServer({ script: contractScript, apiKey: TEST_API_KEY });
  const home = isolatedHome();
  return {
    runtime: new ClaudeRuntime(),
    spec: (scenario: ContractScenario): AgentSpec => ({
      agentId: scenario,
      sessionId: randomUUID(),
      prompt: `scenario:${scenario}`,
      cwd: home.dir,
      env: home.agentEnv(url),
    }),
    cleanup: async () => {
      await server.close();
      home.remove();
    },
  };
});

describe('claude runtime (real binary)', () => {
  const model = useScriptedModel({
    rules: [
      {
        match: { prompt: 'flaky' },
        replies: [{ fault: { status: 429, retryAfter: 0 } }, { text: 'recovered' }],
        sequencePer: 'session',
      },
      {
        match: { prompt: 'stalling' },
        replies: [{ text: 'never finished', stall: true }, { text: 'recovered after the stall' }],
        sequencePer: 'session',
      },
      {
        match: { prompt: 'spends then stalls' },
        replies: [
          { toolUse: { name: 'Glob', input: { pattern: '*.none' } }, usage: { input_tokens: 1000, output_tokens: 10 } },
          { text: 'never finished', stall: true },
          { text: 'done after the stall', usage: { input_tokens: 50, output_tokens: 5 } },
        ],
        sequencePer: 'session',
      },
      {
        match: { prompt: 'unanswered' },
        replies: [{ hang: true }, { text: 'recovered after the silence' }],
        sequencePer: 'session',
      },
      {
        match: { prompt: 'patient' },
        replies: [{ fault: { status: 429, retryAfter: 3 } }, { text: 'after waiting' }],
        sequencePer: 'session',
      },
      {
        match: { prompt: 'unauthorized' },
        reply: { fault: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' } },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'broken' },
        reply: { fault: { status: 400, message: 'prompt is malformed' } },
        sequencePer: 'script',
      },
      {
        match: { system: 'ROLE: reviewer' },
        reply: { text: 'reviewed', usage: { input_tokens: 120, output_tokens: 30 } },
        sequencePer: 'script',
      },
      // Each turn calls a tool, so the agent never finishes by itself.
      {
        match: { prompt: 'expensive' },
        reply: {
          toolUse: { name: 'Glob', input: { pattern: '*.none' } },
          usage: { input_tokens: 2_000_000, output_tokens: 10 },
        },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'endless' },
        reply: { toolUse: { name: 'Glob', input: { pattern: '*.none' } } },
        sequencePer: 'script',
      },
    ],
    default: { text: 'OK' },
  });

  const spec = (prompt: string, extra: Partial<AgentSpec> = {}): AgentSpec => ({
    agentId: 'a1',
    sessionId: randomUUID(),
    prompt,
    cwd: model.home.dir,
    env: model.home.agentEnv(model.url),
    ...extra,
  });
  const fastRetry = { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 50 };
  const waitForRequests = async (sessionId: string, n: number) => {
    for (;;) {
      const requests = model.server.messageRequests(sessionId);
      if (requests.length >= n) return requests;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('session creation: the agent runs under the session UUID Baton chose, and the session is persisted', async () => {
    const agent = spec('hello');
    const outcome = await new ClaudeRuntime().execute(agent, new AbortController().signal);
    expect(outcome.status).toBe('succeeded');
    const requests = model.server.messageRequests(agent.sessionId);
    expect(requests.length).toBeGreaterThan(0);
    const transcripts = readdirSync(join(model.home.dir, '.claude', 'projects'), { recursive: true }).map(String);
    expect(transcripts.some((file) => file.endsWith(`${agent.sessionId}.jsonl`))).toBe(true);
  });

  it('a finished session can be resumed: the model sees the earlier conversation', async () => {
    const first = spec('remember the word zebra');
    const runtime = new ClaudeRuntime();
    expect((await runtime.execute(first, new AbortController().signal)).status).toBe('succeeded');
    await runtime.close();
    const resumed = await runtime.execute(
      { ...first, resume: true, prompt: 'which word?' },
      new AbortController().signal,
    );
    expect(resumed.status).toBe('succeeded');
    const [request] = model.server.messageRequests(first.sessionId).slice(-1);
    const messages = (request!.body as { messages: Array<{ role: string }> }).messages;
    expect(request!.view!.prompt).toContain('remember the word zebra');
    expect(request!.view!.last).toContain('which word?');
    expect(messages.filter((m) => m.role === 'assistant').length).toBeGreaterThanOrEqual(1);
  });

  it('close() waits until every agent process has exited', async () => {
    const runtime = new ClaudeRuntime();
    const outcomes = await Promise.all(
      [1, 2].map(() => runtime.execute(spec('hello again'), new AbortController().signal)),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['succeeded', 'succeeded']);
    await runtime.close();
    expect(processesWithEnv(model.home.dir)).toEqual([]);
  });

  it('session pool: a prewarmed agent is started and initialized before its prompt, and runs it in its own session', async () => {
    const runtime = new ClaudeRuntime({ poolSize: 1 });
    const agent = spec('warm task', { appendSystemPrompt: 'ROLE: warm' });
    expect(runtime.prewarm(agent)).toBe(true);
    expect(runtime.prewarm(spec('no room'))).toBe(false); // the pool holds one
    expect(await runtime.warmed(agent.sessionId)).toBe(true);
    const pids: number[] = [];
    const warmPids = processesWithEnv(model.home.dir);
    expect(warmPids.length).toBeGreaterThan(0); // the process is up before the task is given
    expect(model.server.messageRequests(agent.sessionId)).toEqual([]); // and has not asked the model anything
    const outcome = await runtime.execute(agent, new AbortController().signal, { spawned: (pid) => pids.push(pid) });
    expect(outcome.status).toBe('succeeded');
    expect(warmPids).toContain(pids[0]);
    const [first] = model.server.messageRequests(agent.sessionId);
    expect(first!.view!.prompt).toBe('warm task');
    expect(first!.view!.system).toContain('ROLE: warm');
    // A spec that differs from the prewarmed one (other tools) starts cold instead of using the wrong process.
    const other = spec('cold task');
    runtime.prewarm(other);
    expect((await runtime.execute({ ...other, allowedTools: ['Read'] }, new AbortController().signal)).status).toBe(
      'succeeded',
    );
    await runtime.close();
    expect(processesWithEnv(model.home.dir)).toEqual([]);
  });

  it('an agent given a proxy for its base URL reaches the model through that proxy, not around it through the relay', async () => {
    // A forward proxy: Claude Code sends it absolute URLs; it notes each and passes it on.
    const proxied: string[] = [];
    const proxy = createServer((req, res) => {
      proxied.push(req.url ?? '');
      const target = new URL(req.url ?? '');
      const onward = httpRequest(target, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      onward.on('error', () => res.destroy());
      req.pipe(onward);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const agent = spec('hello', { env: { ...model.home.agentEnv(model.url), HTTP_PROXY: proxyUrl } });
      const runtime = new ClaudeRuntime();
      expect((await runtime.execute(agent, new AbortController().signal)).status).toBe('succeeded');
      await runtime.close();
      // Every model request went to the model's own URL through the proxy: none to a relay.
      const messages = proxied.filter((url) => url.includes('/v1/messages'));
      expect(messages.length).toBeGreaterThan(0);
      for (const url of messages) expect(url.startsWith(`${model.url}/v1/messages`)).toBe(true);
      expect(model.server.messageRequests(agent.sessionId).length).toBeGreaterThan(0);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it("system prompt generation: the appended text reaches the model after Claude Code's own prompt", async () => {
    const agent = spec('please review', { appendSystemPrompt: 'ROLE: reviewer\nRun: r-123' });
    const outcome = await new ClaudeRuntime().execute(agent, new AbortController().signal);
    expect(outcome.output?.text).toBe('reviewed');
    const [request] = model.server.messageRequests(agent.sessionId);
    const system = request!.view!.system;
    expect(system).toContain('ROLE: reviewer\nRun: r-123');
    expect(system.indexOf('Claude Code')).toBeLessThan(system.indexOf('ROLE: reviewer'));
  });

  it('agent spawning and result collection: model, usage and cost come back as reported', async () => {
    const agent = spec('review this', { appendSystemPrompt: 'ROLE: reviewer', model: 'claude-sonnet-4-5' });
    const result = await runWithRetries(agent, { runtime: new ClaudeRuntime(), retry: fastRetry });
    expect(result).toMatchObject({ status: 'succeeded', attempts: 1, output: { text: 'reviewed' } });
    const [request] = model.server.messageRequests(agent.sessionId);
    expect(request!.view!.model).toBe('claude-sonnet-4-5');
    expect(result.usage).toMatchObject({ inputTokens: 120, outputTokens: 30 });
    expect(result.costUsd).toBeGreaterThan(0);
  });

  it('error handling: a 429 then success takes 2 attempts, the second resuming the session', async () => {
    const agent = spec('flaky job');
    const result = await runWithRetries(agent, { runtime: new ClaudeRuntime(), retry: fastRetry });
    expect(result).toMatchObject({ status: 'succeeded', attempts: 2, output: { text: 'recovered' } });
    const requests = model.server.messageRequests(agent.sessionId);
    expect(requests.map((r) => r.outcome)).toEqual(['fault', 'message']);
    // The resumed conversation still carries the original task.
    expect(requests[1]!.view!.prompt).toContain('flaky job');
    expect(requests[1]!.view!.last).toContain('previous attempt at this task was interrupted');
  });

  it('a stream that stalls mid-response is retried after stream_idle_timeout_ms, resuming the session', async () => {
    const agent = spec('stalling job');
    const result = await runWithRetries(agent, {
      runtime: new ClaudeRuntime({ streamIdleTimeoutMs: 1500 }),
      retry: fastRetry,
    });
    expect(result).toMatchObject({ status: 'succeeded', attempts: 2, output: { text: 'recovered after the stall' } });
    const requests = model.server.messageRequests(agent.sessionId);
    expect(requests.map((r) => r.outcome)).toEqual(['stall', 'message']);
    expect(requests[1]!.view!.last).toContain('BATON_MODEL_STALLED');
  });

  it('an attempt cut off before its result still counts the tokens its finished turns used', async () => {
    const agent = spec('spends then stalls');
    const result = await runWithRetries(agent, {
      runtime: new ClaudeRuntime({ streamIdleTimeoutMs: 1500 }),
      retry: fastRetry,
    });
    expect(result).toMatchObject({ status: 'succeeded', attempts: 2, output: { text: 'done after the stall' } });
    // The first attempt's Glob turn (1000 in, 10 out) happened: the model was paid for it.
    expect(result.usage.inputTokens).toBeGreaterThanOrEqual(1050);
    expect(result.usage.outputTokens).toBeGreaterThanOrEqual(15);
  });

  it('a model request never answered (not even its headers) is a stall too: retried, the session resumed', async () => {
    const agent = spec('unanswered job');
    const result = await runWithRetries(agent, {
      runtime: new ClaudeRuntime({ streamIdleTimeoutMs: 1500 }),
      retry: fastRetry,
    });
    expect(result).toMatchObject({ status: 'succeeded', attempts: 2, output: { text: 'recovered after the silence' } });
    const requests = model.server.messageRequests(agent.sessionId);
    expect(requests.map((r) => r.outcome)).toEqual(['hang', 'message']);
    // Claude Code's request timeout, which Baton sets to stream_idle_timeout_ms.
    expect(requests[1]!.view!.last).toContain('BATON_MODEL_CONNECTION: Request timed out');
  });

  it('Retry-After of a 429 sets the retry delay, for every agent of the runtime on that model', async () => {
    const runtime = new ClaudeRuntime();
    const first = spec('patient job');
    const running = runWithRetries(first, { runtime, retry: fastRetry });
    const [fault] = await waitForRequests(first.sessionId, 1);
    // Another agent starting now waits for the same Retry-After instead of hammering the API.
    const second = spec('hello');
    const other = await runWithRetries(second, { runtime, retry: fastRetry });
    const result = await running;
    await runtime.close();
    expect(result).toMatchObject({ status: 'succeeded', attempts: 2, output: { text: 'after waiting' } });
    expect(other).toMatchObject({ status: 'succeeded', attempts: 1 });
    const [, retried] = model.server.messageRequests(first.sessionId);
    const [otherFirst] = model.server.messageRequests(second.sessionId);
    // Retry-After: 3 s, against a 10 ms backoff; generous bounds, read from the model server's log.
    expect(retried!.at - fault!.at).toBeGreaterThanOrEqual(2500);
    expect(otherFirst!.at - fault!.at).toBeGreaterThanOrEqual(2500);
    expect(retried!.at - fault!.at).toBeLessThan(60_000);
  });

  it('a missing API key is BATON_MODEL_AUTH at once, not retried, saying to set ANTHROPIC_API_KEY', async () => {
    const { ANTHROPIC_API_KEY: _key, ...env } = model.home.agentEnv(model.url);
    const result = await runWithRetries(spec('hello', { env }), { runtime: new ClaudeRuntime(), retry: fastRetry });
    expect(result).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'BATON_MODEL_AUTH' } });
    expect(result.error?.message).toMatch(/Not logged in.*set ANTHROPIC_API_KEY/);
  });

  it('a rejected API key (401) is BATON_MODEL_AUTH at once, saying to set ANTHROPIC_API_KEY', async () => {
    const result = await runWithRetries(spec('unauthorized job'), { runtime: new ClaudeRuntime(), retry: fastRetry });
    expect(result).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'BATON_MODEL_AUTH' } });
    expect(result.error?.message).toContain('set ANTHROPIC_API_KEY');
  });

  it('stops an agent at its USD budget, without retrying', async () => {
    const result = await runWithRetries(spec('expensive job', { allowedTools: ['Glob'], maxBudgetUsd: 0.05 }), {
      runtime: new ClaudeRuntime(),
      retry: fastRetry,
    });
    expect(result).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'BATON_AGENT_BUDGET_EXCEEDED' } });
    expect(result.costUsd).toBeGreaterThan(0.05);
    // Its tokens count with its cost: Claude Code's budget result reports none of the responses it paid for.
    // (Its last response's output count may stop at message_start's: Claude Code ends before the rest.)
    expect(result.turns).toBeGreaterThan(0);
    expect(result.usage.inputTokens).toBe(2_000_000 * result.turns);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
  });

  it('stops an agent at its turn limit, without retrying', async () => {
    const agent = spec('endless job', { allowedTools: ['Glob'], maxTurns: 2 });
    const result = await runWithRetries(agent, { runtime: new ClaudeRuntime(), retry: fastRetry });
    expect(result).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'BATON_AGENT_MAX_TURNS' } });
    // The Glob calls really ran: their results went back to the model.
    expect(model.server.messageRequests(agent.sessionId).length).toBeGreaterThanOrEqual(2);
  });

  it('treats a claude process that dies without a result as a transient crash', async () => {
    const result = await runWithRetries(spec('anything'), {
      runtime: new ClaudeRuntime({ claudePath: '/bin/false' }),
      retry: { ...fastRetry, maxRetries: 1 },
    });
    expect(result).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'BATON_AGENT_CRASHED' } });
    expect(result.error?.message).toMatch(/ended without a result \(exit 1\)/);
  });

  it('error handling: a permanent 400 is not retried and gives a clear error', async () => {
    const result = await runWithRetries(spec('broken job'), { runtime: new ClaudeRuntime(), retry: fastRetry });
    expect(result.status).toBe('failed');
    expect(result.attempts).toBe(1);
    expect(result.error?.code).toBe('BATON_MODEL_INVALID_REQUEST');
    expect(result.error?.message).toContain('prompt is malformed');
  });
});
