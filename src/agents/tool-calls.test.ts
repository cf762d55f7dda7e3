import { describe, expect, it } from 'vitest';
import type { ToolCall } from '../core/index.js';
import { capPreview, mcpServerOf, streamPreview, TOOL_PREVIEW_CHARS, ToolCallTracker } from './tool-calls.js';

const assistant = (id: string, content: unknown[]) => ({ type: 'assistant', message: { id, content } });
const user = (content: unknown[]) => ({ type: 'user', message: { role: 'user', content } });
const use = (id: string, name: string, input: unknown = {}) => ({ type: 'tool_use', id, name, input });

function tracker() {
  let now = 1000;
  const reported: ToolCall[] = [];
  const tools = new ToolCallTracker((call) => reported.push(call), { now: () => now });
  return { tools, reported, advance: (ms: number) => (now += ms) };
}

describe('ToolCallTracker', () => {
  it('pairs tool_use with tool_result, numbering calls and turns, and reports each start and end', () => {
    const { tools, reported, advance } = tracker();
    tools.observe(assistant('msg_1', [{ type: 'text', text: 'Let me look.' }]));
    tools.observe(assistant('msg_1', [use('t1', 'Read', { file_path: '/a' })]));
    tools.observe(assistant('msg_1', [use('t2', 'mcp__memory__read_graph')]));
    advance(30);
    tools.observe(user([{ type: 'tool_result', tool_use_id: 't2', content: [{ type: 'text', text: '{}' }] }]));
    advance(20);
    tools.observe(user([{ type: 'tool_result', tool_use_id: 't1', content: 'no such file', is_error: true }]));
    tools.observe(assistant('msg_2', [use('t3', 'Bash', { command: 'ls' })]));
    tools.end();
    expect(tools.turns).toBe(2);
    expect(tools.calls.map((c) => [c.seq, c.name, c.server, c.turn, c.status, c.durationMs, c.outputPreview])).toEqual([
      [1, 'Read', undefined, 1, 'error', 50, 'no such file'],
      [2, 'mcp__memory__read_graph', 'memory', 1, 'ok', 30, '{}'],
      [3, 'Bash', undefined, 2, 'error', 0, 'the attempt ended before the tool returned'],
    ]);
    expect(reported.map((c) => `${c.seq}:${c.status}`)).toEqual([
      '1:running',
      '2:running',
      '2:ok',
      '1:error',
      '3:running',
      '3:error',
    ]);
  });

  it('counts no turn for the message Claude Code makes of a failed model request', () => {
    const { tools } = tracker();
    tools.observe(assistant('msg_1', [use('t1', 'Bash')]));
    tools.observe({
      ...assistant('a1b2c3', [{ type: 'text', text: 'API Error: 529 overloaded' }]),
      error: 'server_error',
    });
    expect(tools.turns).toBe(1);
  });

  it('keeps a permission denial on its call', () => {
    const { tools } = tracker();
    tools.observe(assistant('msg_1', [use('t1', 'Bash', { command: 'rm -rf /' })]));
    tools.observe({
      type: 'system',
      subtype: 'permission_denied',
      tool_use_id: 't1',
      tool_name: 'Bash',
      decision_reason_type: 'rule',
    });
    tools.observe(user([{ type: 'tool_result', tool_use_id: 't1', content: 'denied', is_error: true }]));
    expect(tools.calls[0]).toMatchObject({ status: 'error', permission: { decision: 'deny', by: 'rule' } });
  });

  it("keeps Baton's gate decision on its call, whether the gate answers before or after the stream shows it", () => {
    const { tools } = tracker();
    tools.decided('t1', { decision: 'deny', by: 'rule' });
    tools.observe(assistant('msg_1', [use('t1', 'Bash', { command: 'rm x' }), use('t2', 'Bash', { command: 'ls' })]));
    tools.decided('t2', { decision: 'allow', by: 'person' });
    tools.observe(user([{ type: 'tool_result', tool_use_id: 't1', content: 'Baton denied', is_error: true }]));
    tools.observe(user([{ type: 'tool_result', tool_use_id: 't2', content: 'a' }]));
    expect(tools.calls.map((c) => [c.status, c.permission])).toEqual([
      ['error', { decision: 'deny', by: 'rule' }],
      ['ok', { decision: 'allow', by: 'person' }],
    ]);
  });
});

describe('tool call previews', () => {
  it('hide input fields named like a secret whole, as the store hides them', () => {
    const { tools } = tracker();
    const input = { user: 'bob', password: 'Tr0ub4dor&3', nested: { apiKey: 'k-123' }, author: 'Ann' };
    tools.observe(assistant('msg_1', [use('t1', 'mcp__auth__login', input)]));
    expect(JSON.parse(tools.calls[0]!.inputPreview)).toEqual({
      user: 'bob',
      password: '[REDACTED]',
      nested: { apiKey: '[REDACTED]' },
      author: 'Ann',
    });
  });
});

describe('tool call helpers', () => {
  it('names the MCP server of mcp__server__tool names only', () => {
    expect(mcpServerOf('mcp__my_server__do__thing')).toBe('my_server');
    expect(mcpServerOf('Bash')).toBeUndefined();
  });

  it('caps previews', () => {
    expect(streamPreview({ a: 1 })).toBe('{"a":1}');
    expect(capPreview(streamPreview('x'.repeat(TOOL_PREVIEW_CHARS + 10)))).toHaveLength(TOOL_PREVIEW_CHARS + 1);
  });
});
