import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/cli.js';
import type { ServerRunHealth } from '../core/index.js';
import type { McpLaunchConfig } from './catalog.js';
import { WorkerGateways, type WorkerGatewaysOptions } from './worker-gateways.js';

const faultServer = fileURLToPath(new URL('../../test/fixtures/fault-mcp-server.mjs', import.meta.url));
const servers: Record<string, McpLaunchConfig> = {
  fault: { command: process.execPath, args: [faultServer] },
  own: { command: process.execPath, args: [faultServer, '--name', 'own'] },
  remote: { type: 'http', url: 'http://127.0.0.1:1/mcp' },
};

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function gateways(ended: Set<string>, reportHealth?: WorkerGatewaysOptions['reportHealth']): WorkerGateways {
  const made = new WorkerGateways({ runEnded: async (runId) => ended.has(runId), pollMs: 20, reportHealth });
  cleanups.push(() => made.close());
  return made;
}

async function call(config: McpLaunchConfig | undefined, tool = 'add'): Promise<unknown> {
  if (!config || !('url' in config)) throw new Error('expected an http config');
  const client = new Client({ name: 'agent', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: config.headers } }),
  );
  try {
    return await client.callTool({ name: tool, arguments: { a: 2, b: 3 } }, undefined, { timeout: 30_000 });
  } finally {
    await client.close();
  }
}

describe('WorkerGateways', () => {
  it("shares a run's server among its jobs, keeps other servers as given, and stops it once the run has ended", async () => {
    const ended = new Set<string>();
    const hosted = gateways(ended);
    const first = await hosted.lease('run-a', servers, ['fault']);
    const second = await hosted.lease('run-a', servers, ['fault']);
    expect(first.servers.fault).toEqual(second.servers.fault);
    expect(first.servers.own).toEqual(servers.own);
    expect(first.servers.remote).toEqual(servers.remote);
    await expect(call(first.servers.fault)).resolves.toMatchObject({ content: [{ text: '5' }] });
    await expect(call(second.servers.fault)).resolves.toMatchObject({ content: [{ text: '5' }] });
    expect(await hosted.pids()).toHaveLength(1);

    await first.release();
    await second.release();
    expect(await hosted.pids()).toHaveLength(1); // the run goes on: a later phase may use it again
    ended.add('run-a');
    await waitFor(async () => (await hosted.pids()).length === 0 || undefined, 5000, 'the server to stop');
  });

  it("the last job of a run that has ended (a cancel, say) stops the run's servers before its release resolves", async () => {
    const ended = new Set<string>();
    const hosted = gateways(ended);
    const lease = await hosted.lease('run-c', servers, ['fault']);
    await call(lease.servers.fault);
    ended.add('run-c');
    await lease.release();
    expect(await hosted.pids()).toEqual([]);
  });

  it("reports each run's servers: on lease, when an agent is done here, and once more when the gateway has stopped them", async () => {
    const ended = new Set<string>();
    const reports: Array<{ runId: string; health: ServerRunHealth[] }> = [];
    const hosted = gateways(ended, async (runId, health) => void reports.push({ runId, health }));
    const lease = await hosted.lease('run-a', servers, ['fault']);
    expect(reports.at(-1)).toEqual({ runId: 'run-a', health: [expect.objectContaining({ name: 'fault', calls: 0 })] });
    await call(lease.servers.fault);
    await call(lease.servers.fault);
    await lease.release();
    const done = { name: 'fault', scope: 'run', breaker: 'closed', calls: 2, failures: 0, crashes: 0, restarts: 0 };
    expect(reports.at(-1)).toEqual({
      runId: 'run-a',
      health: [expect.objectContaining({ ...done, running: true })],
    });
    const before = reports.length;
    ended.add('run-a');
    await waitFor(() => reports.length > before || undefined, 5000, 'the report at stop');
    // The last report comes once the server has stopped, and says so: the orchestrator waits for it.
    expect(await hosted.pids()).toEqual([]);
    expect(reports.at(-1)).toEqual({
      runId: 'run-a',
      health: [expect.objectContaining({ ...done, running: false })],
    });
  });

  it("fails a call its server leaves unanswered within mcp_call_timeout_ms, and reports it among the run's failures", async () => {
    const reports: ServerRunHealth[][] = [];
    const hosted = new WorkerGateways({
      runEnded: async () => false,
      callTimeoutMs: 500,
      reportHealth: async (_, health) => void reports.push(health),
    });
    cleanups.push(() => hosted.close());
    const stuck = { stuck: { command: process.execPath, args: [faultServer, '--hang-tool'] } };
    const lease = await hosted.lease('run-h', stuck, ['stuck']);
    await expect(call(lease.servers.stuck, 'hang')).rejects.toThrow(/"stuck" did not answer tools\/call within 500 ms/);
    await lease.release();
    expect(reports.at(-1)).toEqual([expect.objectContaining({ name: 'stuck', calls: 1, failures: 1, crashes: 0 })]);
  });

  it("opens a shared server's breaker after three crashes in a row: the next call fails at once, naming it; reported open", async () => {
    const reports: ServerRunHealth[][] = [];
    const hosted = new WorkerGateways({
      runEnded: async () => false,
      reportHealth: async (_, health) => void reports.push(health),
      breaker: { halfOpenAfterMs: 60_000 },
    });
    cleanups.push(() => hosted.close());
    const dying = { dying: { command: process.execPath, args: [faultServer, '--crash-after', '0'] } };
    const lease = await hosted.lease('run-b', dying, ['dying']);
    for (let crash = 1; crash <= 3; crash++)
      await expect(call(lease.servers.dying)).rejects.toThrow(/Connection closed/);
    await expect(call(lease.servers.dying)).rejects.toThrow(/"dying" failed repeatedly; its circuit breaker is open/);
    await lease.release();
    expect(reports.at(-1)).toEqual([
      expect.objectContaining({ name: 'dying', breaker: 'open', crashes: 3, calls: 4, failures: 4 }),
    ]);
  });

  it("bounds a run's calls by the run's own mcp_call_timeout_ms, carried by its job, not the worker's", async () => {
    const hosted = new WorkerGateways({ runEnded: async () => false, callTimeoutMs: 60_000 });
    cleanups.push(() => hosted.close());
    const stuck = { stuck: { command: process.execPath, args: [faultServer, '--hang-tool'] } };
    const lease = await hosted.lease('run-t', stuck, ['stuck'], { timeouts: { startMs: 10_000, callMs: 500 } });
    await expect(call(lease.servers.stuck, 'hang')).rejects.toThrow(/"stuck" did not answer tools\/call within 500 ms/);
    await lease.release();
  });

  it('gives each run its own gateway and secret, and stops them all on close', async () => {
    const hosted = gateways(new Set());
    const a = await hosted.lease('run-a', servers, ['fault']);
    const b = await hosted.lease('run-b', servers, ['fault']);
    const header = (config: McpLaunchConfig | undefined) => (config && 'url' in config ? config.headers : undefined);
    expect(header(a.servers.fault)).not.toEqual(header(b.servers.fault));
    await call(a.servers.fault);
    await call(b.servers.fault);
    expect(await hosted.pids()).toHaveLength(2);
    await hosted.close();
    expect(await hosted.pids()).toEqual([]);
    // A job that arrives after shutdown keeps its servers as given.
    expect((await hosted.lease('run-c', servers, ['fault'])).servers).toEqual(servers);
  });
});
