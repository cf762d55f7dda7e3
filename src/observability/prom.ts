import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

let loaded: typeof PromClient | undefined;

/**
 * prom-client, loaded when the first metrics object is made (≈ 40 ms of CPU): a run without
 * `enable_metrics`, and every other command, does not pay for it. It is CommonJS, so it loads in step.
 */
export function promClient(): typeof PromClient {
  loaded ??= createRequire(import.meta.url)('prom-client') as typeof PromClient;
  return loaded;
}
