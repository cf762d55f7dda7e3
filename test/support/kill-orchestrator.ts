import type { ChildProcess } from 'node:child_process';
import type { Store } from '../../src/store/index.js';
import type { CliResult } from './cli.js';
import { waitFor } from './cli.js';
import type { ScriptedModel } from './scripted-model.js';

/**
 * SIGKILLs a `baton run` orchestrator once `ready` sees what the test waits for (observable state,
 * never a sleep), as a crash would; resolves with that value once the process is gone.
 */
export async function killOrchestratorWhen<T>(
  orchestrator: ChildProcess & { output: Promise<CliResult> },
  ready: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 120_000,
): Promise<T> {
  const value = await waitFor(ready, timeoutMs, what);
  orchestrator.kill('SIGKILL');
  await orchestrator.output;
  return value;
}

/** The newest run's id once each of `agentIds` has sent the scripted model a request (it is mid-run). */
export async function newestRunAsking(
  store: Store,
  model: Pick<ScriptedModel, 'server'>,
  agentIds: string[],
): Promise<string | undefined> {
  const [run] = await store.listRuns({ limit: 1 });
  if (!run) return undefined;
  for (const id of agentIds) {
    const agent = await store.getAgent(run.id, id);
    if (!agent || model.server.messageRequests(agent.sessionId).length === 0) return undefined;
  }
  return run.id;
}
