export type { AgentRuntime, AgentSpec, AttemptError, AttemptObserver, AttemptOutcome } from './runtime.js';
export { ClaudeRuntime, sessionTranscriptExists, stopLeftoverAgent } from './claude-runtime.js';
export type { ClaudeRuntimeOptions } from './claude-runtime.js';
export { FakeRuntime } from './fake-runtime.js';
export type { FakeBehaviour, FakeStep } from './fake-runtime.js';
export { classifyResult } from './classify.js';
export { continuationPrompt, defaultRetryOptions, runWithRetries } from './runner.js';
export type {
  AgentResult,
  AgentResultStatus,
  RetryHooks,
  RunWithRetriesOptions,
  AttemptInfo,
  RetryOptions,
} from './runner.js';
export { agentEnvironment } from './environment.js';
