export { BatonError, ErrorCodes, inputErrorCodes, isBatonError, toErrorInfo } from './errors.js';
export type { ErrorCode, ErrorInfo } from './errors.js';
export { TypedEmitter } from './events.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { formatFieldPath, parseYamlWithSchema, readUserFile, validateData } from './validate.js';
export type { ParseOptions, PathProblem } from './validate.js';
export { addUsage, emptyUsage } from './values.js';
export type { AgentOutput, AgentTotals, Usage } from './values.js';
export {
  argumentText,
  day,
  durationMs,
  hour,
  intRange,
  maxEnvTotalBytes,
  maxEnvValueBytes,
  maxIdLength,
  maxTimerMs,
  minute,
  processEnvSchema,
  second,
  usdAmount,
} from './limits.js';
