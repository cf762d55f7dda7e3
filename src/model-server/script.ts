import { z } from 'zod';
import { ErrorCodes, parseYamlWithSchema, readUserFile, validateData } from '../core/index.js';

/** Token usage the scripted model reports; fields left out are computed from the request and reply. */
const usageSchema = z
  .object({
    input_tokens: z.number().int().nonnegative().optional(),
    output_tokens: z.number().int().nonnegative().optional(),
    cache_read_input_tokens: z.number().int().nonnegative().optional(),
    cache_creation_input_tokens: z.number().int().nonnegative().optional(),
  })
  .strict();

const toolUseSchema = z
  .object({
    name: z.string().min(1),
    input: z.record(z.string(), z.unknown()).default({}),
    id: z.string().optional(),
  })
  .strict();

const faultSchema = z
  .object({
    /** HTTP status: 429 rate limit, 529 overloaded, 500 server error, 400 invalid request, 401 auth … */
    status: z.number().int().min(400).max(599),
    /** Anthropic error type; derived from the status when left out. */
    type: z.string().optional(),
    message: z.string().optional(),
    /** Seconds, sent as the `retry-after` header. */
    retryAfter: z.number().nonnegative().optional(),
  })
  .strict();

export const replySchema = z
  .object({
    text: z.string().optional(),
    toolUse: z.union([toolUseSchema, z.array(toolUseSchema).min(1)]).optional(),
    /** Shorthand for a `StructuredOutput` tool call, which Claude Code uses for JSON-schema output. */
    structured: z.record(z.string(), z.unknown()).optional(),
    usage: usageSchema.optional(),
    /** Wait this long before answering at all. */
    delayMs: z.number().int().nonnegative().optional(),
    /** Wait this long between streamed events (simulates a slow model). */
    chunkDelayMs: z.number().int().nonnegative().optional(),
    fault: faultSchema.optional(),
    /** Never answer; the connection stays open until the client gives up or the server closes. */
    hang: z.literal(true).optional(),
    /** Drop the connection: before any response, or after the stream has started. */
    drop: z.enum(['before-response', 'mid-stream']).optional(),
    /** Send message_start and the first delta, then go silent with the connection open (a stalled stream). */
    stall: z.literal(true).optional(),
  })
  .strict()
  .refine((r) => [r.fault, r.hang, r.drop, r.stall].filter((x) => x !== undefined).length <= 1, {
    message: 'use at most one of fault, hang, drop and stall in one reply',
  });

export type Reply = z.output<typeof replySchema>;
export type ToolUseReply = z.output<typeof toolUseSchema>;

/** `/pattern/flags` in a condition: its pattern and flags; anything else is a substring. */
const regexForm = /^\/(.*)\/([a-z]*)$/s;

/** Why a `/pattern/flags` condition does not compile, or undefined (a substring, or a good pattern). */
function regexProblem(text: string): string | undefined {
  const regex = regexForm.exec(text);
  if (!regex) return undefined;
  try {
    new RegExp(regex[1] ?? '', regex[2]);
    return undefined;
  } catch (error) {
    return `${(error as Error).message}; fix the pattern, or escape it as a substring (no slashes around it)`;
  }
}

/** A string condition: a substring, or `/pattern/flags` for a regular expression (compiled when loaded). */
const textMatcherSchema = z
  .string()
  .min(1)
  .superRefine((text, context) => {
    const problem = regexProblem(text);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });

const matchSchema = z
  .object({
    /** The task: text of the first user message (Claude Code's system reminders left out). */
    prompt: textMatcherSchema.optional(),
    /** The whole system prompt, including the text Baton appends. */
    system: textMatcherSchema.optional(),
    /** The newest user message, including tool results. */
    last: textMatcherSchema.optional(),
    model: textMatcherSchema.optional(),
    /** 1 for the first model response of a conversation, 2 after one tool round trip, … */
    turn: z.number().int().positive().optional(),
    /** The request offers a tool of this name. */
    tool: z.string().min(1).optional(),
  })
  .strict();

