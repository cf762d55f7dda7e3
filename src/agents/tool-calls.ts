import { z } from 'zod';
import {
  isEnvReference,
  isSecretName,
  REDACTED,
  systemClock,
  type Clock,
  type ToolCall,
  type ToolPermission,
} from '../core/index.js';
import { TurnNumbers } from './model-turns.js';

/** Previews are for reading a timeline, not for replaying a call: this many characters at most. */
export const TOOL_PREVIEW_CHARS = 500;
/**
 * Secrets are found by whole value or shape, so one cut in half by the cap would escape redaction: the
 * stream keeps this much more of each preview, and whoever records it redacts first, then caps.
 */
const SECRET_MARGIN_CHARS = 4096;

const toolUseBlock = z.object({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() });
const toolResultBlock = z.object({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z.unknown().optional(),
  is_error: z.boolean().optional(),
});
const contentOf = z.object({ message: z.object({ content: z.unknown() }) });
const assistantId = z.object({ message: z.object({ id: z.string() }) });
const apiError = z.object({ error: z.string() });
const permissionDenied = z.object({
  type: z.literal('system'),
  subtype: z.literal('permission_denied'),
  tool_use_id: z.string(),
  decision_reason_type: z.string().optional(),
});

/** `mcp__<server>__<tool>` names the MCP server; built-in tools have none. */
export function mcpServerOf(toolName: string): string | undefined {
  const match = /^mcp__(.+?)__.+$/.exec(toolName);
  return match?.[1];
}

const capAt = (text: string, chars: number): string => (text.length > chars ? `${text.slice(0, chars)}…` : text);

/**
 * A field named like a secret (`password`, `apiKey`, …) is hidden whole, as the store hides one: once
 * the value is text, only known values and shapes could still be found.
 */
const hideSecretFields = (key: string, value: unknown): unknown =>
  typeof value === 'string' && value.length > 0 && isSecretName(key) && !isEnvReference(value) ? REDACTED : value;

/** A value as text for a preview (strings as they are, anything else as JSON), not yet redacted nor capped. */
export function streamPreview(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value, hideSecretFields) ?? '');
  return capAt(text, TOOL_PREVIEW_CHARS + SECRET_MARGIN_CHARS);
}

/** How Claude Code answers a call of a tool it does not have (a name the model made up). */
const NO_SUCH_TOOL = '<tool_use_error>Error: No such tool available:';

/**
 * Whether the call named a tool the agent does not have: its name is the model's invention, so it
 * says nothing about a real tool (and metrics must not make a series of it).
 */
export const unknownToolCall = (call: { status: string; outputPreview?: string }): boolean =>
  call.status === 'error' && call.outputPreview?.startsWith(NO_SUCH_TOOL) === true;

/** A redacted preview cut to what a record keeps. */
export const capPreview = (text: string): string => capAt(text, TOOL_PREVIEW_CHARS);

/** A tool result's content: its text blocks joined, or the value itself. */
function resultText(content: unknown): unknown {
  if (!Array.isArray(content)) return content ?? '';
  return content
    .map((block: unknown) =>
      typeof block === 'object' && block !== null && 'text' in block ? String(block.text) : JSON.stringify(block),
    )
    .join('\n');
}

function blocks(message: unknown): unknown[] {
  const parsed = contentOf.safeParse(message);
  return parsed.success && Array.isArray(parsed.data.message.content) ? parsed.data.message.content : [];
}

/**
 * Follows one attempt's SDK message stream and turns it into tool calls: a call starts at the
 * assistant's `tool_use` block and ends at the user message carrying its `tool_result`. Each change
 * (started, finished) is reported at once, so a dashboard can show what an agent is doing now.
 */
export class ToolCallTracker {
  private readonly open = new Map<string, ToolCall>();
  private readonly all: ToolCall[] = [];
  /** Baton's permission decisions on calls the stream has not shown yet (the gate may answer first). */
  private readonly decisions = new Map<string, ToolPermission>();

  constructor(
    private readonly report: (call: ToolCall) => void = () => {},
    private readonly clock: Clock = systemClock,
    /** Shared with the attempt's ModelTurnTracker, so both number turns alike. */
    private readonly turnNumbers: TurnNumbers = new TurnNumbers(),
  ) {}

  /** Every call seen so far, in the order the agent asked for them. */
  get calls(): ToolCall[] {
    return [...this.all];
  }

  /** Model turns seen so far (assistant messages; the SDK splits one message per content block). */
  get turns(): number {
    return this.turnNumbers.count;
  }

  observe(message: { type: string } & Record<string, unknown>): void {
    if (message.type === 'assistant') this.assistant(message);
    else if (message.type === 'user') this.user(message);
    else if (message.type === 'system') this.denied(message);
  }

  /** Baton's permission gate decided on a call, before it ran. */
  decided(toolUseId: string, permission: ToolPermission): void {
    const call = this.open.get(toolUseId);
    if (call) call.permission = permission;
    else this.decisions.set(toolUseId, permission);
  }

  /** The attempt ended: calls still waiting for a result never got one. */
  end(): void {
    for (const call of this.open.values()) this.finish(call, 'error', 'the attempt ended before the tool returned');
  }

  private assistant(message: unknown): void {
    // Claude Code reports a failed model request as an assistant message with `error`: no model turn.
    if (apiError.safeParse(message).success) return;
    const id = assistantId.safeParse(message);
    const turn = id.success ? this.turnNumbers.of(id.data.message.id) : Math.max(1, this.turnNumbers.count);
    for (const block of blocks(message)) {
      const use = toolUseBlock.safeParse(block);
      if (!use.success || this.open.has(use.data.id)) continue;
      const server = mcpServerOf(use.data.name);
      const permission = this.decisions.get(use.data.id);
      this.decisions.delete(use.data.id);
      const call: ToolCall = {
        seq: this.all.length + 1,
        toolUseId: use.data.id,
        name: use.data.name,
        ...(server ? { server } : {}),
        turn,
        startedAt: this.clock.now(),
        status: 'running',
        inputPreview: streamPreview(use.data.input),
        ...(permission ? { permission } : {}),
      };
      this.open.set(call.toolUseId, call);
      this.all.push(call);
      this.report({ ...call });
    }
  }

  private user(message: unknown): void {
    for (const block of blocks(message)) {
      const result = toolResultBlock.safeParse(block);
      const call = result.success ? this.open.get(result.data.tool_use_id) : undefined;
      if (!result.success || !call) continue;
      this.finish(call, result.data.is_error === true ? 'error' : 'ok', resultText(result.data.content));
    }
  }

  private denied(message: unknown): void {
    const denial = permissionDenied.safeParse(message);
    const call = denial.success ? this.open.get(denial.data.tool_use_id) : undefined;
    if (!denial.success || !call) return;
    const by = denial.data.decision_reason_type;
    call.permission = { decision: 'deny', ...(by ? { by } : {}) };
  }

  private finish(call: ToolCall, status: 'ok' | 'error', output: unknown): void {
    const finishedAt = this.clock.now();
    Object.assign(call, {
      status,
      finishedAt,
      durationMs: finishedAt - call.startedAt,
      outputPreview: streamPreview(output),
    });
    this.open.delete(call.toolUseId);
    this.report({ ...call });
  }
}
