export {
  BatonError,
  ErrorCodes,
  EXIT_WAITING_FOR_APPROVAL,
  inputErrorCodes,
  isBatonError,
  toErrorInfo,
} from './errors.js';
export type { ErrorCode, ErrorInfo } from './errors.js';
export { TypedEmitter } from './events.js';
export { systemClock } from './clock.js';
export {
  listProcesses,
  processAlive,
  processAliveSince,
  processGroupAlive,
  processGroupExited,
  killProcessesWithEnvEntry,
  processesWithEnvEntry,
  signalProcessGroup,
} from './process-alive.js';
export type { Clock } from './clock.js';
export { formatFieldPath, parseYamlWithSchema, readUserFile, validateData } from './validate.js';
export type { PathProblem } from './validate.js';
export { addUsage, emptyUsage, estimatedCostOf, serverRunHealthSchema } from './values.js';
export { listPriceUsd, priceOf, unknownModelPrice } from './prices.js';
export type { ModelPrice } from './prices.js';
export { formatUsd } from './money.js';
export type {
  AgentOutput,
  AgentTotals,
  ModelTurn,
  ServerRunHealth,
  ToolCall,
  ToolPermission,
  Usage,
} from './values.js';
export type { ApprovalDecision, ApprovalRecord, ApprovalStatus, ListApprovalsOptions } from './approval.js';
export {
  isEnvReference,
  isSecretName,
  REDACTED,
  redactNamedValues,
  redactShapes,
  secretArgumentValues,
  SecretRedactor,
} from './redact.js';
export { neutralizeControls, neutralizeControlsDeep } from './terminal-text.js';
export {
  argumentText,
  checkTenantName,
  day,
  durationMs,
  hour,
  intRange,
  maxEnvValueBytes,
  maxIdLength,
  maxTimerMs,
  minute,
  processEnvSchema,
  second,
  hostNameSchema,
  tenantNameSchema,
  usdAmount,
  wrongTypeSays,
} from './limits.js';
export { checkDataDirPath, createPrivateFile, makeDataDir, makeDirs, unusableDataDir } from './data-dir.js';
