/**
 * Every error Baton raises on purpose carries a stable `code`, a message a user can act on,
 * and the original `cause`. The CLI prints `message` and `code`, never a stack (unless --debug).
 */
export const ErrorCodes = {
  /** Config file or BATON_* override is invalid. */
  configInvalid: 'BATON_CONFIG_INVALID',
  /** Workflow file is unreadable, not YAML, or fails validation. */
  workflowInvalid: 'BATON_WORKFLOW_INVALID',
  /** A model-server script is invalid. */
  scriptInvalid: 'BATON_SCRIPT_INVALID',
  /** An MCP server entry is invalid, or names an environment variable that is not set. */
  mcpConfigInvalid: 'BATON_MCP_CONFIG_INVALID',
  /** An MCP server an agent needs did not answer initialize + tools/list. */
  mcpUnavailable: 'BATON_MCP_UNAVAILABLE',
  /** Two writers updated the same context key; the later one must re-read and retry. */
  contextConflict: 'BATON_CONTEXT_CONFLICT',
  /** A stored context entry does not match its checksum. */
  contextCorrupt: 'BATON_CONTEXT_CORRUPT',
  /** A context export file is invalid. */
  contextImportInvalid: 'BATON_CONTEXT_IMPORT_INVALID',
  /** Command-line usage error (unknown run id, bad flag value). */
  usage: 'BATON_USAGE',
  /** The store could not be opened or written. */
  store: 'BATON_STORE',
  /** redis_url is set but Redis did not answer (down, wrong host or port, wrong password). */
  redisUnavailable: 'BATON_REDIS_UNAVAILABLE',
  /** `baton migrate` found a record in the target that differs from the source's; nothing was written. */
  migrateConflict: 'BATON_MIGRATE_CONFLICT',
  /** After `baton migrate` copied everything, the target did not read back the same as the source. */
  migrateMismatch: 'BATON_MIGRATE_MISMATCH',
  /** The model answered 429. */
  modelRateLimited: 'BATON_MODEL_RATE_LIMITED',
  /** The model answered 529 / overloaded. */
  modelOverloaded: 'BATON_MODEL_OVERLOADED',
  /** The model answered 5xx. */
  modelServerError: 'BATON_MODEL_SERVER_ERROR',
  /** The connection to the model dropped or could not be made. */
  modelConnection: 'BATON_MODEL_CONNECTION',
  /** The model rejected the request (400, 404, 413 …). */
  modelInvalidRequest: 'BATON_MODEL_INVALID_REQUEST',
  /** The model rejected the credentials (401, 403). */
  modelAuth: 'BATON_MODEL_AUTH',
  /** The agent process exited without a result. */
  agentCrashed: 'BATON_AGENT_CRASHED',
  /** The agent ran past its timeout and was killed. */
  agentTimeout: 'BATON_AGENT_TIMEOUT',
  /** The agent spent its USD budget. */
  agentBudgetExceeded: 'BATON_AGENT_BUDGET_EXCEEDED',
  /** The agent used all its turns without finishing. */
  agentMaxTurns: 'BATON_AGENT_MAX_TURNS',
  /** The agent finished with an error the model or tools reported. */
  agentFailed: 'BATON_AGENT_FAILED',
  /** The run spent its budgetUsd: every agent still running was stopped. */
  runBudgetExceeded: 'BATON_RUN_BUDGET_EXCEEDED',
  /** The tenant has spent its daily budget: the run was not started. */
  tenantBudgetExceeded: 'BATON_TENANT_BUDGET_EXCEEDED',
  /** The run or agent was cancelled by the user. */
  cancelled: 'BATON_CANCELLED',
  /** An agent was skipped because a phase it depends on failed. */
  dependencyFailed: 'BATON_DEPENDENCY_FAILED',
  /** A phase's `when:` condition was not met, so it did not run (its dependents still may). */
  conditionFalse: 'BATON_CONDITION_FALSE',
  /** A planner returned a plan Baton cannot run (bad task ids, unknown dependencies, a cycle). */
  planInvalid: 'BATON_PLAN_INVALID',
  /** `baton run --resume` was given a run that cannot be continued. */
  runNotResumable: 'BATON_RUN_NOT_RESUMABLE',
  /** The orchestrator running an attempt died (killed, crashed) before the attempt ended. */
  orchestratorLost: 'BATON_ORCHESTRATOR_LOST',
  /** A git worktree for an agent could not be created or committed. */
  worktree: 'BATON_WORKTREE',
  /** A knowledge-graph input (question, fact, directory to build from) is invalid. */
  knowledgeInvalid: 'BATON_KNOWLEDGE_INVALID',
  /** The knowledge graph (knowledge.db or the Neo4j server) could not be opened, read or written. */
  knowledgeGraph: 'BATON_KNOWLEDGE_GRAPH',
  /** A Context Bridge input (port, host, directory, bridge URL) is invalid. */
  bridgeInvalid: 'BATON_BRIDGE_INVALID',
  /** The Context Bridge could not start (port taken), is not running, or refused the token. */
  bridgeUnavailable: 'BATON_BRIDGE_UNAVAILABLE',
  /** Something Baton did not expect went wrong (a bug, or a failure with no code of its own). */
  internal: 'BATON_INTERNAL',
  /** No stored run has the given id. */
  runNotFound: 'BATON_RUN_NOT_FOUND',
  /** A Context Bridge client sent a message over the size limit (wire reply code). */
  bridgeMessageTooLarge: 'BATON_BRIDGE_MESSAGE_TOO_LARGE',
  /** A Context Bridge client sent a message that is not JSON (wire reply code). */
  bridgeMalformedJson: 'BATON_BRIDGE_MALFORMED_JSON',
  /** A Context Bridge client sent JSON of the wrong shape (wire reply code). */
  bridgeMessageInvalid: 'BATON_BRIDGE_MESSAGE_INVALID',
  /** No stored session has the given id. */
  sessionNotFound: 'BATON_SESSION_NOT_FOUND',
  /** Merging a worktree phase's branches stopped: a conflict or failed verify under a `fail` policy, or git failed. */
  mergeFailed: 'BATON_MERGE_FAILED',
  /** A merge's `into` names a branch that exists and that this run did not create; Baton never overwrites it. */
  mergeBranchExists: 'BATON_MERGE_BRANCH_EXISTS',
  /** Nobody answered an approval request before its deadline: `onTimeout: fail` stopped the agent (or, at a phase gate, the run), or a gate was refused. */
  approvalTimeout: 'BATON_APPROVAL_TIMEOUT',
  /** A person denied a phase gate: the phase did not run, or its output was not passed on. */
  approvalDenied: 'BATON_APPROVAL_DENIED',
  /** `baton approve` / `baton deny` named a request that does not exist or was answered already. */
  approvalNotFound: 'BATON_APPROVAL_NOT_FOUND',
  /** `baton run --detach-on-wait` stopped: everything left to do waits for a person (exit 3). */
  waitingForApproval: 'BATON_WAITING_FOR_APPROVAL',
  /** `baton init` would overwrite (or shadow) a file that is already there, or its directory is a file; it writes nothing. */
  initExists: 'BATON_INIT_EXISTS',
  /** A model response went silent mid-stream for stream_idle_timeout_ms; retried, resuming the session. */
  modelStalled: 'BATON_MODEL_STALLED',
  /** The disk holding data_dir is full: the run was stopped and can be resumed once there is space. */
  diskFull: 'BATON_DISK_FULL',
  /** A backup file is not a sound Baton store (integrity or checksums fail); nothing was restored. */
  backupInvalid: 'BATON_BACKUP_INVALID',
  /** The run has no agent with the given id (`baton status <run> --agent <id>`). */
  agentNotFound: 'BATON_AGENT_NOT_FOUND',
  /** A worker cannot open a job's sealed secrets: its job key (job_secret or data_dir/job.key) differs from the orchestrator's. */
  jobKeyMismatch: 'BATON_JOB_KEY_MISMATCH',
  /** A planner planned more tasks for one generation than its phase's plan.maxTasks: none of them was run. */
  planTooLarge: 'BATON_PLAN_TOO_LARGE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class BatonError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BatonError';
    this.code = code;
  }
}

