import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
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

  it('the relay passes requests and answers through unchanged: path, headers, compressed bytes, status', async () => {
    const seen: Array<{ method?: string; url?: string; key?: string; body: string }> = [];
    const answer = gzipSync('{"type":"message"}');
    const upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, key: req.headers['x-api-key'] as string, body });
        if (req.url?.endsWith('/busy')) res.writeHead(529, { 'retry-after': '7' }).end('{}');
        else res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(answer);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    let now = 0;
    const gate = new RateLimitGate(() => now);
    const relay = new ModelRelay(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`, gate);
    const base = await relay.start();
    const request = { method: 'POST', headers: { 'x-api-key': 'k-1' }, body: '{"model":"opus"}' };
    const ok = await fetch(`${base}/v1/messages?beta=true`, request);
    expect(ok.headers.get('content-encoding')).toBe('gzip');
    expect(await ok.json()).toEqual({ type: 'message' }); // fetch undoes the gzip the relay passed on as it was
    const busy = await fetch(`${base}/v1/busy`, request);
    expect(busy.status).toBe(529);
    expect(seen).toEqual([
      { method: 'POST', url: '/v1/messages?beta=true', key: 'k-1', body: '{"model":"opus"}' },
      { method: 'POST', url: '/v1/busy', key: 'k-1', body: '{"model":"opus"}' },
    ]);
    // The 529's Retry-After holds opus for 7 s, and no other model.
    expect(gate.limiting).toBe(true);
    now = 6_999;
    expect(gate.limiting).toBe(true);
    now = 7_000;
    expect(gate.limiting).toBe(false);
    // Without the relay's token in the path: refused, never passed on.
    expect((await fetch(base.replace(/\/[0-9a-f]+$/, '/v1/messages'), request)).status).toBe(403);
    expect(seen).toHaveLength(2);
    await relay.close();
    await new Promise((resolve) => upstream.close(resolve));
  });
});
