import { FakeRuntime } from '../agents/index.js';
import { useTempStore } from '../../test/support/temp-store.js';
import { executorContract } from './executor.contract.js';
import { LocalExecutor } from './execute.js';

const temp = useTempStore('baton-executor-');

executorContract('local', async (behaviour) => {
  const runtime = new FakeRuntime(behaviour);
  return {
    executor: new LocalExecutor({ store: temp.store, runtime, env: { PATH: '/usr/bin' } }),
    store: temp.store,
    calls: () => runtime.calls,
    close: () => runtime.close(),
  };
});
