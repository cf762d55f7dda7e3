import { randomUUID } from 'node:crypto';
import { ErrorCodes } from '../core/index.js';
import { FakeRuntime } from './fake-runtime.js';
import { describeRuntimeContract, type ContractScenario } from './runtime.contract.js';

describeRuntimeContract('fake', async () => {
  const runtime = new FakeRuntime((spec) => {
    switch (spec.prompt as ContractScenario) {
      case 'text':
        return { text: 'contract-ok', usage: { inputTokens: 10, outputTokens: 2 } };
      case 'structured':
        return { text: '{"answer":"forty-two"}', structured: { answer: 'forty-two' } };
      case 'rate-limited':
        return { error: { code: ErrorCodes.modelRateLimited, message: '429', transient: true } };
      case 'invalid-request':
        return { error: { code: ErrorCodes.modelInvalidRequest, message: '400', transient: false } };
      case 'slow':
        return { delayMs: 60_000, text: 'too late' };
    }
  });
  return {
    runtime,
    spec: (scenario) => ({ agentId: scenario, sessionId: randomUUID(), prompt: scenario, cwd: process.cwd(), env: {} }),
    cleanup: async () => {},
  };
});
