import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ModelRelay, RateLimitGate, retryAfterMs } from './rate-limit.js';

describe('Retry-After', () => {
  it('reads seconds and HTTP dates; ignores what it cannot read', () => {
    const now = Date.parse('2026-11-30T10:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('0.5', now)).toBe(500);
    expect(retryAfterMs('Mon, 30 Nov 2026 10:00:07 GMT', now)).toBe(7000);
    expect(retryAfterMs('Mon, 30 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });

  it('the gate keeps the latest time per model; an agent with no model waits for all of them', async () => {
    let now = 1000;
    const gate = new RateLimitGate(() => now);
    gate.note('opus', 5000);
    gate.note('opus', 1000); // an earlier time does not shorten the wait
    gate.note('haiku', 2000);
    now = 6000; // opus may be asked again exactly now; no timer is needed to see it
    const signal = new AbortController().signal;
    await expect(gate.wait('opus', signal)).resolves.toBeUndefined();
    await expect(gate.wait(undefined, signal)).resolves.toBeUndefined();
  });

  it('the gate is limiting only while some model is told to wait', () => {
    let now = 1000;
    const gate = new RateLimitGate(() => now);
    expect(gate.limiting).toBe(false);
    gate.note('opus', 2000);
    expect(gate.limiting).toBe(true);
    now = 3000; // opus may be asked again: requests need no look at their model any more
    expect(gate.limiting).toBe(false);
  });

  it('an aborted signal ends the wait at once', async () => {
    const gate = new RateLimitGate(() => 0);
    gate.note('opus', 3_600_000);
    const controller = new AbortController();
    const waiting = gate.wait('opus', controller.signal);
    controller.abort();
    await expect(waiting).resolves.toBeUndefined();
  });

  it('the relay holds the requests of agents already running until their model may be asked again', async () => {
    const arrived: string[] = [];
    let otherArrived = (): void => undefined;
    const upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const { model } = JSON.parse(body) as { model: string };
        arrived.push(model);
        if (model === 'haiku') otherArrived();
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const gate = new RateLimitGate();
    gate.note('opus', 3_600_000); // opus answered 429 with a long Retry-After
    const relay = new ModelRelay(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, gate);
    const base = await relay.start();
    const ask = (model: string, signal?: AbortSignal) =>
      fetch(`${base}/v1/messages`, { method: 'POST', body: JSON.stringify({ model }), ...(signal ? { signal } : {}) });
    const hangUp = new AbortController();
    const held = ask('opus', hangUp.signal).catch(() => 'hung up');
    // Another model is not held: once its request is through, the first one was sent long before it.
    await Promise.all([ask('haiku'), new Promise<void>((resolve) => (otherArrived = resolve))]);
    expect(arrived).toEqual(['haiku']);
    hangUp.abort();
    expect(await held).toBe('hung up');
    await relay.close();
    await new Promise((resolve) => upstream.close(resolve));
    expect(arrived).toEqual(['haiku']);
  });
});
