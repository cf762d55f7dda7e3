import {
  BrokenCircuitError,
  CircuitState,
  circuitBreaker,
  ConsecutiveBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { BatonError, ErrorCodes } from '../core/index.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** What happened to a shared server's process: each failed restart is told, then whether it came back. */
export interface LifecycleEvent {
  server: string;
  state: 'crashed' | 'restart-failed' | 'restarted' | 'gave-up';
  error?: string;
}

/**
 * A crash and each failed restart count against the server's breaker (three in a row open it): a server
 * whose restarts all fail reads as down, not as closed with one crash.
 */
export const countsAgainstBreaker = (event: LifecycleEvent): boolean =>
  event.state === 'crashed' || event.state === 'restart-failed';

/**
 * A request's failure that says nothing of its server's health, neither failure nor success to the
 * breaker: a call cut off by the server's crash (the crash itself counts, once) or cancelled by its agent.
 */
export class UncountedFailure extends Error {
  constructor(readonly failure: unknown) {
    super('a failure the circuit breaker does not count', { cause: failure });
  }
}

/**
 * Failures that say the server is unwell (it crashed, timed out, could not start); an MCP error the
 * server answered with (unknown tool, bad arguments) says it is working, so the breaker ignores it.
 */
const countsAgainstServer = (error: Error): boolean => {
  if (error instanceof UncountedFailure) return false;
  // McpError's numeric code, read without loading the SDK's schemas here: ConnectionClosed, RequestTimeout.
  const code = (error as { code?: unknown }).code;
  return typeof code !== 'number' || code === -32000 || code === -32001;
};

export const breakerOpen = (name: string): string =>
  `MCP server "${name}" failed repeatedly; its circuit breaker is open until it answers a re-probe, tried again within seconds`;

const breakerStates: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

export const breakerState = (breaker: CircuitBreakerPolicy): BreakerState => breakerStates[breaker.state];

export interface ServerBreakerOptions {
  /** Consecutive failures that open it (default 3). */
  threshold?: number;
  /** How long it stays open before it lets one attempt through (default 5 s). */
  halfOpenAfterMs?: number;
}

/** A server's circuit breaker: `threshold` failures in a row that say the server is unwell open it. */
export const serverBreaker = (options: ServerBreakerOptions = {}): CircuitBreakerPolicy =>
  circuitBreaker(handleWhen(countsAgainstServer), {
    halfOpenAfter: options.halfOpenAfterMs ?? 5000,
    breaker: new ConsecutiveBreaker(options.threshold ?? 3),
  });

/** Runs an agent's request to `name` through its breaker; an open one fails it at once, naming the server. */
export async function throughBreaker<T>(
  breaker: CircuitBreakerPolicy,
  name: string,
  request: () => Promise<T>,
): Promise<T> {
  try {
    return await breaker.execute(request);
  } catch (error) {
    // The agent is told which server and why, not cockatiel's bare "Execution prevented".
    if (error instanceof BrokenCircuitError)
      throw new BatonError(ErrorCodes.mcpUnavailable, breakerOpen(name), { cause: error });
    throw error;
  }
}

/** A crash of a shared server: one failure to its breaker, however many calls it cut off (they are not counted). */
export function countCrash(breaker: CircuitBreakerPolicy, name: string): void {
  const crash = new BatonError(ErrorCodes.mcpUnavailable, `MCP server "${name}" exited`);
  void breaker.execute(() => Promise.reject(crash)).catch(() => undefined);
}
