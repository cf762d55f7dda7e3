import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCli, waitFor } from './support/cli.js';
import { processesWithEnv } from './support/processes.js';
import { requireProgram } from './support/programs.js';
import { useRedisServer } from './support/redis.js';
import { useScriptedModel } from './support/scripted-model.js';

const model = useScriptedModel({ rules: [], default: { hang: true } }, 'baton-lifetime-');

describe('agent lifetime (real claude)', () => {
  it('the agents of an orchestrator killed with SIGKILL are gone within seconds, without --resume', async () => {
    const env = model.home.cliEnv(model.url, { BATON_DATA_DIR: join(model.home.dir, 'data-sqlite') });
    const workflow = join(model.home.dir, 'two.yaml');
    writeFileSync(
      workflow,
      'version: 1\nname: two\nphases:\n  - { id: work, agents: [{ id: task, count: 2, prompt: "Hanging task {{index}}" }] }\n',
    );
    const run = startCli(['run', workflow], { env });
    try {
      await waitFor(
        () => new Set(model.server.messageRequests().map((r) => r.sessionId)).size >= 2 || undefined,
        60_000,
        'both agents to ask the model',
      );
      expect(processesWithEnv(model.home.dir).length).toBeGreaterThanOrEqual(3); // the orchestrator and two claude
      run.kill('SIGKILL');
      await run.output;
      await waitFor(() => processesWithEnv(model.home.dir).length === 0 || undefined, 10_000, 'the agents to be gone');
    } finally {
      run.kill('SIGKILL');
    }
  }, 120_000);
});

describe.runIf(requireProgram('redis-server'))('worker lifetime (real redis-server and claude)', () => {
  const redis = useRedisServer();
  it('a worker that cannot start (its metrics port taken) exits 2 naming metrics_port, not held up by its Redis connection', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const env = model.home.cliEnv(model.url, {
      BATON_DATA_DIR: join(model.home.dir, 'data-port'),
      BATON_REDIS_URL: redis.server.url,
    });
    try {
      const worker = await startCli(['worker', '--metrics-port', String(port)], { env }).output;
      expect([worker.code, worker.stderr]).toEqual([2, expect.stringContaining('BATON_CONFIG_INVALID')]);
      expect(worker.stderr).toContain(`127.0.0.1:${port} (metrics_port)`);
    } finally {
      taken.close();
    }
  }, 60_000);

  it('a worker whose Redis has gone away still exits on SIGTERM, after its agents’ processes have exited', async () => {
    const env = model.home.cliEnv(model.url, {
      BATON_DATA_DIR: join(model.home.dir, 'data'),
      BATON_REDIS_URL: redis.server.url,
    });
    const workflow = join(model.home.dir, 'slow.yaml');
    writeFileSync(
      workflow,
      'version: 1\nname: slow\nphases:\n  - { id: work, agents: [{ id: task, prompt: "Slow task" }] }\n',
    );
    const asked = model.server.messageRequests().length;
    const worker = startCli(['worker', '--concurrency', '1'], { env });
    const run = startCli(['run', workflow], { env });
    try {
      await waitFor(() => worker.stderrSoFar().includes('▶') || undefined, 60_000, 'the worker to start the agent');
      await waitFor(
        () => model.server.messageRequests().length > asked || undefined,
        60_000,
        'the agent to ask the model',
      );
      run.kill('SIGKILL'); // the orchestrator is gone too: only the worker holds the agent
      await run.output;
      await redis.server.stop();
      worker.kill('SIGTERM');
      const { code } = await worker.output; // hung forever before: the test's timeout would fail it
      expect(code).toBe(0);
      expect(processesWithEnv(model.home.dir)).toEqual([]);
    } finally {
      worker.kill('SIGKILL');
      run.kill('SIGKILL');
    }
  }, 120_000);
});
