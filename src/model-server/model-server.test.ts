import Anthropic from '@anthropic-ai/sdk';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp-dir.js';
import { startModelServer, type ModelServer, type Script } from './index.js';
import { parseScript } from './script.js';

let server: ModelServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The official Anthropic client checks that we speak the protocol, independently of Claude Code. */
async function clientFor(script: Script, logFile?: string): Promise<Anthropic> {
  const started = await startModelServer({ script, logFile, apiKey: 'sk-test' });
  server = started.server;
  return new Anthropic({ baseURL: started.url, apiKey: 'sk-test', maxRetries: 0 });
}

const ask = (text: string, extra: Partial<Anthropic.MessageCreateParamsNonStreaming> = {}) => ({
  model: 'claude-test',
  max_tokens: 100,
  system: 'You are BATON-TEST.',
  messages: [{ role: 'user' as const, content: text }],
  ...extra,
});

describe('scripted model server', () => {
  it('streams a text reply the official client can assemble, with usage', async () => {
    const client = await clientFor(
      parseScript(
        'rules:\n  - match: { prompt: hello }\n    reply: { text: "Hi there", usage: { input_tokens: 7, output_tokens: 3 } }\n',
        's.yaml',
      ),
    );
    const stream = client.messages.stream(ask('hello world'));
    const message = await stream.finalMessage();
    expect(message.content).toHaveLength(1);
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'Hi there' });
    expect(message.usage.input_tokens).toBe(7);
    expect(message.usage.output_tokens).toBe(3);
    expect(message.stop_reason).toBe('end_turn');
  });

  it('refuses a script given in code that is not a script, naming the field, before it listens', async () => {
    const bad = { rules: [{ match: 5, reply: { text: 'x' } }] } as unknown as Script;
    await expect(startModelServer({ script: bad })).rejects.toMatchObject({
      code: 'BATON_SCRIPT_INVALID',
      message: expect.stringContaining('- model script: rules[0].match: expected object, received number') as unknown,
    });
  });

  it('says the bound a fault status or a delay must keep to', () => {
    let message = '';
    try {
      parseScript('rules:\n  - match: { prompt: x }\n    reply: { fault: { status: 200 }, delayMs: -5 }\n', 's.yaml');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('s.yaml:3: rules[0].reply.fault.status: must be at least 400, not 200');
    expect(message).toContain('s.yaml:3: rules[0].reply.delayMs: must be at least 0, not -5');
  });

  it('refuses a /pattern/ condition that is no regular expression when the script is loaded, naming the field', () => {
    expect(() =>
      parseScript('rules:\n  - { match: { prompt: "/[unclosed/" }, reply: { text: hi } }\n', 's.yaml'),
    ).toThrow(
      /s\.yaml:2: rules\[0\]\.match\.prompt: Invalid regular expression: \/\[unclosed\/: Unterminated character class; fix the pattern/,
    );
    // A good pattern and a plain substring (slashes inside it) still load.
    expect(
      parseScript('rules:\n  - { match: { prompt: "/^fix (a|b)$/i", last: "a/b" }, reply: { text: hi } }\n', 's.yaml')
        .rules,
    ).toHaveLength(1);
  });

  it('answers non-streaming requests too', async () => {
    const client = await clientFor(parseScript('default: { text: fallback }\n', 's.yaml'));
    const message = await client.messages.create(ask('anything'));
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'fallback' });
  });

  it('streams tool_use blocks with their input', async () => {
    const client = await clientFor({
      rules: [
        {
          match: { prompt: 'read' },
          reply: { toolUse: { name: 'Read', input: { file_path: '/x' } } },
          sequencePer: 'script',
        },
      ],
      default: { text: 'OK' },
    });
    const message = await client.messages.stream(ask('please read')).finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content[0]).toMatchObject({ type: 'tool_use', name: 'Read', input: { file_path: '/x' } });
  });

  it('turns `structured` into a StructuredOutput tool call', async () => {
    const client = await clientFor(parseScript('default: { structured: { answer: 42 } }\n', 's.yaml'));
    const message = await client.messages.create(ask('q'));
    expect(message.content[0]).toMatchObject({ type: 'tool_use', name: 'StructuredOutput', input: { answer: 42 } });
  });

  it('injects faults: 429 with retry-after, 529, 500, 400', async () => {
    const client = await clientFor(
      parseScript(
        [
          'rules:',
          '  - { match: { prompt: r429 }, reply: { fault: { status: 429, retryAfter: 3 } } }',
          '  - { match: { prompt: r529 }, reply: { fault: { status: 529 } } }',
          '  - { match: { prompt: r500 }, reply: { fault: { status: 500 } } }',
          '  - { match: { prompt: r400 }, reply: { fault: { status: 400, message: broken } } }',
        ].join('\n'),
        's.yaml',
      ),
    );
    const statusOf = async (prompt: string) => {
      try {
        await client.messages.create(ask(prompt));
        return undefined;
      } catch (error) {
        const e = error as InstanceType<typeof Anthropic.APIError>;
        return {
          status: e.status,
          retryAfter: e.headers?.get('retry-after'),
          type: (e.error as { error?: { type?: string } })?.error?.type,
        };
      }
    };
    expect(await statusOf('r429')).toEqual({ status: 429, retryAfter: '3', type: 'rate_limit_error' });
    expect(await statusOf('r529')).toMatchObject({ status: 529, type: 'overloaded_error' });
    expect(await statusOf('r500')).toMatchObject({ status: 500, type: 'api_error' });
    expect(await statusOf('r400')).toMatchObject({ status: 400, type: 'invalid_request_error' });
  });

  it('plays `replies` in order and repeats the last, per session when asked', async () => {
    const client = await clientFor({
      rules: [{ match: {}, replies: [{ fault: { status: 529 } }, { text: 'second' }], sequencePer: 'session' }],
      default: { text: 'OK' },
    });
    const call = async (session: string) => {
      try {
        const m = await client.messages.create(ask('x'), { headers: { 'x-claude-code-session-id': session } });
        return (m.content[0] as { text: string }).text;
      } catch {
        return 'fault';
      }
    };
    expect([await call('a'), await call('a'), await call('a'), await call('b'), await call('b')]).toEqual([
      'fault',
      'second',
      'second',
      'fault',
      'second',
    ]);
  });

  it('drops connections and hangs on request', async () => {
    const client = await clientFor(
      parseScript(
        'rules:\n  - { match: { prompt: drop }, reply: { drop: before-response } }\n  - { match: { prompt: hang }, reply: { hang: true } }\n',
        's.yaml',
      ),
    );
    await expect(client.messages.create(ask('drop'))).rejects.toThrow(/Connection error/i);
    await expect(client.messages.create(ask('hang'), { timeout: 300 })).rejects.toThrow(/timed out/i);
    expect(server!.requests.map((r) => r.outcome)).toEqual(['drop', 'hang']);
  });

  it('drops mid-stream after message_start', async () => {
    const client = await clientFor(parseScript('default: { text: never finished, drop: mid-stream }\n', 's.yaml'));
    await expect(client.messages.stream(ask('x')).finalMessage()).rejects.toThrow();
  });

  it('delays a reply by delayMs', async () => {
    const client = await clientFor(parseScript('default: { text: slow, delayMs: 150 }\n', 's.yaml'));
    const started = Date.now();
    await client.messages.create(ask('x'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('matches on system, last message, turn, tool and /regex/', async () => {
    const client = await clientFor(
      parseScript(
        [
          'rules:',
          '  - { match: { system: NOPE }, reply: { text: wrong } }',
          '  - { match: { prompt: "/^Plan the \\\\w+$/", turn: 2, last: tool-output }, reply: { text: second-turn } }',
          '  - { match: { tool: Bash }, reply: { text: has-bash } }',
          '  - { match: { system: BATON-TEST, turn: 1 }, reply: { text: first-turn } }',
        ].join('\n'),
        's.yaml',
      ),
    );
    const first = await client.messages.create(ask('Plan the trip'));
    expect(first.content[0]).toMatchObject({ text: 'first-turn' });
    const second = await client.messages.create(
      ask('', {
        messages: [
          { role: 'user', content: 'Plan the trip' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Read', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'tool-output here' }] },
        ],
      }),
    );
    expect(second.content[0]).toMatchObject({ text: 'second-turn' });
    const withTool = await client.messages.create(
      ask('x', { tools: [{ name: 'Bash', input_schema: { type: 'object' } }] }),
    );
    expect(withTool.content[0]).toMatchObject({ text: 'has-bash' });
  });

  it('records every request, and writes a JSONL log without bodies', async () => {
    const logFile = join(tempDir('baton-ms-'), 'requests.jsonl');
    const client = await clientFor(parseScript('default: { text: logged }\n', 's.yaml'), logFile);
    await client.messages.create(ask('<system-reminder>noise</system-reminder>'));
    await client.messages.create(ask('the real task'), { headers: { 'x-claude-code-session-id': 'sess-1' } });
    const recorded = server!.messageRequests('sess-1');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.view).toMatchObject({
      prompt: 'the real task',
      system: 'You are BATON-TEST.',
      turn: 1,
      model: 'claude-test',
    });
    expect(server!.messageRequests()[0]!.view!.prompt).toBe('');
    const lines = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(statSync(logFile).mode & 0o777).toBe(0o600); // it holds every prompt
    expect(lines[1]).toMatchObject({
      sessionId: 'sess-1',
      outcome: 'message',
      usage: { output_tokens: expect.any(Number) },
    });
    expect(lines[1]).not.toHaveProperty('body');
  });

  it('answers only requests carrying its API key (x-api-key or bearer), in the API error shape; a random key by default', async () => {
    const started = await startModelServer({ script: parseScript('default: { text: secret plan }\n', 's.yaml') });
    server = started.server;
    expect(started.apiKey).toMatch(/^scripted-[0-9a-f]{32}$/);
    const asking = (options: { apiKey?: string | null; authToken?: string }) =>
      new Anthropic({ baseURL: started.url, maxRetries: 0, ...options }).messages.create(ask('the plan?'));
    for (const wrong of [{ apiKey: 'sk-test' }, { apiKey: null, authToken: 'not-the-key' }])
      await expect(asking(wrong)).rejects.toMatchObject({
        status: 401,
        error: { error: { type: 'authentication_error' } },
      });
    expect(server.messageRequests()).toEqual([]); // the script was not played for them
    const answered = await asking({ apiKey: started.apiKey });
    expect(answered.content[0]).toMatchObject({ text: 'secret plan' });
    const asBearer = await asking({ apiKey: null, authToken: started.apiKey });
    expect(asBearer.content[0]).toMatchObject({ text: 'secret plan' });
  });

  it('rejects an invalid script naming the field and line', () => {
    expect(() => parseScript('rules:\n  - match: { prompt: x }\n    reply: { txt: typo }\n', 'bad.yaml')).toThrow(
      /bad\.yaml:3: rules\[0\]\.reply/,
    );
    expect(() => parseScript('rules:\n  - match: { prompt: x }\n', 'bad.yaml')).toThrow(
      /exactly one of reply or replies/,
    );
  });
});
