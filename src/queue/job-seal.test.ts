import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../core/index.js';
import type { AgentJob } from '../orchestrator/index.js';
import { jobKey, jobKeyFile, openJob, sealJob } from './job-seal.js';

const job: AgentJob = {
  runId: 'run-1',
  phaseId: 'p',
  agentId: 'writer',
  tenant: 'default',
  priority: 0,
  spec: {
    agentId: 'writer',
    sessionId: '00000000-0000-4000-8000-000000000001',
    prompt: 'Write it down',
    cwd: '/work',
    mcpServers: { notes: { type: 'stdio', command: 'notes-mcp', env: { NOTES_KEY: 'mcp-secret-in-clear' } } },
  },
  env: { DEPLOY_KEY: 'agent-env-secret-in-clear' },
  sharedMcpServers: ['notes'],
  sharedMcpEnv: { CALLER_KEY: 'caller-env-secret-in-clear' },
  retry: { maxRetries: 0, baseDelayMs: 0, maxDelayMs: 0 },
  timeoutMs: 1000,
};

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-job-key-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('sealed queue jobs', () => {
  it('hold no secret in clear, and open to the job that was sealed', () => {
    const key = jobKey('a-shared-job-secret-of-at-least-32-chars', '/unused');
    const sealed = sealJob(job, key);
    const stored = JSON.stringify(sealed);
    expect(stored).not.toContain('mcp-secret-in-clear');
    expect(stored).not.toContain('agent-env-secret-in-clear');
    expect(stored).not.toContain('caller-env-secret-in-clear');
    expect(sealed.spec.prompt).toBe('Write it down'); // the rest stays readable for operators
    expect(openJob(JSON.parse(stored) as typeof sealed, key)).toEqual(job);
  });

  it('a worker with another key, a sealed part moved to another job, or a job from before sealing gets BATON_JOB_KEY_MISMATCH', () => {
    const sealed = sealJob(job, jobKey('orchestrator-secret-0123456789abcdef', '/unused'));
    expect(() => openJob(sealed, jobKey('another-worker-secret-0123456789abcd', '/unused'))).toThrow(
      expect.objectContaining({ code: ErrorCodes.jobKeyMismatch }),
    );
    const key = jobKey('orchestrator-secret-0123456789abcdef', '/unused');
    expect(() => openJob({ ...sealed, agentId: 'other' }, key)).toThrow(
      expect.objectContaining({ code: ErrorCodes.jobKeyMismatch }),
    );
    // A job an older Baton queued, with env and MCP servers in clear and no sealed part.
    const { sealed: _sealed, ...unsealed } = sealed;
    expect(() => openJob({ ...unsealed, env: job.env } as unknown as typeof sealed, key)).toThrow(
      expect.objectContaining({ code: ErrorCodes.jobKeyMismatch, message: expect.stringContaining('older Baton') }),
    );
  });

  it('without job_secret the key is a random file in data_dir, 0600, the same for every process sharing it', () => {
    const dataDir = tempDir();
    const first = jobKey(undefined, dataDir);
    expect(statSync(jobKeyFile(dataDir)).mode & 0o777).toBe(0o600);
    expect(jobKey(undefined, dataDir).equals(first)).toBe(true);
    expect(jobKey(undefined, tempDir()).equals(first)).toBe(false);
  });
});