/** Errors that mean the user gave bad input: the CLI exits with 2 for these. */
export const inputErrorCodes: ReadonlySet<ErrorCode> = new Set([
  ErrorCodes.configInvalid,
  ErrorCodes.workflowInvalid,
  ErrorCodes.scriptInvalid,
  ErrorCodes.mcpConfigInvalid,
  ErrorCodes.contextImportInvalid,
  ErrorCodes.usage,
  ErrorCodes.knowledgeInvalid,
  ErrorCodes.bridgeInvalid,
  ErrorCodes.runNotResumable,
  ErrorCodes.runNotFound,
  ErrorCodes.sessionNotFound,
  ErrorCodes.approvalNotFound,
  ErrorCodes.initExists,
  ErrorCodes.backupInvalid,
  ErrorCodes.agentNotFound,
  ErrorCodes.jobKeyMismatch,
]);

/** `baton run --detach-on-wait`: the run stopped because what is left waits for a person; `--resume` it later. */
export const EXIT_WAITING_FOR_APPROVAL = 3;

export function isBatonError(error: unknown): error is BatonError {
  return error instanceof BatonError;
}

/** A plain, storable description of an error. */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
}

/** An error as stored: a BatonError keeps its code; anything else was not expected, so it is BATON_INTERNAL. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (isBatonError(error)) return { code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: ErrorCodes.internal, message };
}
