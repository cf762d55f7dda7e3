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

  it('hides secret-named values in previews, as the audit trail does: a command line, a file the tool printed', async () => {
    const job: AgentJob = {
      runId: 'r2',
      phaseId: 'p',
      agentId: 'a2',
      tenant: 'default',
      priority: 0,
      spec: { agentId: 'a2', sessionId: 's2', prompt: 'work', cwd: '/tmp' },
      env: {},
      retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1 },
      timeoutMs: 1000,
    };
    const record = streamRecorder(job, { ...job.spec, env: {} }, 0, { store: temp.store });
    await record.toolCall(
      { attempt: 1, resumed: false, startedAt: 1 },
      {
        seq: 1,
        toolUseId: 'toolu_2',
        name: 'Bash',
        turn: 1,
        startedAt: 1,
        finishedAt: 2,
        durationMs: 1,
        status: 'ok',
        inputPreview: JSON.stringify({ command: 'cat creds.env; echo PGPASSWORD=inlinepw-77 --api-key flagkey-66' }),
        outputPreview: 'DB_PASSWORD=filepw-1234567\n{"apiKey": "jsonkey-999999"}\nmax_retries=3',
      },
    );
    const [call] = await temp.store.listToolCalls('r2', 'a2');
    expect(call?.inputPreview).toBe(
      JSON.stringify({ command: 'cat creds.env; echo PGPASSWORD=[REDACTED] --api-key [REDACTED]' }),
    );
    expect(call?.outputPreview).toBe('DB_PASSWORD=[REDACTED]\n{"apiKey": "[REDACTED]"}\nmax_retries=3');
  });
});
