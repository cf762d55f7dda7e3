/**
 * The slice of the Anthropic Messages API wire format the scripted model speaks: turning a scripted
 * reply into a message (non-streaming) or a sequence of server-sent events (streaming), and reading
 * the parts of a request that scripts match on.
 */
import type { ModelRequestView, Reply } from './script.js';

export type ContentBlock =
  { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface ReplyUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

export interface ModelMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ContentBlock[];
  stop_reason: 'end_turn' | 'tool_use';
  stop_sequence: null;
  usage: ReplyUsage;
}

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** A deterministic stand-in for a tokenizer: scripted usage only has to be stable and plausible. */
export function roughTokenCount(text: string): number {
  return Math.max(1, Math.ceil(Buffer.byteLength(text) / 4));
}

export function buildMessage(
  reply: Reply,
  request: { model: string; bodyBytes: number },
  messageId: string,
): ModelMessage {
  const content: ContentBlock[] = [];
  if (reply.text !== undefined) content.push({ type: 'text', text: reply.text });
  const toolUses = reply.toolUse === undefined ? [] : Array.isArray(reply.toolUse) ? reply.toolUse : [reply.toolUse];
  if (reply.structured !== undefined) toolUses.push({ name: 'StructuredOutput', input: reply.structured });
  toolUses.forEach((tool, i) => {
    content.push({ type: 'tool_use', id: tool.id ?? `toolu_${messageId}_${i}`, name: tool.name, input: tool.input });
  });
  if (content.length === 0) content.push({ type: 'text', text: '' });

  const outputText = content.map((b) => (b.type === 'text' ? b.text : JSON.stringify(b.input))).join('');
  const usage: ReplyUsage = {
    input_tokens: reply.usage?.input_tokens ?? Math.max(1, Math.ceil(request.bodyBytes / 4)),
    output_tokens: reply.usage?.output_tokens ?? roughTokenCount(outputText),
    cache_read_input_tokens: reply.usage?.cache_read_input_tokens ?? 0,
    cache_creation_input_tokens: reply.usage?.cache_creation_input_tokens ?? 0,
  };
  return {
    id: messageId,
    type: 'message',
    role: 'assistant',
    model: request.model,
    content,
    stop_reason: toolUses.length > 0 ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage,
  };
}

/** The SSE events of a streamed response, in the order the real API sends them. */
export function messageEvents(message: ModelMessage): SseEvent[] {
  const events: SseEvent[] = [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: { ...message, content: [], stop_reason: null, usage: { ...message.usage, output_tokens: 1 } },
      },
    },
  ];
  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      events.push({
        event: 'content_block_start',
        data: { type: 'content_block_start', index, content_block: { type: 'text', text: '' } },
      });
      events.push({
        event: 'content_block_delta',
        data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } },
      });
    } else {
      events.push({
        event: 'content_block_start',
        data: {
          type: 'content_block_start',
          index,
          content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
        },
      });
      events.push({
        event: 'content_block_delta',
        data: {
          type: 'content_block_delta',
          index,
          delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
        },
      });
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
  });
  events.push({
    event: 'message_delta',
    data: {
      type: 'message_delta',
      delta: { stop_reason: message.stop_reason, stop_sequence: null },
      usage: { output_tokens: message.usage.output_tokens },
    },
  });
  events.push({ event: 'message_stop', data: { type: 'message_stop' } });
  return events;
}

export function formatSse(event: SseEvent): string {
  return `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

export function errorBody(
  status: number,
  type: string | undefined,
  message: string | undefined,
): Record<string, unknown> {
  const errorType = type ?? errorTypes[status] ?? 'api_error';
  return { type: 'error', error: { type: errorType, message: message ?? `Scripted ${errorType} (${status})` } };
}

// ---- reading requests ----

interface RequestBlock {
  type?: string;
  text?: string;
  content?: unknown;
}

interface RequestMessage {
  role?: string;
  content?: unknown;
}

export interface MessagesRequestBody {
  model?: string;
  stream?: boolean;
  system?: unknown;
  messages?: RequestMessage[];
  tools?: Array<{ name?: string }>;
}

/** Claude Code prefixes the task with `<system-reminder>` blocks; scripts match on the task itself. */
function visibleText(text: string, skipReminders: boolean): string {
  return skipReminders && text.startsWith('<system-reminder>') ? '' : text;
}

function blockText(block: unknown, skipReminders: boolean): string {
  if (typeof block === 'string') return visibleText(block, skipReminders);
  const b = block as RequestBlock;
  if (b.type === 'text' && typeof b.text === 'string') return visibleText(b.text, skipReminders);
  if (b.type === 'tool_result') return contentText(b.content, skipReminders);
  return '';
}

function contentText(content: unknown, skipReminders: boolean): string {
  if (typeof content === 'string') return visibleText(content, skipReminders);
  if (!Array.isArray(content)) return '';
  return content
    .map((b) => blockText(b, skipReminders))
    .filter((t) => t.length > 0)
    .join('\n');
}

export function viewRequest(body: MessagesRequestBody, sessionId: string | undefined): ModelRequestView {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const userMessages = messages.filter((m) => m.role === 'user');
  const firstUser = userMessages[0];
  const lastUser = userMessages[userMessages.length - 1];
  return {
    model: typeof body.model === 'string' ? body.model : '',
    system: contentText(body.system, false),
    prompt: firstUser ? contentText(firstUser.content, true) : '',
    last: lastUser ? contentText(lastUser.content, true) : '',
    turn: messages.filter((m) => m.role === 'assistant').length + 1,
    tools: Array.isArray(body.tools) ? body.tools.map((t) => t.name ?? '').filter(Boolean) : [],
    sessionId,
  };
}
