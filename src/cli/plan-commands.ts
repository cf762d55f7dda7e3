import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BatonConfig } from '../config/index.js';
import {
  checkRunnable,
  effectiveConfig,
  loadWorkflowWithMcp,
  withExistingStore,
  workflowSecrets,
} from '../api/index.js';
import { SecretRedactor } from '../core/index.js';
import type { Workflow } from '../workflow/index.js';
import { planWorkflow, renderPlan } from '../preview/index.js';
import { storeFileName } from '../store/index.js';
import type { Output } from './commands.js';
import type { StoreOptions } from '../api/index.js';

/** Whether there is a store to read history from; opening SQLite where there is none would create it. */
const storeExists = (config: BatonConfig): boolean =>
  config.redis_url !== undefined || existsSync(resolve(config.data_dir, storeFileName));

/** `baton plan <workflow>`: validates it and shows what it will do and cost, without running or writing anything. */
export async function planCommand(
  workflowPath: string,
  options: StoreOptions & { json?: boolean },
  output: Output,
): Promise<number> {
  const config = effectiveConfig(options);
  const loaded = loadWorkflowWithMcp(workflowPath, config);
  // What `baton run` would refuse before any agent starts, plan refuses too.
  const notes = await checkRunnable(loaded, config, { newRun: true });
  // Runs store the workflow with its secrets hidden: compared as stored, an unchanged one is "this exact workflow".
  const redactor = SecretRedactor.fromEnvironment(process.env, workflowSecrets(loaded, process.env));
  const asStored = (workflow: Workflow): unknown => redactor.redactDeep(workflow);
  const plan = storeExists(config)
    ? await withExistingStore(options, (store) => planWorkflow(loaded, config, store, asStored))
    : await planWorkflow(loaded, config);
  output.stdout.write(options.json ? `${JSON.stringify(plan)}\n` : renderPlan(plan));
  for (const note of notes) output.stderr.write(`note: ${note}\n`);
  return 0;
}
