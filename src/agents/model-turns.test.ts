import { describe, expect, it } from 'vitest';
import type { ModelTurn, ToolCall } from '../core/index.js';
import { ModelTurnTracker, TurnNumbers } from './model-turns.js';
import { ToolCallTracker } from './tool-calls.js';

type Message = { type: string } & Record<string, unknown>;

/** Stream events as the Agent SDK forwards them (shapes taken from a real claude against the scripted model). */
const event = (e: Record<string, unknown>, parent: string | null = null): Message => ({
  type: 'stream_event',
  parent_tool_use_id: parent,
  event: e,
});
const usage = (input: number, output: number) => ({
  input_tokens: input,
  output_tokens: output,
  cache_read_input_tokens: 0,
  cache_creation_input_tokens: 0,
});
const messageStart = (id: string, input: number, parent: string | null = null): Message =>
  event({ type: 'message_start', message: { id, model: 'claude-sonnet-4-5', usage: usage(input, 1) } }, parent);
const messageDelta = (stop: string, output: number, parent: string | null = null): Message =>
  event(
    { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: output } },
    parent,
  );
const messageStop = (parent: string | null = null): Message => event({ type: 'message_stop' }, parent);
const assistant = (id: string, content: unknown[]): Message => ({
  type: 'assistant',
  parent_tool_use_id: null,
  // The snapshot at the content block's end: stop reason and output tokens are not final yet.
  message: { id, model: 'claude-sonnet-4-5', stop_reason: null, usage: usage(0, 1), content },
});
const toolResult = (id: string): Message => ({
  type: 'user',
  parent_tool_use_id: null,
  message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: 'hi', is_error: false }] },
});

function trackers(requestModel?: string) {
  let now = 1000;
  const clock = { now: () => now };
  const turns: ModelTurn[] = [];
  const calls: ToolCall[] = [];
  const numbers = new TurnNumbers();
  const turnTracker = new ModelTurnTracker((t) => turns.push(t), {
    clock,
    numbers,
    ...(requestModel ? { requestModel } : {}),
  });
  const toolTracker = new ToolCallTracker((c) => calls.push(c), clock, numbers);
  const feed = (message: Message, ms = 0): void => {
    now += ms;
    turnTracker.observe(message);
    toolTracker.observe(message);
  };
  return { turns, calls, feed, turnTracker, toolTracker };
}

describe('ModelTurnTracker', () => {
  it('reports each model response from its request to message_stop, with its final usage and stop reason; tool calls name their turn', () => {
    const { turns, calls, feed, toolTracker } = trackers('sonnet');
    feed({ type: 'system', subtype: 'init' }, 400);
    feed(messageStart('msg_1', 111), 60);
    feed(event({ type: 'content_block_start', index: 0 }));
    feed(assistant('msg_1', [{ type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'echo hi' } }]), 5);
    feed(event({ type: 'content_block_stop', index: 0 }), 10);
    feed(messageDelta('tool_use', 22), 5);
    feed(messageStop(), 5);
    feed(toolResult('toolu_1'), 35);
    feed({ type: 'system', subtype: 'status' }, 5);
    feed(messageStart('msg_2', 333), 15);
    feed(assistant('msg_2', [{ type: 'text', text: 'done' }]), 2);
    feed(messageDelta('end_turn', 44), 2);
    feed(messageStop());
    feed({ type: 'result', subtype: 'success' }, 10);

    const finished = turns.filter((t) => t.status !== 'running');
    expect(finished).toEqual([
      {
        index: 1,
        messageId: 'msg_1',
        requestModel: 'sonnet',
        responseModel: 'claude-sonnet-4-5',
        startedAt: 1400, // init: the first request goes out
        finishedAt: 1485,
        status: 'done',
        usage: { inputTokens: 111, outputTokens: 22, cacheReadTokens: 0, cacheCreationTokens: 0 },
        stopReason: 'tool_use',
      },
      {
        index: 2,
        messageId: 'msg_2',
        requestModel: 'sonnet',
        responseModel: 'claude-sonnet-4-5',
        startedAt: 1520, // the tool result: the next request goes out
        finishedAt: 1544,
        status: 'done',
        usage: { inputTokens: 333, outputTokens: 44, cacheReadTokens: 0, cacheCreationTokens: 0 },
        stopReason: 'end_turn',
      },
    ]);
    expect(turns.map((t) => `${t.index}:${t.status}`)).toEqual(['1:running', '1:done', '2:running', '2:done']);
    expect(calls.map((c) => [c.name, c.turn, c.status])).toEqual([
      ['Bash', 1, 'running'],
      ['Bash', 1, 'ok'],
    ]);
    expect(toolTracker.turns).toBe(2);
  });

  it("leaves a response cut off by the attempt's end incomplete, and keeps a subagent's turns apart from its parent's", () => {
    const { turns, feed, turnTracker } = trackers();
    feed(messageStart('msg_1', 10), 20);
    feed(assistant('msg_1', [{ type: 'tool_use', id: 'toolu_task', name: 'Task', input: {} }]));
    feed(messageDelta('tool_use', 5));
    feed(messageStop());
    // The subagent's own conversation streams while its parent waits for the Task result.
    feed({ type: 'user', parent_tool_use_id: 'toolu_task', message: { role: 'user', content: 'sub task' } }, 10);
    feed(messageStart('msg_sub', 7, 'toolu_task'), 30);
    feed(messageDelta('end_turn', 3, 'toolu_task'));
    feed(messageStop('toolu_task'), 5);
    feed(toolResult('toolu_task'), 5);
    feed(messageStart('msg_3', 50), 10);
    turnTracker.end();

    const finished = turns.filter((t) => t.status !== 'running');
    expect(finished.map((t) => [t.index, t.messageId, t.status, t.startedAt, t.finishedAt])).toEqual([
      [1, 'msg_1', 'done', 1000, 1020],
      [2, 'msg_sub', 'done', 1030, 1065],
      [3, 'msg_3', 'incomplete', 1070, 1080],
    ]);
    expect(finished[0]!.requestModel).toBeUndefined();
  });

  it("prices what the responses used at each one's own model's list price, the one cut off included", () => {
    const { feed, turnTracker } = trackers('claude-sonnet-4-5');
    feed(messageStart('msg_1', 100_000));
    feed(messageDelta('tool_use', 2_000));
    feed(messageStop());
    // A subagent on haiku, then the parent's next response, cut off after its input was counted.
    const haiku = event(
      { type: 'message_start', message: { id: 'msg_sub', model: 'claude-haiku-4-5', usage: usage(1_000_000, 1) } },
      'toolu_task',
    );
    feed(haiku);
    feed(messageStop('toolu_task'));
    feed(messageStart('msg_3', 200_000));
    turnTracker.end();

    // Sonnet: $3 in, $15 out per million; haiku: $1 in, $5 out (one output token each so far).
    const sonnet = (100_000 * 3 + 2_000 * 15) / 1e6 + (200_000 * 3 + 15) / 1e6;
    expect(turnTracker.listPriceUsd).toBeCloseTo(sonnet + (1_000_000 * 1 + 5) / 1e6, 9);
    expect(turnTracker.usage.inputTokens).toBe(1_300_000);
  });
});
