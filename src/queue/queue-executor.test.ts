import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { requireProgram } from '../../test/support/programs.js';
import { useRedisStore } from '../../test/support/redis.js';
import { FakeRuntime } from '../agents/index.js';
import { executorContract } from '../orchestrator/executor.contract.js';
import { QueueExecutor, startAgentWorker } from './queue.js';

/** The key orchestrator and workers share to seal jobs' secrets. */
const jobKey = randomBytes(32);

describe.runIf(requireProgram('redis-server'))('queue executor', () => {
  const redis = useRedisStore();

  executorContract('queue (real redis-server, an in-process baton worker)', async (behaviour) => {
    const runtime = new FakeRuntime(behaviour);
    const executor = await QueueExecutor.open({ redisUrl: redis.server.url, store: redis.store, jobKey });
    const worker = await startAgentWorker({
      redisUrl: redis.server.url,
      store: redis.store,
      jobKey,
      runtime,
      env: { PATH: '/usr/bin' },
      concurrency: 1,
      stallTimeoutMs: 3000,
    });
    return {
      executor,
      store: redis.store,
      calls: () => runtime.calls,
      close: async () => {
        await worker.stop();
        await executor.close();
      },
    };
  });
});
