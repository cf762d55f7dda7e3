import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BridgeClient, readToken, startBridge } from '../src/bridge/index.js';
import { round, type BenchResult } from './harness.js';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

/**
 * Event fan-out through a real bridge (WebSocket, loopback, clients in this process): the latency of
 * one event reaching every subscriber, then a burst from every pusher at once, counted in deliveries.
 */
export async function bridgeFanout(): Promise<BenchResult> {
  const pushers = Number(process.env.BENCH_BRIDGE_PUSHERS ?? 20);
  const subscribers = Number(process.env.BENCH_BRIDGE_SUBSCRIBERS ?? 20);
  const perPusher = Number(process.env.BENCH_BRIDGE_EVENTS ?? 500);
  const total = pushers * perPusher;
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-bench-bridge-'));
  const bridge = await startBridge({ dataDir, port: 0, retainEvents: total });
  const endpoint = { url: bridge.url, token: readToken(dataDir) };
  const clients: BridgeClient[] = [];
  try {
    const senders = await Promise.all(Array.from({ length: pushers }, () => BridgeClient.connect(endpoint)));
    const receivers = await Promise.all(Array.from({ length: subscribers }, () => BridgeClient.connect(endpoint)));
    clients.push(...senders, ...receivers);
    await Promise.all(receivers.map((r) => r.subscribe({ types: ['terminal.output'] })));

    // Latency: one event at a time, the next once every subscriber has the previous one.
    const latencies: number[] = [];
    const rounds = Number(process.env.BENCH_BRIDGE_ROUNDS ?? 300);
    for (let n = 0; n < rounds; n++) {
      const sent = performance.now();
      const everyone = receivers.map(
        (r) =>
          new Promise<void>((done) => {
            const off = r.events.on('event', () => {
              off();
              done();
            });
          }),
      );
      senders[0]!.send({ type: 'terminal.output', data: 'ping' });
      await Promise.all(everyone);
      latencies.push(performance.now() - sent);
    }
    latencies.sort((a, b) => a - b);

    // Throughput: every pusher sends its events at once; done when every subscriber has all of them.
    const allDelivered = Promise.all(
      receivers.map(
        (r) =>
          new Promise<void>((done) => {
            let count = 0;
            r.events.on('event', () => {
              if (++count === total) done();
            });
          }),
      ),
    );
    const started = performance.now();
    for (let n = 0; n < perPusher; n++) for (const s of senders) s.send({ type: 'terminal.output', data: `${n}` });
    await allDelivered;
    const elapsed = performance.now() - started;
    const deliveries = total * subscribers;
    const perSecond = round(deliveries / (elapsed / 1000), 0);
    return {
      name: 'bridge_fanout',
      goal: `one event to ${subscribers} subscribers: p99 < 20 ms; a burst of ${pushers} × ${perPusher} events reaches all of them, none lost`,
      rows: [
        { measure: `fan-out latency p50 (1 → ${subscribers})`, value: `${round(percentile(latencies, 50), 2)} ms` },
        { measure: `fan-out latency p99 (1 → ${subscribers})`, value: `${round(percentile(latencies, 99), 2)} ms` },
        { measure: `burst: ${total} events → ${deliveries} deliveries`, value: `${round(elapsed, 0)} ms` },
        { measure: 'burst throughput', value: `${perSecond} deliveries/s` },
      ],
      metrics: {
        subscribers,
        latency_p50_ms: round(percentile(latencies, 50), 2),
        latency_p99_ms: round(percentile(latencies, 99), 2),
        burst_events: total,
        burst_ms: round(elapsed, 0),
        deliveries_per_s: perSecond,
      },
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await bridge.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
