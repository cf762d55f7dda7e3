import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { ServerRunHealth } from '../core/index.js';
import {
  formatRunHealth,
  mergeRunHealth,
  ServerTraffic,
  untilWorkersStopServers,
  workerGoneHere,
} from './run-health.js';

const health = (name: string, extra: Partial<ServerRunHealth> = {}): ServerRunHealth => ({
  name,
  scope: 'run',
  breaker: 'closed',
  calls: 0,
  failures: 0,
  crashes: 0,
  restarts: 0,
  ...extra,
});

describe('ServerTraffic', () => {
  it('counts tool calls (not listings), failures, crashes and restarts, keeps the last error and the median latency', () => {
    const traffic = new ServerTraffic();
    for (const latencyMs of [4, 1, 3])
      traffic.recordCall({ server: 'calc', method: 'tools/call', ok: true, latencyMs });
    traffic.recordCall({ server: 'calc', method: 'tools/list', ok: true, latencyMs: 100 }); // not a tool call
    traffic.recordCall({ server: 'calc', method: 'tools/call', ok: false, latencyMs: 9, error: 'Connection closed' });
    traffic.recordLifecycle({ server: 'calc', state: 'crashed' });
    traffic.recordLifecycle({ server: 'calc', state: 'restarted' });
    expect(traffic.health('calc', 'run', 'half-open')).toEqual({
      ...health('calc', { breaker: 'half-open', calls: 4, failures: 1, crashes: 1, restarts: 1 }),
      p50Ms: 3,
      lastError: 'Connection closed',
    });
    expect(new ServerTraffic().health('idle', 'agent', 'closed')).toEqual(health('idle', { scope: 'agent' }));
  });
});

describe('mergeRunHealth', () => {
  it('adds up each server over its sources, keeps the worst breaker and slowest p50, and names the sources', () => {
    const merged = mergeRunHealth([
      {
        ...health('memory', { calls: 5, failures: 1, crashes: 1, restarts: 1, p50Ms: 2, lastError: 'exited' }),
        source: 'box:7',
      },
      { ...health('memory', { calls: 3, p50Ms: 1 }), source: 'box:9' },
      { ...health('fetch', { scope: 'remote' }), source: 'orchestrator' },
      { ...health('memory', { breaker: 'open' }), source: 'orchestrator' },
    ]);
    expect(merged).toEqual([
      { ...health('fetch', { scope: 'remote' }), sources: ['orchestrator'] },
      {
        ...health('memory', { breaker: 'open', calls: 8, failures: 1, crashes: 1, restarts: 1, p50Ms: 2 }),
        lastError: 'exited',
        sources: ['box:7', 'box:9', 'orchestrator'],
      },
    ]);
    expect(mergeRunHealth([])).toEqual([]);
  });

  it('leaves out whether a worker still hosts the server', () => {
    const [memory] = mergeRunHealth([
      { ...health('memory', { running: true }), source: 'box:7' },
      { ...health('memory', { running: false }), source: 'box:9' },
    ]);
    expect(memory).toEqual({ ...health('memory'), sources: ['box:7', 'box:9'] });
  });

  it("keeps the orchestrator's scope for a server the workers report as shared", () => {
    const [files] = mergeRunHealth([
      { ...health('files'), source: 'box:7' },
      { ...health('files', { scope: 'agent' }), source: 'orchestrator' },
    ]);
    expect(files).toMatchObject({ scope: 'agent', sources: ['box:7', 'orchestrator'] });
  });

  it('prints one line per server with its sources', () => {
    const text = formatRunHealth(mergeRunHealth([{ ...health('memory', { calls: 2, p50Ms: 1.25 }), source: 'box:7' }]));
    expect(text.split('\n')).toEqual([
      'MCP servers:',
      '  memory         run    breaker closed    2 call(s), 0 failed  p50 1.3 ms  (box:7)',
    ]);
  });
});

describe('untilWorkersStopServers', () => {
  it('waits until no worker reports a server running, and names the workers still hosting one at the deadline', async () => {
    const records = [
      { ...health('memory', { running: true }), source: 'box:7' },
      { ...health('files', { running: true }), source: 'box:7' },
      { ...health('memory', { running: false }), source: 'box:9' },
      { ...health('memory'), source: 'orchestrator' },
    ];
    let asked = 0;
    const stopping = async () => {
      // box:7 stops its two servers after a few polls.
      if (++asked === 3) for (const record of records) record.running &&= false;
      return records;
    };
    expect(await untilWorkersStopServers(stopping, { timeoutMs: 5000, pollMs: 5 })).toEqual([]);
    expect(asked).toBe(3);

    const died = [
      { ...health('memory', { running: true }), source: 'box:7' },
      { ...health('files', { running: true }), source: 'box:7' },
      { ...health('memory', { running: true }), source: 'box:8' },
    ];
    const started = Date.now();
    const alive = { gone: () => false };
    expect(await untilWorkersStopServers(async () => died, { timeoutMs: 60, pollMs: 5, ...alive })).toEqual([
      'box:7',
      'box:8',
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
  });

  it('does not wait for a worker that has died: it never reports again', async () => {
    const records = [
      { ...health('memory', { running: true }), source: 'box:7' },
      { ...health('memory', { running: true }), source: 'box:8' },
    ];
    const gone = (source: string) => source === 'box:7';
    // box:8 lives and still hosts its server at the deadline: it alone is named.
    expect(await untilWorkersStopServers(async () => records, { timeoutMs: 50, pollMs: 5, gone })).toEqual(['box:8']);
    // Once box:8 has stopped its server, the dead box:7's last report does not hold the run's end.
    records[1]!.running = false;
    expect(await untilWorkersStopServers(async () => records, { timeoutMs: 60_000, pollMs: 5, gone })).toEqual([]);
  });
});

describe('workerGoneHere', () => {
  it('tells a dead worker of this host by its pid, and never guesses about another host', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    expect(workerGoneHere(`${hostname()}:${child.pid}`)).toBe(true);
    expect(workerGoneHere(`${hostname()}:${process.pid}`)).toBe(false);
    expect(workerGoneHere(`elsewhere.example:${child.pid}`)).toBe(false);
    expect(workerGoneHere('orchestrator')).toBe(false);
  });
});
