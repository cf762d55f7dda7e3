import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TOOL_PREVIEW_CHARS, unknownToolCall } from '../src/agents/index.js';
import type { AgentTimeline } from '../src/observability/index.js';
import type { RunSummary } from '../src/orchestrator/index.js';
import { runCli, runIdOnceListed, startCli, waitFor } from './support/cli.js';
import { spanAttribute, startOtlpReceiver } from './support/otlp-receiver.js';
import { useScriptedModel } from './support/scripted-model.js';

const modules = fileURLToPath(new URL('../node_modules/', import.meta.url));
const memoryServer = join(modules, '@modelcontextprotocol/server-memory/dist/index.js');
/** A value only the MCP server's env holds: it must be redacted wherever the agent's calls are recorded. */
const serverSecret = 'memtok-5d1c9e0a77f3b2';
/** Secret by its shape alone (an Anthropic key), known to no configuration. */
const shapedSecret = 'sk-ant-api03-Zq8Xw2Lm5Np7Rt9Vb1';

const model = useScriptedModel(
  {
    rules: [
      // A real agent writes to the real memory server (with the secret in its input), calls a tool that
      // does not exist (an error result), reads the graph back (the secret in the output), then answers.
      {
        match: { prompt: 'Remember the launch', turn: 1 },
        reply: {
          toolUse: {
            name: 'mcp__memory__create_entities',
            input: { entities: [{ name: 'Launch', entityType: 'event', observations: [`key ${serverSecret}`] }] },
          },
        },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Remember the launch', turn: 2 },
        reply: { toolUse: { name: 'mcp__memory__no_such_tool', input: {} } },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Remember the launch', turn: 3 },
        reply: { toolUse: { name: 'mcp__memory__read_graph', input: {} } },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Remember the launch', turn: 4 },
        reply: { text: 'Launch remembered.' },
        sequencePer: 'script',
      },
      // Three calls in one response (an allowed one echoing a key-shaped secret, one a rule denies, one
      // that fails), then one whose output is far over the preview's cap.
      {
        match: { prompt: 'Probe the shell', turn: 1 },
        reply: {
          toolUse: [
            { name: 'Bash', input: { command: `echo ${shapedSecret}` } },
            { name: 'Bash', input: { command: 'rm -f nothing' } },
            { name: 'Bash', input: { command: 'exit 3' } },
          ],
        },
        sequencePer: 'script',
      },
      {
        match: { prompt: 'Probe the shell', turn: 2 },
        reply: { toolUse: { name: 'Bash', input: { command: 'seq 1 20000' } } },
        sequencePer: 'script',
      },
      { match: { prompt: 'Probe the shell', turn: 3 }, reply: { text: 'Probed.' }, sequencePer: 'script' },
      // A tool call, then an overloaded model every time: each retried attempt is recorded on its own.
      {
        match: { prompt: 'Try it again', turn: 1 },
        reply: { toolUse: { name: 'Bash', input: { command: 'echo first' } } },
        sequencePer: 'script',
      },
      { match: { prompt: 'Try it again', turn: 2 }, reply: { fault: { status: 529 } }, sequencePer: 'script' },
      // A call that is still running when its orchestrator is killed.
      {
        match: { prompt: 'Wait for the clock', turn: 1 },
        reply: {
          toolUse: { name: 'Bash', input: { command: `${process.execPath} -e "setTimeout(() => {}, 60000)"` } },
        },
        sequencePer: 'script',
      },
    ],
    default: { text: 'OK' },
  },
  'baton-tools-',
);

// MCP tools are listed up front (not behind tool search) so the scripted model can call them by name.
const env = (extra: Record<string, string> = {}) =>
  model.home.cliEnv(model.url, {
    BATON_DATA_DIR: join(model.home.dir, 'data'),
    ENABLE_TOOL_SEARCH: 'false',
    MEMORY_TOKEN: serverSecret,
    ...extra,
  });

