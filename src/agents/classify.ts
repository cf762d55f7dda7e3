import { ErrorCodes, isBatonError, type ErrorCode } from '../core/index.js';
import type { AttemptError } from './runtime.js';

/**
 * Why a signal stopped an agent. Whoever aborts says why with a BatonError (BATON_AGENT_TIMEOUT,
 * BATON_RUN_BUDGET_EXCEEDED, BATON_CANCELLED); any other reason is a cancel.
 */
export function abortError(signal: AbortSignal): AttemptError {
  const reason: unknown = signal.reason;
  if (isBatonError(reason)) return { code: reason.code, message: reason.message, transient: false };
  const message = reason instanceof Error ? reason.message : 'the agent was cancelled';
  return { code: ErrorCodes.cancelled, message, transient: false };
}

function fromStatus(status: number): { code: ErrorCode; transient: boolean } {
  if (status === 429) return { code: ErrorCodes.modelRateLimited, transient: true };
  if (status === 529) return { code: ErrorCodes.modelOverloaded, transient: true };
  if (status === 408 || status >= 500) return { code: ErrorCodes.modelServerError, transient: true };
  return { code: ErrorCodes.modelInvalidRequest, transient: false };
}

/** The fields of Claude Code's `result` message that say how it ended. */
export interface ResultSummary {
  subtype: string;
  isError: boolean;
  apiErrorStatus: number | null;
  terminalReason?: string;
  text: string;
  errors?: string[];
  /** The kind of API error Claude Code reported on its last assistant message (`authentication_failed`, …). */
  assistantError?: string;
}

/** What to tell a user whose key is missing or refused: the fix, not a network hunt. */
export const authFix =
  'set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) in the environment of baton to a valid key; not retried';

/** Claude Code's own words for "no usable credentials", for results that carry no status. */
const authErrors = new Set(['authentication_failed', 'oauth_org_not_allowed', 'cloud_credential_error']);

/**
 * Maps how Claude Code ended to a Baton error, deciding whether a retry could help: rate limits,
 * overload, 5xx and dropped connections are transient; bad requests, auth, budget and turn limits
 * are not.
 */
export function classifyResult(result: ResultSummary): AttemptError | undefined {
  if (result.subtype === 'error_max_budget_usd') {
    return {
      code: ErrorCodes.agentBudgetExceeded,
      message: 'the agent spent its USD budget (maxBudgetUsd)',
      transient: false,
    };
  }
  if (result.subtype === 'error_max_turns') {
    return {
      code: ErrorCodes.agentMaxTurns,
      message: 'the agent used all its turns (maxTurns) without finishing',
      transient: false,
    };
  }
  if (result.subtype === 'error_max_structured_output_retries') {
    return {
      code: ErrorCodes.agentFailed,
      message: 'the agent did not produce output matching outputSchema',
      transient: false,
    };
  }
  if (result.subtype === 'error_during_execution') {
    const detail = result.errors?.join('; ') || result.text || 'error during execution';
    return { code: ErrorCodes.agentFailed, message: detail, transient: true };
  }
  if (!result.isError) return undefined;

  const message = result.text || 'the model returned an error';
  const status = result.apiErrorStatus;
  if (status === 401 || status === 403 || (result.assistantError && authErrors.has(result.assistantError))) {
    // "Not logged in" comes with no status: without this it would look like a dropped connection.
    return { code: ErrorCodes.modelAuth, message: `${message}: ${authFix}`, transient: false };
  }
  if (status !== null) return { ...fromStatus(status), message };
  if (result.terminalReason === 'api_error') {
    // No status: the connection failed or dropped.
    return { code: ErrorCodes.modelConnection, message, transient: true };
  }
  return { code: ErrorCodes.agentFailed, message, transient: false };
}
