import type { CanUseTool, HookCallbackMatcher, HookEvent, HookInput, Options } from '@anthropic-ai/claude-agent-sdk';
import { ErrorCodes, type ToolPermission } from '../core/index.js';
import type { PermissionPolicy } from '../permissions/index.js';
import type { AttemptError } from './runtime.js';
import { rulesOnlyGate, type ToolGate } from './tool-gate.js';

/**
 * Routes every tool call of one Claude Code process through Baton. A PreToolUse hook answers `ask`
 * for every call, so that Claude Code's own shortcuts (reads it allows without asking, allow rules
 * from project settings) do not bypass Baton, and `canUseTool` then gets the decision from the gate.
 */
export class ClaudePermissions {
  /** Settable: a process started ahead of its task gets the gate of the agent that claims it. */
  gate: ToolGate;
  /** Set when a verdict stopped the agent: the attempt fails with it. */
  failure?: AttemptError;
  /** Told each decision, for the call's record (set per attempt). */
  decided?: (toolUseId: string, permission: ToolPermission) => void;
  /** A person's message with an approval, told to the agent after the tool ran. */
  private readonly notes = new Map<string, string>();

  constructor(
    policy: PermissionPolicy,
    private readonly where: { cwd: string; home?: string },
  ) {
    this.gate = rulesOnlyGate(policy);
  }

  options(): Pick<Options, 'permissionMode' | 'canUseTool' | 'hooks'> {
    return {
      // Not `auto` (a model classifier) and not `bypassPermissions`: Baton decides.
      permissionMode: 'default',
      canUseTool: this.canUseTool,
      hooks: this.hooks(),
    };
  }

  private readonly canUseTool: CanUseTool = async (tool, input, { signal, toolUseID }) => {
    const verdict = await this.gate({ tool, input, toolUseId: toolUseID, ...this.where }, signal);
    this.decided?.(toolUseID, { decision: verdict.behavior, ...(verdict.by ? { by: verdict.by } : {}) });
    if (verdict.behavior === 'allow') {
      if (verdict.message) this.notes.set(toolUseID, verdict.message);
      return { behavior: 'allow', updatedInput: input };
    }
    const message = verdict.message ?? 'Baton denied this tool call.';
    if (verdict.interrupt) this.failure = { code: ErrorCodes.approvalTimeout, message, transient: false };
    return { behavior: 'deny', message, ...(verdict.interrupt ? { interrupt: true } : {}) };
  };

  private hooks(): Partial<Record<HookEvent, HookCallbackMatcher[]>> {
    return {
      PreToolUse: [
        { hooks: [async () => ({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'ask' } })] },
      ],
      PostToolUse: [{ hooks: [async (input) => this.approvalNote(input, 'PostToolUse')] }],
      // A call that fails gets its note too: "push only to staging" matters most when the push failed.
      PostToolUseFailure: [{ hooks: [async (input) => this.approvalNote(input, 'PostToolUseFailure')] }],
    };
  }

  /** The person's message with an approved call, given to the agent once, after the call. */
  private approvalNote(
    input: HookInput,
    hookEventName: 'PostToolUse' | 'PostToolUseFailure',
  ): { hookSpecificOutput?: { hookEventName: typeof hookEventName; additionalContext: string } } {
    const id = 'tool_use_id' in input ? input.tool_use_id : undefined;
    const note = id === undefined ? undefined : this.notes.get(id);
    if (note === undefined) return {};
    this.notes.delete(id!);
    return { hookSpecificOutput: { hookEventName, additionalContext: note } };
  }
}
