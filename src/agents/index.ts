export type { AgentRuntime, AgentSpec, AttemptOutcome } from './runtime.js';
export { ClaudeRuntime, sessionTranscriptExists, stopLeftoverAgent } from './claude-runtime.js';
export { FakeRuntime } from './fake-runtime.js';
export type { FakeBehaviour } from './fake-runtime.js';
export { continuationPrompt, runWithRetries } from './runner.js';
export type { AgentResult, AttemptInfo, RetryHooks, RetryOptions } from './runner.js';
export { agentEnvironment } from './environment.js';
export { ruleDenialMessage } from './tool-gate.js';
export type { GatedToolCall, ToolGate, ToolVerdict } from './tool-gate.js';
