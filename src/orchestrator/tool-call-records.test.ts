import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import type { AgentJob } from './execute.js';
import { streamRecorder } from './tool-call-records.js';

const temp = useTempStore('baton-tool-call-records-');

describe('streamRecorder', () => {
  it("redacts the values of servers a worker's gateway serves in the spec's place, though the spec no longer holds them", async () => {
    const served = 'served-env-secret-42f1';
    const job: AgentJob = {
      runId: 'r1',
      phaseId: 'p',
      agentId: 'a1',
      tenant: 'default',
      priority: 0,
      // The shared server as the worker hands it to claude: its gateway's URL, not its env.
      spec: {
        agentId: 'a1',
        sessionId: 's1',
        prompt: 'work',
        cwd: '/tmp',
        mcpServers: { db: { type: 'http', url: 'http://127.0.0.1:1/mcp/db' } },
      },
      env: {},
      retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1 },
      timeoutMs: 1000,
      servedMcpSecrets: [served],
    };
    const record = streamRecorder(job, { ...job.spec, env: {} }, 0, { store: temp.store });
    await record.toolCall(
      { attempt: 1, resumed: false, startedAt: 1 },
      {
        seq: 1,
        toolUseId: 'toolu_1',
        name: 'mcp__db__query',
        server: 'db',
        turn: 1,
        startedAt: 1,
        finishedAt: 2,
        durationMs: 1,
        status: 'error',
        inputPreview: '{}',
        outputPreview: `auth failed with token ${served}`,
      },
    );
    const [call] = await temp.store.listToolCalls('r1', 'a1');
    expect(call?.outputPreview).toBe('auth failed with token [REDACTED]');
  });
});
