import { describe, expect, it } from 'vitest';
import { agentEnvironment } from './environment.js';

describe("an agent's environment", () => {
  it("is Baton's, but for the job key that seals every tenant's jobs; the workflow's extras on top", () => {
    const env = agentEnvironment(
      { HOME: '/home/me', ANTHROPIC_API_KEY: 'sk-ant-key', BATON_JOB_SECRET: 'seals-every-job-0123456789' },
      { TASK_FLAG: '1' },
    );
    expect(env).toMatchObject({ HOME: '/home/me', ANTHROPIC_API_KEY: 'sk-ant-key', TASK_FLAG: '1' });
    expect(env).toMatchObject({ CLAUDE_CODE_MAX_RETRIES: '0' });
    expect(env).not.toHaveProperty('BATON_JOB_SECRET');
  });
});
