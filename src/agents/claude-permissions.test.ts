import type { HookCallback, HookInput } from '@anthropic-ai/claude-agent-sdk';
import { describe, expect, it } from 'vitest';
import type { PermissionPolicy } from '../permissions/index.js';
import { ClaudePermissions } from './claude-permissions.js';

describe("a person's message with an approval", () => {
  it('reaches the agent after the call, whether the call succeeded or failed, and once', async () => {
    const permissions = new ClaudePermissions({ allow: [], ask: [], deny: [] } as unknown as PermissionPolicy, {
      cwd: '/tmp',
    });
    permissions.gate = async () => ({ behavior: 'allow', by: 'person', message: 'push only to staging' });
    const { canUseTool, hooks } = permissions.options();
    const hook = (event: 'PostToolUse' | 'PostToolUseFailure'): HookCallback => hooks![event]![0]!.hooks[0]!;
    const after = (event: 'PostToolUse' | 'PostToolUseFailure', id: string) =>
      hook(event)({ hook_event_name: event, tool_use_id: id } as unknown as HookInput, id, {
        signal: new AbortController().signal,
      });
    for (const id of ['toolu_ok', 'toolu_failed'])
      await canUseTool!('Bash', { command: 'git push' }, {
        signal: new AbortController().signal,
        toolUseID: id,
      } as never);
    expect(await after('PostToolUse', 'toolu_ok')).toEqual({
      hookSpecificOutput: { hookEventName: 'PostToolUse', additionalContext: 'push only to staging' },
    });
    expect(await after('PostToolUseFailure', 'toolu_failed')).toEqual({
      hookSpecificOutput: { hookEventName: 'PostToolUseFailure', additionalContext: 'push only to staging' },
    });
    expect(await after('PostToolUseFailure', 'toolu_failed')).toEqual({});
  });
});
