export { decideToolCall, describeToolCall } from './match.js';
export type { PermissionDecision, ToolCall } from './match.js';
export { mergePermissions, permissionsSchema, ruleSchema } from './rules.js';
export type { PermissionPolicy, PermissionsInput } from './rules.js';
