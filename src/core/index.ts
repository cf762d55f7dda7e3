export { BatonError, ErrorCodes, inputErrorCodes, isBatonError, toErrorInfo } from './errors.js';
export type { ErrorCode, ErrorInfo } from './errors.js';
export { TypedEmitter } from './events.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { formatFieldPath, parseYamlWithSchema, readUserFile, validateData } from './validate.js';
export { addUsage, emptyUsage } from './values.js';
export type { AgentOutput, AgentTotals, ToolCall, ToolPermission, Usage } from './values.js';
