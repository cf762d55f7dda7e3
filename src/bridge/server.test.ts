import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { BridgeClient, BridgeRequestError, type BridgeEndpoint } from './client.js';
import { ideEventTypes, type BridgeEvent } from './protocol.js';
import { startBridge, type BridgeServer } from './server.js';
import { readAddress, readToken, tokenFile } from './token.js';

let dataDir: string;
let bridge: BridgeServer;
let endpoint: BridgeEndpoint;
const clients: BridgeClient[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'baton-bridge-'));
  bridge = await startBridge({ dataDir, port: 0 });
  endpoint = { url: bridge.url, token: readToken(dataDir) };
});
afterAll(async () => {
  await bridge.close();
  rmSync(dataDir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

async function connect(name?: string, target: BridgeEndpoint = endpoint): Promise<BridgeClient> {
  const client = await BridgeClient.connect(target, name ? { name } : {});
  clients.push(client);
  return client;
}

/** Resolves with the first `count` events the client receives from now on. */
function received(client: BridgeClient, count: number): Promise<BridgeEvent[]> {
  const events: BridgeEvent[] = [];
  return new Promise((resolve) => {
    const off = client.events.on('event', (event) => {
      events.push(event);
      if (events.length === count) {
        off();
        resolve(events);
      }
    });
  });
}

const get = (path: string, token: string | null = endpoint.token) =>
  fetch(new URL(path, bridge.url), token !== null ? { headers: { authorization: `Bearer ${token}` } } : {});

describe('Context Bridge server', () => {
  it('creates a private token and says where it listens', () => {
    expect(statSync(tokenFile(dataDir)).mode & 0o777).toBe(0o600);
    expect(endpoint.token).toMatch(/^[0-9a-f]{64}$/);
    expect(readAddress(dataDir)).toEqual({ url: bridge.url, pid: process.pid });
    expect(bridge.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('a subscriber receives a pushed file change and diagnostic, in order, and not what it filtered out', async () => {
    const editor = await connect('editor');
    const agent = await connect('agent');
    await agent.subscribe({ types: ['file.changed', 'diagnostics.updated'], paths: ['**/src/**'] });
    const delivered = received(agent, 2);
    await editor.push({ type: 'file.opened', path: '/w/src/a.ts' });
    await editor.push({ type: 'file.changed', path: '/w/docs/x.md', diff: '' });
    const changed = await editor.push({ type: 'file.changed', path: '/w/src/a.ts', diff: '@@ -1 +1 @@\n-a\n+b\n' });
    const diagnosed = await editor.push({
      type: 'diagnostics.updated',
      path: '/w/src/a.ts',
      diagnostics: [{ severity: 'error', message: "Cannot find name 'b'." }],
    });

    const events = await delivered;
    expect(events.map((e) => [e.seq, e.event.type, e.source])).toEqual([
      [changed, 'file.changed', 'editor'],
      [diagnosed, 'diagnostics.updated', 'editor'],
    ]);
    expect(events[0]!.event).toEqual({
      type: 'file.changed',
      path: '/w/src/a.ts',
      change: 'changed',
      diff: '@@ -1 +1 @@\n-a\n+b\n',
    });
  });

  it('replays retained events after `since` before live ones', async () => {
    const editor = await connect();
    const first = await editor.push({ type: 'terminal.output', terminal: 'replay', data: 'one\n' });
    await editor.push({ type: 'terminal.output', terminal: 'replay', data: 'two\n' });
    const late = await connect();
    const delivered = received(late, 3);
    const subscribed = await late.subscribe({ types: ['terminal.output'], since: first - 1 });
    expect(subscribed.replayed).toBe(2);
    await editor.push({ type: 'terminal.output', terminal: 'replay', data: 'three\n' });
    expect((await delivered).map((e) => (e.event.type === 'terminal.output' ? e.event.data : ''))).toEqual([
      'one\n',
      'two\n',
      'three\n',
    ]);
  });

  it("refuses to start on an address that is not this machine's as a usage error naming the settings (exit 2)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'baton-bridge-host-'));
    try {
      // 192.0.2.1 (TEST-NET-1) is never a local address.
      await expect(startBridge({ dataDir, host: '192.0.2.1', port: 0 })).rejects.toMatchObject({
        code: 'BATON_USAGE',
        message: expect.stringContaining('check --host or bridge_host'),
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a second bridge on the same data_dir (exit 2) and leaves the first one findable', async () => {
    await expect(startBridge({ dataDir, port: 0 })).rejects.toMatchObject({
      code: 'BATON_BRIDGE_INVALID',
      message: expect.stringContaining('already running'),
    });
    expect(readAddress(dataDir)).toEqual({ url: bridge.url, pid: process.pid });
  });

  it('replaces an empty or short bridge.token with a fresh one, and says so', async () => {
    for (const weak of ['', 'abc\n']) {
      const weakDir = mkdtempSync(join(tmpdir(), 'baton-bridge-token-'));
      writeFileSync(tokenFile(weakDir), weak, { mode: 0o600 });
      const started = await startBridge({ dataDir: weakDir, port: 0 });
      try {
        expect(started.tokenRenewed).toBe(true);
        expect(readToken(weakDir)).toMatch(/^[0-9a-f]{64}$/);
        expect((await fetch(new URL('/state', started.url), { headers: { authorization: 'Bearer abc' } })).status).toBe(
          401,
        );
      } finally {
        await started.close();
        rmSync(weakDir, { recursive: true, force: true });
      }
    }
    expect(bridge.tokenRenewed).toBe(false);
  });

  it('refuses clients without the right token, over WebSocket and HTTP; health needs none', async () => {
    await expect(connect(undefined, { url: bridge.url, token: '' })).rejects.toMatchObject({
      code: 'BATON_BRIDGE_UNAVAILABLE',
      message: expect.stringContaining('refused the token (401)'),
    });
    await expect(connect(undefined, { url: bridge.url, token: 'f'.repeat(64) })).rejects.toMatchObject({
      code: 'BATON_BRIDGE_UNAVAILABLE',
    });
    expect((await get('/state', null)).status).toBe(401);
    expect((await get('/state', 'wrong')).status).toBe(401);
    expect((await get('/state')).status).toBe(200);
    expect(await (await get('/health', null)).json()).toMatchObject({ ok: true });
  });

  it('takes ?token= on the WebSocket URL only: an HTTP request needs the Authorization header', async () => {
    const inUrl = await get(`/state?token=${endpoint.token}`, null);
    expect(inUrl.status).toBe(401);
    expect(await inUrl.json()).toMatchObject({ error: { message: expect.stringContaining('Authorization: Bearer') } });
    const socket = new WebSocket(`${bridge.url.replace(/^http/, 'ws')}/?token=${endpoint.token}`);
    try {
      const welcome = await new Promise<unknown>((resolve, reject) => {
        socket.once('message', (data: Buffer) => resolve(JSON.parse(data.toString())));
        socket.once('error', reject);
      });
      expect(welcome).toMatchObject({ type: 'welcome' });
    } finally {
      socket.close();
    }
  });

  it('answers malformed, invalid and oversized messages with an error and keeps that connection and the others', async () => {
    const bad = await connect('bad');
    const watcher = await connect('watcher');
    await watcher.subscribe({ types: ['file.opened'] });
    const errors: BridgeRequestError[] = [];
    bad.events.on('refused', (e) => errors.push(e));

    bad.sendRaw('{"type": "file.opened", ');
    await expect(bad.push({ type: 'file.opened' } as never)).rejects.toMatchObject({
      code: 'BATON_BRIDGE_MESSAGE_INVALID',
      message: expect.stringContaining('path:'),
    });
    await expect(bad.push({ type: 'file.exploded', path: '/x' } as never)).rejects.toMatchObject({
      code: 'BATON_BRIDGE_MESSAGE_INVALID',
      message: expect.stringMatching(/^type: expected one of file\.opened/),
    });
    await expect(bad.push({ type: 'file.opened', path: '/x', extra: 1 } as never)).rejects.toMatchObject({
      message: 'extra: unknown field',
    });
    await expect(bad.push({ type: 'terminal.output', data: 'x'.repeat(1024 * 1024 + 1) })).rejects.toMatchObject({
      code: 'BATON_BRIDGE_MESSAGE_TOO_LARGE',
    });
    expect(errors.map((e) => e.code)).toEqual(['BATON_BRIDGE_MALFORMED_JSON']);

    // Both connections still work, and the watcher sees the next good event.
    const delivered = received(watcher, 1);
    const seq = await bad.push({ type: 'file.opened', path: '/w/ok.ts' });
    expect((await delivered)[0]).toMatchObject({ seq, event: { path: '/w/ok.ts' } });
  });

  it('a frame over the hard limit closes only that connection', async () => {
    const flooder = await connect();
    const bystander = await connect();
    const closed = new Promise<number>((resolve) => flooder.events.on('close', ({ code }) => resolve(code)));
    flooder.sendRaw('x'.repeat(16 * 1024 * 1024 + 1));
    expect(await closed).toBe(1009);
    expect(await bystander.ping()).toBeGreaterThanOrEqual(0);
  });

  it('HTTP: POST /events publishes, GET /events and /state read what was published', async () => {
    const subscriber = await connect();
    await subscriber.subscribe({ paths: ['**/http/**'] });
    const delivered = received(subscriber, 2);
    const posted = await fetch(new URL('/events', bridge.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${endpoint.token}`, 'content-type': 'application/json' },
      body: JSON.stringify([
        { type: 'file.opened', path: '/w/http/a.lua', language: 'lua' },
        {
          type: 'selection.changed',
          path: '/w/http/a.lua',
          range: { start: { line: 3, character: 0 }, end: { line: 3, character: 5 } },
          text: 'local',
        },
      ]),
    });
    const { seqs } = (await posted.json()) as { seqs: number[] };
    expect(seqs).toHaveLength(2);
    expect((await delivered).map((e) => [e.seq, e.source])).toEqual(seqs.map((s) => [s, 'http']));

    const events = (await (await get(`/events?since=${seqs[0]! - 1}&types=selection.changed`)).json()) as {
      events: BridgeEvent[];
    };
    expect(events.events.map((e) => e.seq)).toEqual([seqs[1]]);
    const state = (await (await get('/state')).json()) as { activeFile: string; selection: { text: string } };
    expect(state).toMatchObject({ activeFile: '/w/http/a.lua', selection: { text: 'local' } });

    const invalid = await fetch(new URL('/events', bridge.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${endpoint.token}` },
      body: '{"type":"file.opened","path":""}',
    });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({
      error: { code: 'BATON_BRIDGE_MESSAGE_INVALID', message: expect.stringContaining('path:') },
    });
    expect((await get('/events?types=nope')).status).toBe(400);
    const event = { type: 'file.opened', path: '/w/a.ts' };
    const refusal = async (body: unknown): Promise<string> => {
      const response = await fetch(new URL('/events', bridge.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${endpoint.token}` },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(400);
      return ((await response.json()) as { error: { message: string } }).error.message;
    };
    // Each names the field to fix, as the WebSocket path does.
    expect(await refusal({ type: 'file.opened' })).toMatch(/^path: /);
    expect(await refusal([event, { type: 'file.opened' }])).toMatch(/^\[1\]\.path: /);
    const fatal = { type: 'diagnostics.updated', path: '/w/a.ts', diagnostics: [{ severity: 'fatal' }] };
    expect(await refusal(fatal)).toMatch(/^diagnostics\[0\]\.severity: /);
    expect(await refusal({ type: 'subscribe' })).toBe(`type: expected one of ${ideEventTypes.join(', ')}`);
    expect(await refusal(Array.from({ length: 1001 }, () => event))).toMatch(/1000/);
    const huge = await fetch(new URL('/events', bridge.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${endpoint.token}` },
      body: JSON.stringify({ type: 'terminal.output', data: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
  });

  it('HTTP: refuses foreign Host names, other methods and cross-site posts; a 413 leaves a kept-alive connection usable', async () => {
    const { port } = new URL(bridge.url);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
      new Promise<{ status: number; allow?: string }>((resolve, reject) => {
        const auth = { authorization: `Bearer ${endpoint.token}`, 'content-type': 'application/json' };
        request({ host: '127.0.0.1', port, method, path, agent, headers: { ...auth, ...headers } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow }));
        })
          .on('error', reject)
          .end(body);
      });
    try {
      expect((await send('GET', '/state', { host: `rebound.example:${port}` })).status).toBe(403);
      expect(await send('DELETE', '/events', {})).toEqual({ status: 405, allow: 'GET, POST' });
      const event = JSON.stringify({ type: 'terminal.output', data: 'x' });
      expect((await send('POST', '/events', { origin: 'https://evil.example' }, event)).status).toBe(403);
      const huge = JSON.stringify({ type: 'terminal.output', data: 'x'.repeat(2 * 1024 * 1024) });
      expect((await send('POST', '/events', {}, huge)).status).toBe(413);
      expect((await send('POST', '/events', {}, event)).status).toBe(200);
    } finally {
      agent.destroy();
    }
  });
});
