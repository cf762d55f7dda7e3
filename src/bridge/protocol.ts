import { z } from 'zod';
import { ErrorCodes } from '../core/index.js';

/**
 * The Context Bridge's wire protocol: JSON messages `{ type, id?, ...payload }`. IDE clients push
 * events; any client may subscribe to event types and paths. Every message crosses a boundary, so
 * each is validated here and its TypeScript type comes from the schema.
 */

/** Largest message the bridge reads; a bigger one gets an error reply and the connection stays open. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Frames beyond this are refused by ws itself, which closes that one connection (memory safety). */
export const MAX_FRAME_BYTES = 16 * MAX_MESSAGE_BYTES;

const path = z.string().min(1).max(4096);
/** 0-based, as in LSP. */
const position = z.object({ line: z.number().int().min(0), character: z.number().int().min(0) }).strict();
const range = z.object({ start: position, end: position }).strict();
/** A client's own correlation id: the bridge echoes it in the `ack`, `subscribed` or `error` reply. */
const id = z.union([z.string().max(200), z.number()]).optional();

export const diagnosticSchema = z
  .object({
    severity: z.enum(['error', 'warning', 'info', 'hint']),
    message: z.string().min(1).max(10_000),
    range: range.optional(),
    source: z.string().max(200).optional(),
    code: z.union([z.string().max(200), z.number()]).optional(),
  })
  .strict();

export const ideEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('file.opened'), id, path, language: z.string().max(100).optional() }).strict(),
  z.object({ type: z.literal('file.closed'), id, path }).strict(),
  z
    .object({
      type: z.literal('file.changed'),
      id,
      path,
      change: z.enum(['added', 'changed', 'deleted']).default('changed'),
      /** Unified diff of the change, when the client knows the previous text. */
      diff: z.string().optional(),
    })
    .strict(),
  z
    .object({ type: z.literal('selection.changed'), id, path, range, text: z.string().max(100_000).optional() })
    .strict(),
  /** Replaces the file's diagnostics; an empty list clears them. */
  z
    .object({ type: z.literal('diagnostics.updated'), id, path, diagnostics: z.array(diagnosticSchema).max(5000) })
    .strict(),
  z
    .object({
      type: z.literal('terminal.output'),
      id,
      terminal: z.string().min(1).max(200).default('default'),
      data: z.string(),
    })
    .strict(),
  z
    .object({
      type: z.literal('git.changed'),
      id,
      root: path.optional(),
      branch: z.string().max(500).optional(),
      /** `git status --porcelain` codes (`M`, `A`, `??`, …) per path. */
      files: z.array(z.object({ path, status: z.string().min(1).max(4) }).strict()).max(10_000),
    })
    .strict(),
]);

export const ideEventTypes = [
  'file.opened',
  'file.closed',
  'file.changed',
  'selection.changed',
  'diagnostics.updated',
  'terminal.output',
  'git.changed',
] as const;
export type IdeEventType = (typeof ideEventTypes)[number];

export const subscriptionFilterSchema = z
  .object({
    /** Event types to receive; all when absent. */
    types: z.array(z.enum(ideEventTypes)).min(1).optional(),
    /** Path globs (`*`, `**`, `?`) an event's path must match; events without a path always match. */
    paths: z.array(z.string().min(1).max(1000)).min(1).max(100).optional(),
  })
  .strict();

const controlMessageSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('subscribe'),
      id,
      ...subscriptionFilterSchema.shape,
      /** Also replay the retained events after this sequence number (0: all retained). */
      since: z.number().int().min(0).optional(),
    })
    .strict(),
  z.object({ type: z.literal('unsubscribe'), id }).strict(),
  z.object({ type: z.literal('ping'), id }).strict(),
]);

export const clientMessageSchema = z.discriminatedUnion('type', [
  ...ideEventSchema.options,
  ...controlMessageSchema.options,
]);

export type IdeEvent = z.output<typeof ideEventSchema>;
export type IdeEventInput = z.input<typeof ideEventSchema>;
export type Diagnostic = z.output<typeof diagnosticSchema>;
export type SubscriptionFilter = z.output<typeof subscriptionFilterSchema>;
export type ClientMessage = z.output<typeof clientMessageSchema>;

/** An event as the bridge stores and delivers it: numbered in arrival order, with who sent it. */
export interface BridgeEvent {
  seq: number;
  /** Milliseconds since the epoch, when the bridge accepted it. */
  at: number;
  /** The sending client's name (`?client=` on connect, or `http`). */
  source: string;
  event: IdeEvent;
}

/** Stable codes of the bridge's `error` replies, from the one error catalogue. */
export const wireErrorCodes = {
  tooLarge: ErrorCodes.bridgeMessageTooLarge,
  malformedJson: ErrorCodes.bridgeMalformedJson,
  invalid: ErrorCodes.bridgeMessageInvalid,
} as const;
export type WireErrorCode = (typeof wireErrorCodes)[keyof typeof wireErrorCodes];

export type ServerMessage =
  | { type: 'welcome'; client: string; seq: number; maxMessageBytes: number }
  | ({ type: 'event' } & BridgeEvent)
  | { type: 'ack'; id?: string | number; seq: number }
  | { type: 'subscribed'; id?: string | number; seq: number; oldestSeq: number; replayed: number }
  | { type: 'unsubscribed'; id?: string | number }
  | { type: 'pong'; id?: string | number; seq: number }
  | { type: 'error'; id?: string | number; code: WireErrorCode; message: string };

/** A message from the bridge as a client reads it: loosely checked, so newer bridges stay readable. */
export const serverMessageSchema = z.object({ type: z.string() }).passthrough();

/** The event's path, for filters; terminal output and git status have none. */
export function eventPath(event: IdeEvent): string | undefined {
  return 'path' in event ? event.path : undefined;
}

/** The event without the client's correlation id: what gets stored and delivered. */
export function withoutId(event: IdeEvent): IdeEvent {
  if (event.id === undefined) return event;
  const { id: _id, ...rest } = event;
  return rest as IdeEvent;
}
