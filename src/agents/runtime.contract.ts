import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AgentRuntime, AgentSpec } from './runtime.js';
import { BatonError, ErrorCodes } from '../core/index.js';

/** Behaviours every runtime must be able to show; each harness scripts them its own way. */
export type ContractScenario = 'text' | 'structured' | 'rate-limited' | 'invalid-request' | 'slow';

export const contractSchema = {
  type: 'object',
  properties: { answer: { type: 'string' } },
  required: ['answer'],
} as const;

export interface RuntimeHarness {
  runtime: AgentRuntime;
  /** A spec whose agent behaves as `scenario` says: text → "contract-ok", structured → { answer: "forty-two" }. */
  spec(scenario: ContractScenario): AgentSpec;
  cleanup(): Promise<void>;
}

/** The contract every AgentRuntime passes: the real Claude Code runtime and the in-process fake. */
export function describeRuntimeContract(name: string, makeHarness: () => Promise<RuntimeHarness>): void {
  describe(`AgentRuntime contract: ${name}`, () => {
    const withHarness = (fn: (h: RuntimeHarness) => Promise<void>) => async () => {
      const harness = await makeHarness();
      try {
        await fn(harness);
      } finally {
        await harness.cleanup();
      }
    };

    it(
      'returns the final text with usage and cost',
      withHarness(async (h) => {
        const outcome = await h.runtime.execute(h.spec('text'), new AbortController().signal);
        expect(outcome.status).toBe('succeeded');
        expect(outcome.output?.text).toContain('contract-ok');
        expect(outcome.sessionStarted).toBe(true);
        expect(outcome.usage.inputTokens + outcome.usage.outputTokens).toBeGreaterThan(0);
        expect(outcome.costUsd).toBeGreaterThanOrEqual(0);
        expect(outcome.error).toBeUndefined();
      }),
    );

    it(
      'returns structured output when a JSON schema is asked for',
      withHarness(async (h) => {
        const outcome = await h.runtime.execute(
          { ...h.spec('structured'), outputSchema: { ...contractSchema } },
          new AbortController().signal,
        );
        expect(outcome.status).toBe('succeeded');
        expect(outcome.output?.structured).toEqual({ answer: 'forty-two' });
      }),
    );

    it(
      'reports a rate limit as a transient error',
      withHarness(async (h) => {
        const outcome = await h.runtime.execute(h.spec('rate-limited'), new AbortController().signal);
        expect(outcome.status).toBe('failed');
        expect(outcome.error).toMatchObject({ code: 'BATON_MODEL_RATE_LIMITED', transient: true });
      }),
    );

    it(
      'reports an invalid request as a permanent error',
      withHarness(async (h) => {
        const outcome = await h.runtime.execute(h.spec('invalid-request'), new AbortController().signal);
        expect(outcome.status).toBe('failed');
        expect(outcome.error).toMatchObject({ code: 'BATON_MODEL_INVALID_REQUEST', transient: false });
      }),
    );

    it(
      'stops promptly when its signal aborts, saying why',
      withHarness(async (h) => {
        const cancel = new AbortController();
        const timedOut = new AbortController();
        // Late enough that a real agent is blocked on its model call, not still starting.
        setTimeout(() => cancel.abort(new Error('user cancelled')), 1500);
        setTimeout(() => timedOut.abort(new BatonError(ErrorCodes.agentTimeout, 'agent timed out')), 1500);
        const started = Date.now();
        const [cancelled, timeout] = await Promise.all([
          h.runtime.execute({ ...h.spec('slow'), sessionId: randomUUID() }, cancel.signal),
          h.runtime.execute({ ...h.spec('slow'), sessionId: randomUUID() }, timedOut.signal),
        ]);
        expect(Date.now() - started).toBeLessThan(1500 + 2000);
        expect(cancelled).toMatchObject({ status: 'failed', error: { code: 'BATON_CANCELLED', transient: false } });
        expect(timeout).toMatchObject({ status: 'failed', error: { code: 'BATON_AGENT_TIMEOUT', transient: false } });
      }),
    );
  });
}
