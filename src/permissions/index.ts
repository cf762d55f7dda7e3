export { decideToolCall, describeToolCall } from './match.js';
export type { PermissionDecision, ToolCall } from './match.js';
export { DEFAULT_APPROVAL_TIMEOUT_MS, mergePermissions, permissionsSchema } from './rules.js';
export type { PermissionPolicy, PermissionsInput } from './rules.js';
