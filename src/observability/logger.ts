import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import type { McpEvents } from '../mcp/index.js';
import type { RunEventMap, RunEvents } from '../orchestrator/index.js';
import { makeDirs, type SecretRedactor } from '../core/index.js';

export interface LoggerOptions {
  /** `enable_debug_logging`: debug level instead of info. */
  debug: boolean;
  /** Append JSON lines to this file. */
  file: string;
  redactor: SecretRedactor;
}

/** Structured JSON logs (pino); every argument passes the redactor first. Made 0600 in a 0700 folder, as the store. */
export function createLogger(options: LoggerOptions): Logger {
  makeDirs(dirname(options.file));
  return pino(
    {
      level: options.debug ? 'debug' : 'info',
      base: { pid: process.pid },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => options.redactor.redactDeep(arg)) as Parameters<typeof method>);
        },
      },
    },
    pino.destination({ dest: options.file, append: true, sync: true, mode: 0o600 }),
  );
}

/** Events worth a line at info level; the rest are debug. */
const infoEvents: Array<keyof RunEventMap & string> = [
  'run.started',
  'run.finished',
  'phase.started',
  'phase.finished',
  'agent.started',
  'agent.finished',
  'budget.warning',
  'budget.exceeded',
  'context.corrupt',
  'merge.step',
];
const debugEvents: Array<keyof RunEventMap & string> = [
  'agent.queued',
  'agent.mcp',
  'agent.attempt',
  'agent.attempt.finished',
  'context.added',
];

/** Logs every run and MCP event as one structured line. */
export function logEvents(logger: Logger, events: RunEvents, mcpEvents?: McpEvents): () => void {
  const offs = [
    ...infoEvents.map((name) =>
      events.on(name, (payload) => logger.info({ event: name, ...withoutSummary(payload as object) }, name)),
    ),
    ...debugEvents.map((name) =>
      events.on(name, (payload) => logger.debug({ event: name, ...(payload as object) }, name)),
    ),
    ...(mcpEvents
      ? [
          mcpEvents.on('mcp.checked', (e) =>
            e.status === 'up'
              ? logger.debug({ event: 'mcp.checked', ...e }, 'mcp.checked')
              : logger.warn({ event: 'mcp.checked', ...e }, 'mcp.checked'),
          ),
          mcpEvents.on('mcp.breaker', (e) => logger.warn({ event: 'mcp.breaker', ...e }, 'mcp.breaker')),
        ]
      : []),
  ];
  return () => offs.forEach((off) => off());
}

/** run.finished carries the whole summary; the log keeps the status line short. */
function withoutSummary<T extends object>(payload: T): Omit<T, 'summary'> {
  const { summary: _summary, ...rest } = payload as T & { summary?: unknown };
  return rest;
}
