import { z } from 'zod';
import { addUsage, listPriceUsd, systemClock, type Clock, type ModelTurn, type Usage } from '../core/index.js';

/**
 * Numbers an attempt's model turns by response id, in the order they are first seen. The tool-call
 * and model-turn trackers of one attempt share it, so a tool call names the turn that asked for it.
 */
export class TurnNumbers {
  private readonly ids = new Map<string, number>();

  /** The turn of this response, numbered now if it is new. */
  of(messageId: string): number {
    const known = this.ids.get(messageId);
    if (known !== undefined) return known;
    this.ids.set(messageId, this.ids.size + 1);
    return this.ids.size;
  }

  get count(): number {
    return this.ids.size;
  }
}

const apiUsage = z.object({
  input_tokens: z.number().nullish(),
  output_tokens: z.number().nullish(),
  cache_read_input_tokens: z.number().nullish(),
  cache_creation_input_tokens: z.number().nullish(),
});
type ApiUsage = z.infer<typeof apiUsage>;

/** The Messages API's stream events that bound a response, as the Agent SDK forwards them. */
const responseEvent = z.object({
  type: z.literal('stream_event'),
  parent_tool_use_id: z.string().nullish(),
  event: z.discriminatedUnion('type', [
    z.object({
      type: z.literal('message_start'),
      message: z.object({ id: z.string(), model: z.string().optional(), usage: apiUsage.optional() }),
    }),
    z.object({
      type: z.literal('message_delta'),
      delta: z.object({ stop_reason: z.string().nullish() }).optional(),
      usage: apiUsage.nullish(),
    }),
    z.object({ type: z.literal('message_stop') }),
  ]),
});
type ResponseEvent = z.infer<typeof responseEvent>;

/** Messages after which the agent sends its next model request: its start (`init`), tool results. */
const requestTrigger = z.union([
  z.object({ type: z.literal('user'), parent_tool_use_id: z.string().nullish() }),
  z.object({ type: z.literal('system'), subtype: z.literal('init') }),
]);

/** Usage as the API reported it so far; a later event's fields replace earlier ones (they are running totals). */
const usageFrom = (api: ApiUsage | null | undefined, before: Usage): Usage => ({
  inputTokens: api?.input_tokens ?? before.inputTokens,
  outputTokens: api?.output_tokens ?? before.outputTokens,
  cacheReadTokens: api?.cache_read_input_tokens ?? before.cacheReadTokens,
  cacheCreationTokens: api?.cache_creation_input_tokens ?? before.cacheCreationTokens,
});

const NO_USAGE: Usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 };

/** The conversation a message belongs to: the agent's own (''), or a subagent's (its Task call's id). */
const conversationOf = (parentToolUseId: string | null | undefined): string => parentToolUseId ?? '';

/**
 * Follows one attempt's SDK message stream (with partial messages, which the runtime always asks
 * for) and turns it into model turns, reported when each starts and ends. The stream does not show
 * the request going out, so a turn starts at the last message after which the agent sends one — the
 * attempt's start or `init` for the first turn, the last tool result (or the previous turn's end)
 * for the next — and ends at the response's `message_stop`. The assistant message itself arrives at
 * its content block's end, before `message_delta` brings the final output tokens and stop reason.
 */
export class ModelTurnTracker {
  /** The response streaming now, per conversation (subagents stream beside their parent). */
  private readonly open = new Map<string, ModelTurn>();
  /** When each conversation last had what it needs to send its next request. */
  private readonly readySince = new Map<string, number>();
  private readonly clock: Clock;
  private readonly numbers: TurnNumbers;
  private ended: Usage = NO_USAGE;
  private endedUsd = 0;

  constructor(
    private readonly report: (turn: ModelTurn) => void = () => {},
    private readonly options: { requestModel?: string; clock?: Clock; numbers?: TurnNumbers } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.numbers = options.numbers ?? new TurnNumbers();
    this.readySince.set(conversationOf(undefined), this.clock.now());
  }

  observe(message: { type: string } & Record<string, unknown>): void {
    const event = responseEvent.safeParse(message);
    if (event.success) return this.onResponseEvent(event.data);
    const trigger = requestTrigger.safeParse(message);
    if (trigger.success)
      this.readySince.set(
        conversationOf('parent_tool_use_id' in trigger.data ? trigger.data.parent_tool_use_id : undefined),
        this.clock.now(),
      );
  }

  /**
   * Tokens of every response that ended (finished or cut off): what an attempt that never got its
   * result message still used, and was billed for.
   */
  get usage(): Usage {
    return this.ended;
  }

  /**
   * What those responses cost at list price, each at its own model's: an estimate for an attempt that
   * never got its result message, the only place Claude Code reports cost.
   */
  get listPriceUsd(): number {
    return this.endedUsd;
  }

  /** The attempt ended: a response still streaming never finished. */
  end(): void {
    for (const conversation of [...this.open.keys()]) this.finish(conversation, 'incomplete');
  }

  private onResponseEvent({ parent_tool_use_id, event }: ResponseEvent): void {
    const conversation = conversationOf(parent_tool_use_id);
    const turn = this.open.get(conversation);
    if (event.type === 'message_start') this.start(conversation, event.message);
    else if (turn && event.type === 'message_delta') {
      turn.usage = usageFrom(event.usage, turn.usage);
      if (event.delta?.stop_reason) turn.stopReason = event.delta.stop_reason;
    } else if (turn && event.type === 'message_stop') this.finish(conversation, 'done');
  }

  private start(conversation: string, message: { id: string; model?: string; usage?: ApiUsage }): void {
    // A response that never reached message_stop before the next began (a retried request).
    if (this.open.has(conversation)) this.finish(conversation, 'incomplete');
    const now = this.clock.now();
    const turn: ModelTurn = {
      index: this.numbers.of(message.id),
      messageId: message.id,
      ...(this.options.requestModel ? { requestModel: this.options.requestModel } : {}),
      ...(message.model ? { responseModel: message.model } : {}),
      startedAt: this.readySince.get(conversation) ?? now,
      status: 'running',
      usage: usageFrom(message.usage, NO_USAGE),
    };
    this.open.set(conversation, turn);
    this.report({ ...turn });
  }

  private finish(conversation: string, status: 'done' | 'incomplete'): void {
    const turn = this.open.get(conversation);
    if (!turn) return;
    const finishedAt = this.clock.now();
    Object.assign(turn, { status, finishedAt });
    this.ended = addUsage(this.ended, turn.usage);
    this.endedUsd += listPriceUsd(turn.responseModel ?? turn.requestModel, turn.usage);
    this.open.delete(conversation);
    this.readySince.set(conversation, finishedAt);
    this.report({ ...turn });
  }
}
