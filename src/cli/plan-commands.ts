import { loadWorkflowWithMcp, withStore } from '../api/index.js';
import { planWorkflow, renderPlan } from '../preview/index.js';
import type { Output } from './commands.js';
import type { StoreOptions } from '../api/index.js';

/** `baton plan <workflow>`: validates it and shows what it will do and cost, without running anything. */
export async function planCommand(
  workflowPath: string,
  options: StoreOptions & { json?: boolean },
  output: Output,
): Promise<number> {
  return withStore(options, async (store, config) => {
    const loaded = loadWorkflowWithMcp(workflowPath, config);
    const plan = await planWorkflow(loaded, config, store);
    output.stdout.write(options.json ? `${JSON.stringify(plan)}\n` : renderPlan(plan));
    return 0;
  });
}
