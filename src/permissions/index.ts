export { BUILT_IN_ALLOW, decideToolCall, describeToolCall } from './match.js';
export type { PermissionBehavior, PermissionDecision, ToolCall } from './match.js';
export {
  DEFAULT_APPROVAL_TIMEOUT_MS,
  mergePermissions,
  parseRule,
  permissionDefaultSchema,
  permissionsSchema,
} from './rules.js';
export type { PermissionPolicy, PermissionRule, PermissionsInput } from './rules.js';
export { splitShellCommands } from './shell.js';
