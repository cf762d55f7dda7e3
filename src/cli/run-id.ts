import type { BatonConfig } from '../config/index.js';
import { BatonError, ErrorCodes } from '../core/index.js';
import type { Store } from '../store/index.js';

/** The shortest start of a run id taken for the whole: the 8 characters branch names and `baton approvals` show. */
const SHORTEST_PREFIX = 8;

/**
 * The run a user names: its id, or the start of one (`5c9b515c`, as in `baton/5c9b515c/<agent>`). A
 * start that several runs share is refused naming them; one that no run has is passed on unchanged,
 * for the command to report as an unknown run.
 */
export async function fullRunId(store: Store, given: string): Promise<string> {
  if (given.length < SHORTEST_PREFIX || (await store.getRun(given))) return given;
  const matching = (await store.listRuns()).filter((run) => run.id.startsWith(given)).map((run) => run.id);
  if (matching.length > 1)
    throw new BatonError(
      ErrorCodes.usage,
      `Run id ${given} is the start of ${matching.length} runs (${matching.join(', ')}); give more of it.`,
    );
  return matching[0] ?? given;
}

/**
 * Where a command looked for runs: runs live in the data_dir of the directory `baton run` started in,
 * so a command given from elsewhere finds none, and should say where it looked.
 */
export const storeWhere = (config: BatonConfig): string =>
  config.redis_url ? 'in the Redis store (redis_url)' : `in ${config.data_dir}`;
