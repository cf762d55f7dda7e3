import { decideToolCall, type PermissionPolicy, type ToolCall } from '../permissions/index.js';

/** A tool call as the runtime reports it to Baton, before it runs. */
export interface GatedToolCall extends ToolCall {
  /** Claude Code's id of this call, unique within the session. */
  toolUseId: string;
}

/** Baton's answer to a tool call. */
export interface ToolVerdict {
  behavior: 'allow' | 'deny';
  /** Told to the agent: why it was denied, or a person's instruction with an approval. */
  message?: string;
  /** Stop the agent instead of letting it carry on (a deadline with `onTimeout: fail`). */
  interrupt?: boolean;
  /** Who decided, for the call's record: `rule`, `person` or `timeout`. */
  by?: string;
}

/** Decides each tool call of one agent; may wait (for a person) until `signal` aborts. */
export type ToolGate = (call: GatedToolCall, signal: AbortSignal) => Promise<ToolVerdict>;

/** The agent-facing words for a call refused by a rule. */
export function ruleDenialMessage(rule: string): string {
  return rule === 'default'
    ? 'Baton denied this tool call: no permission rule allows it. Do the task without it, or say what permission you need.'
    : `Baton denied this tool call: the permission rule "${rule}" forbids it. Do the task another way.`;
}

/** Decides by the rules alone: nobody to ask, so an `ask` is a denial. Used when no approval desk is at hand. */
export function rulesOnlyGate(policy: PermissionPolicy): ToolGate {
  return async (call) => {
    const decision = decideToolCall(policy, call);
    if (decision.behavior === 'allow') return { behavior: 'allow', by: 'rule' };
    if (decision.behavior === 'deny')
      return { behavior: 'deny', message: ruleDenialMessage(decision.rule), by: 'rule' };
    return {
      behavior: 'deny',
      by: 'rule',
      message: `Baton denied this tool call: the rule "${decision.rule}" needs a person's approval, and none can be asked here.`,
    };
  };
}