describe('tool-call records of a real agent', () => {
  it('records every tool call in order, with server, durations, errors and redacted previews; status --agent shows them; spans follow them', async () => {
    const workflow = join(model.home.dir, 'tools.yaml');
    writeFileSync(
      workflow,
      [
        'version: 1',
        'name: tools',
        'mcpServers:',
        `  memory: { command: ${process.execPath}, args: [${memoryServer}], env: { MEMORY_FILE_PATH: ${join(model.home.dir, 'memory.json')}, MEMORY_API_TOKEN: "\${MEMORY_TOKEN}" } }`,
        'phases:',
        '  - id: only',
        '    agents: [{ id: recorder, prompt: "Remember the launch date", mcpServers: [memory] }]',
        '',
      ].join('\n'),
    );
    // Traced too, through the standard OTLP variable, to a receiver in this test.
    const otlp = await startOtlpReceiver();
    const run = await runCli(['run', workflow, '--json'], {
      env: env({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint }),
    }).finally(() => otlp.close());
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as RunSummary;
    const spans = otlp.spans;
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const toolSpans = spans.filter((s) => s.name.startsWith('execute_tool'));
    expect(toolSpans.map((s) => [spanAttribute(s, 'gen_ai.tool.name'), s.status?.code ?? 0])).toEqual([
      ['mcp__memory__create_entities', 0],
      ['mcp__memory__no_such_tool', 2],
      ['mcp__memory__read_graph', 0],
    ]);
    const agentSpan = spans.find((s) => s.name === 'invoke_agent recorder')!;
    // Each call is a child of the model turn that asked for it (turn n asks for call n), under the attempt.
    const attemptSpan = spans.find((s) => s.name === 'baton.attempt 1')!;
    expect(attemptSpan.parentSpanId).toBe(agentSpan.spanId);
    const turnSpans = spans.filter((s) => spanAttribute(s, 'gen_ai.operation.name') === 'chat');
    expect(turnSpans.map((s) => [spanAttribute(s, 'baton.turn'), s.parentSpanId === attemptSpan.spanId])).toEqual(
      [1, 2, 3, 4].map((turn) => [turn, true]),
    );
    expect(toolSpans.map((s) => spanAttribute(byId.get(s.parentSpanId!)!, 'baton.turn'))).toEqual([1, 2, 3]);
    expect(spanAttribute(agentSpan, 'gen_ai.usage.output_tokens')).toBeGreaterThan(0);
    expect(
      spanAttribute(
        spans.find((s) => s.name === 'baton.run')!,
        'baton.run.id',
      ),
    ).toBe(summary.runId);
    expect(JSON.stringify(spans)).not.toContain(serverSecret);

    const status = await runCli(['status', summary.runId, '--agent', 'recorder', '--json'], { env: env() });
    expect(status.code).toBe(0);
    const timeline = JSON.parse(status.stdout) as AgentTimeline;
    expect(timeline).toMatchObject({ agentId: 'recorder', status: 'succeeded', turns: 4 });
    expect(timeline.attempts).toHaveLength(1);
    const calls = timeline.attempts[0]!.toolCalls;
    expect(calls.map((c) => [c.seq, c.name, c.server, c.turn, c.status])).toEqual([
      [1, 'mcp__memory__create_entities', 'memory', 1, 'ok'],
      [2, 'mcp__memory__no_such_tool', 'memory', 2, 'error'],
      [3, 'mcp__memory__read_graph', 'memory', 3, 'ok'],
    ]);
    for (const [i, call] of calls.entries()) {
      expect(call.finishedAt! - call.startedAt).toBe(call.durationMs);
      expect(call.durationMs).toBeGreaterThanOrEqual(0);
      if (i > 0) expect(call.startedAt).toBeGreaterThanOrEqual(calls[i - 1]!.finishedAt!);
    }
    expect(calls[1]!.outputPreview).toMatch(/no_such_tool/);
    // Claude Code's answer to a made-up name, which metrics count as tool="unknown".
    expect(calls.map(unknownToolCall)).toEqual([false, true, false]);
    // The secret reached the server and came back in the graph; the records hold neither.
    const graph = readFileSync(join(model.home.dir, 'memory.json'), 'utf8');
    expect(graph).toContain(serverSecret);
    expect(calls[0]!.inputPreview).toContain('[REDACTED]');
    expect(calls[2]!.outputPreview).toContain('[REDACTED]');
    expect(JSON.stringify(timeline)).not.toContain(serverSecret);

    const text = await runCli(['status', summary.runId, '--agent', 'recorder'], { env: env() });
    expect(text.stdout).toContain('mcp__memory__no_such_tool  error');
    expect(text.stdout).toContain('1 attempts');
    expect(text.stdout).not.toContain(serverSecret);

    const missing = await runCli(['status', summary.runId, '--agent', 'nobody'], { env: env() });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('BATON_AGENT_NOT_FOUND');
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const noRun = await runCli(['status', '00000000-0000-4000-8000-000000000000', '--agent', 'recorder'], {
      env: env(),
    });
    expect(noRun.code).toBe(2);
    expect(noRun.stderr).toContain('BATON_RUN_NOT_FOUND');
  }, 180_000);

  it('records parallel calls of one turn, rule decisions, failures and huge outputs, redacted and capped', async () => {
    const workflow = join(model.home.dir, 'shell.yaml');
    writeFileSync(
      workflow,
      'version: 1\nname: shell\nphases:\n  - id: only\n    agents: [{ id: prober, prompt: "Probe the shell", permissions: { allow: [Bash], deny: ["Bash(rm:*)"] } }]\n',
    );
    const run = await runCli(['run', workflow, '--json'], { env: env() });
    expect(run.code).toBe(0);
    const { runId } = JSON.parse(run.stdout) as RunSummary;
    const status = await runCli(['status', runId, '--agent', 'prober', '--json'], { env: env() });
    const timeline = JSON.parse(status.stdout) as AgentTimeline;
    // Three model responses, the first with three tool calls.
    expect(timeline.turns).toBe(3);
    const calls = timeline.attempts[0]!.toolCalls;
    expect(calls.map((c) => [c.seq, c.turn, c.status, c.permission])).toEqual([
      [1, 1, 'ok', { decision: 'allow', by: 'rule' }],
      [2, 1, 'error', { decision: 'deny', by: 'rule' }],
      [3, 1, 'error', { decision: 'allow', by: 'rule' }],
      [4, 2, 'ok', { decision: 'allow', by: 'rule' }],
    ]);
    expect(calls[0]!.inputPreview).toContain('[REDACTED]');
    expect(calls[0]!.outputPreview).toContain('[REDACTED]');
    expect(calls[2]!.outputPreview).toContain('Exit code 3');
    expect(calls[3]!.outputPreview!.length).toBeLessThanOrEqual(TOOL_PREVIEW_CHARS + 1);
    expect(status.stdout).not.toContain(shapedSecret);
    const text = await runCli(['status', runId, '--agent', 'prober'], { env: env() });
    expect(text.stdout).toContain('(permission denied)');
    expect(text.stdout).not.toContain(shapedSecret);
  }, 180_000);

  it('records each retried attempt apart, and counts only model responses as turns', async () => {
    const workflow = join(model.home.dir, 'retry.yaml');
    writeFileSync(
      workflow,
      'version: 1\nname: retry\nphases:\n  - id: only\n    agents: [{ id: retrier, prompt: "Try it again", allowedTools: [Bash] }]\n',
    );
    const run = await runCli(['run', workflow, '--json'], { env: env() });
    expect(run.code).toBe(1);
    const { runId } = JSON.parse(run.stdout) as RunSummary;
    const status = await runCli(['status', runId, '--agent', 'retrier', '--json'], { env: env() });
    const timeline = JSON.parse(status.stdout) as AgentTimeline;
    expect(
      timeline.attempts.map((a) => [a.attempt, a.status, a.error?.code, a.toolCalls.map((c) => c.inputPreview)]),
    ).toEqual([
      [1, 'failed', 'BATON_MODEL_OVERLOADED', ['{"command":"echo first"}']],
      [2, 'failed', 'BATON_MODEL_OVERLOADED', []],
      [3, 'failed', 'BATON_MODEL_OVERLOADED', []],
    ]);
    // One model response; the failed requests are no turns.
    expect(timeline.turns).toBe(1);
  }, 180_000);

  it('closes the call a killed orchestrator left running when --resume runs the agent again', async () => {
    const workflow = join(model.home.dir, 'wait.yaml');
    writeFileSync(
      workflow,
      'version: 1\nname: wait\nphases:\n  - id: only\n    agents: [{ id: waiter, prompt: "Wait for the clock", allowedTools: [Bash] }]\n',
    );
    const timelineOf = async (runId: string) =>
      JSON.parse(
        (await runCli(['status', runId, '--agent', 'waiter', '--json'], { env: env() })).stdout,
      ) as AgentTimeline;
    const child = startCli(['run', workflow], { env: env() });
    const runId = await runIdOnceListed('wait', env());
    await waitFor(
      async () => {
        const calls = (await timelineOf(runId).catch(() => undefined))?.attempts[0]?.toolCalls ?? [];
        return calls[0]?.status === 'running' ? true : undefined;
      },
      60_000,
      'the running tool call',
    );
    child.kill('SIGKILL');
    await child.output;
    const resumed = await runCli(['run', '--resume', runId], { env: env() });
    expect(resumed.code).toBe(0);
    const timeline = await timelineOf(runId);
    expect(timeline.attempts.map((a) => [a.attempt, a.status, a.toolCalls.map((c) => [c.name, c.status])])).toEqual([
      [1, 'failed', [['Bash', 'error']]],
      [2, 'succeeded', []],
    ]);
    const lost = timeline.attempts[0]!.toolCalls[0]!;
    expect(lost.finishedAt! - lost.startedAt).toBe(lost.durationMs);
    // The lost attempt lasted at least as long as its call.
    expect(timeline.attempts[0]!.durationMs).toBeGreaterThanOrEqual(lost.durationMs!);
  }, 180_000);
});
