export type { AgentRuntime, AgentSpec, AttemptError, AttemptObserver, AttemptOutcome } from './runtime.js';
export { ClaudeRuntime, sessionTranscriptExists, stopLeftoverAgent } from './claude-runtime.js';
export type { ClaudeRuntimeOptions } from './claude-runtime.js';
export { FakeRuntime } from './fake-runtime.js';
export type { FakeBehaviour, FakeStep } from './fake-runtime.js';
export { AgentAbort, classifyResult } from './classify.js';
export { continuationPrompt, defaultRetryOptions, runAgent } from './runner.js';
export type {
  AgentResult,
  AgentResultStatus,
  AgentRunHooks,
  AgentRunOptions,
  AttemptInfo,
  RetryOptions,
} from './runner.js';
export { agentEnvironment } from './environment.js';
export { ruleDenialMessage, rulesOnlyGate } from './tool-gate.js';
export type { GatedToolCall, ToolGate, ToolVerdict } from './tool-gate.js';
