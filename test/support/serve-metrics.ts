import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startCli, waitFor } from './cli.js';

/** `baton serve` until its /metrics has been read once. */
export async function scrapeServe(env: NodeJS.ProcessEnv): Promise<string> {
  const serve = startCli(['serve', '--port', '0'], { env });
  try {
    const url = await waitFor(() => /Metrics at (http:\/\/\S+)/.exec(serve.stdoutSoFar())?.[1], 20_000, 'metrics URL');
    // Like every route of `baton serve`, /metrics needs the dashboard's token (Prometheus: `authorization`).
    expect((await fetch(url)).status).toBe(401);
    const token = readFileSync(join(String(env.BATON_DATA_DIR), 'dashboard.token'), 'utf8').trim();
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(response.headers.get('content-type')).toContain('text/plain');
    return await response.text();
  } finally {
    serve.kill('SIGTERM');
    await serve.output;
  }
}