const ruleSchema = z
  .object({
    name: z.string().optional(),
    match: matchSchema.default({}),
    reply: replySchema.optional(),
    /** Used one after another by successive matching requests; the last one then repeats. */
    replies: z.array(replySchema).min(1).optional(),
    /** Count `replies` per agent session instead of across all requests. */
    sequencePer: z.enum(['script', 'session']).default('script'),
  })
  .strict()
  .refine((r) => (r.reply === undefined) !== (r.replies === undefined), {
    message: 'give exactly one of reply or replies',
  });

export const scriptSchema = z
  .object({
    rules: z.array(ruleSchema).default([]),
    /** Answer for requests no rule matches. */
    default: replySchema.default({ text: 'OK' }),
  })
  .strict();

export type Script = z.output<typeof scriptSchema>;
export type ScriptRule = z.output<typeof ruleSchema>;

/** What the server saw of one request: enough to match rules and for tests to assert on. */
export interface ModelRequestView {
  model: string;
  system: string;
  prompt: string;
  last: string;
  turn: number;
  tools: string[];
  sessionId?: string;
}

/** A script may also be a function, for tests that need logic a file cannot express. */
export type ScriptFunction = (request: ModelRequestView) => Reply | undefined;

export function parseScript(text: string, source: string): Script {
  return parseYamlWithSchema(text, scriptSchema, { source, code: ErrorCodes.scriptInvalid, what: 'Model script' });
}

/** A script given as data (in code): checked like a file, its problems named by field. */
export function checkScript(script: Script | ScriptFunction): Script | ScriptFunction {
  if (typeof script === 'function') return script;
  return validateData(scriptSchema, script, {
    source: 'model script',
    code: ErrorCodes.scriptInvalid,
    what: 'Model script',
  });
}

export function loadScript(path: string): Script {
  const text = readUserFile(path, { code: ErrorCodes.scriptInvalid, what: 'Model script' });
  return parseScript(text, path);
}

function textMatches(pattern: string, text: string): boolean {
  const regex = regexForm.exec(pattern);
  if (regex) return new RegExp(regex[1] ?? '', regex[2]).test(text);
  return text.includes(pattern);
}

function ruleMatches(rule: ScriptRule, request: ModelRequestView): boolean {
  const m = rule.match;
  if (m.prompt !== undefined && !textMatches(m.prompt, request.prompt)) return false;
  if (m.system !== undefined && !textMatches(m.system, request.system)) return false;
  if (m.last !== undefined && !textMatches(m.last, request.last)) return false;
  if (m.model !== undefined && !textMatches(m.model, request.model)) return false;
  if (m.turn !== undefined && m.turn !== request.turn) return false;
  if (m.tool !== undefined && !request.tools.includes(m.tool)) return false;
  return true;
}

/** Picks replies for requests; remembers how far each rule's `replies` sequence has got. */
export class ScriptPlayer {
  private readonly positions = new Map<string, number>();

  constructor(private readonly script: Script | ScriptFunction) {}

  next(request: ModelRequestView): { reply: Reply; rule: string } {
    if (typeof this.script === 'function') {
      const reply = this.script(request);
      return reply ? { reply, rule: 'function' } : { reply: { text: 'OK' }, rule: 'default' };
    }
    const index = this.script.rules.findIndex((rule) => ruleMatches(rule, request));
    const rule = this.script.rules[index];
    if (!rule) return { reply: this.script.default, rule: 'default' };
    const ruleName = rule.name ?? `rules[${index}]`;
    if (rule.reply) return { reply: rule.reply, rule: ruleName };

    const replies = rule.replies ?? [];
    const key = rule.sequencePer === 'session' ? `${index}:${request.sessionId ?? ''}` : `${index}`;
    const position = this.positions.get(key) ?? 0;
    this.positions.set(key, position + 1);
    const reply = replies[Math.min(position, replies.length - 1)] ?? this.script.default;
    return { reply, rule: ruleName };
  }
}
