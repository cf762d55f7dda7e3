import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpError, readBody, sendJson, startHttpServer, type HttpService } from './index.js';

const token = 'a'.repeat(64);
let service: HttpService;
let posted: string[] = [];

beforeAll(async () => {
  service = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    access: { token, cookie: 'test_cookie', allowedHosts: ['baton.internal'] },
    routes: [
      { method: 'GET', path: '/health', open: true, handle: ({ res }) => sendJson(res, 200, { ok: true }) },
      { method: 'GET', path: '/items', handle: ({ res }) => sendJson(res, 200, posted) },
      {
        method: 'POST',
        path: '/items',
        handle: async ({ req, res }) => {
          posted.push(await readBody(req, 1024));
          sendJson(res, 200, { count: posted.length });
        },
      },
      {
        method: 'GET',
        path: /^\/items\/([^/]+)$/,
        handle: ({ params }) => {
          throw new HttpError(404, 'no_item', `no item ${params[0]}`);
        },
      },
    ],
    listenError: (cause) => cause,
  });
});
afterAll(() => service.close());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Plain node:http, so Host, Origin and Cookie can be anything a browser or attacker would send. */
function send(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
  agent?: Agent,
): Promise<Answer> {
  const { port } = service;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}
const auth = { authorization: `Bearer ${token}` };

describe('the shared HTTP server', () => {
  it('refuses a foreign Host name (DNS rebinding) before anything else, even with the token', async () => {
    for (const host of [
      'evil.example',
      'evil.example:80',
      '127.0.0.1.evil.example',
      'localhost.evil.example',
      'user@localhost',
    ]) {
      const answer = await send('GET', '/items', { ...auth, host });
      expect([host, answer.status]).toEqual([host, 403]);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'forbidden_host' } });
    }
    for (const host of ['localhost', `127.0.0.1:${service.port}`, '[::1]:80', 'baton.internal:8080'])
      expect((await send('GET', '/items', { ...auth, host })).status).toBe(200);
  });

  it('needs the token except on open routes, and answers in JSON', async () => {
    expect((await send('GET', '/health')).status).toBe(200);
    const refused = await send('GET', '/items');
    expect(refused.status).toBe(401);
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await send('GET', '/items', { authorization: `Bearer ${'b'.repeat(64)}` })).status).toBe(401);
    expect((await send('GET', '/items/x', auth)).body).toBe('{"error":{"code":"no_item","message":"no item x"}}');
    expect((await send('GET', '/nowhere', auth)).status).toBe(404);
  });

  it('reads the Authorization scheme case-insensitively (RFC 7235): bearer and BEARER are Bearer', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer'])
      expect((await send('GET', '/items/x', { authorization: `${scheme} ${token}` })).status, scheme).toBe(404);
    expect((await send('GET', '/items/x', { authorization: `Basic ${token}` })).status).toBe(401);
  });

  it('answers a path that is not valid percent-encoding as any unknown path, after the host and token checks', async () => {
    const malformed = '/items/%E0%A4%A';
    expect((await send('GET', malformed, { ...auth, host: 'evil.example' })).status).toBe(403);
    expect((await send('GET', malformed)).status).toBe(401);
    const answer = await send('GET', malformed, auth);
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'not_found' } });
  });

  it('allows each route only its methods', async () => {
    const answer = await send('DELETE', '/items', auth);
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, POST');
    expect((await send('POST', '/health', auth)).status).toBe(405);
  });

  it('swaps a token URL for a cookie, then the cookie alone is enough', async () => {
    const login = await send('GET', `/items?token=${token}&view=all`);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/items?view=all');
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toMatch(/^test_cookie=a{64}; HttpOnly; SameSite=Strict; Path=\//);
    expect((await send('GET', '/items', { cookie: cookie.split(';')[0]! })).status).toBe(200);
    expect((await send('GET', '/items', { cookie: 'test_cookie=nope' })).status).toBe(401);
  });

  it('reads ?token= only where no header can be sent: the GET it swaps for a cookie, not a POST', async () => {
    posted = [];
    const answer = await send('POST', `/items?token=${token}`, {}, 'in the URL');
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { message: expect.stringContaining('?token=') } });
    expect(posted).toEqual([]);
  });

  it('refuses state changes from another origin', async () => {
    posted = [];
    const fromElsewhere = await send('POST', '/items', { ...auth, origin: 'https://evil.example' }, 'x');
    expect(fromElsewhere.status).toBe(403);
    expect(JSON.parse(fromElsewhere.body)).toMatchObject({ error: { code: 'forbidden_origin' } });
    const crossSite = await send('POST', '/items', { ...auth, 'sec-fetch-site': 'cross-site' }, 'x');
    expect(crossSite.status).toBe(403);
    const own = `http://127.0.0.1:${service.port}`;
    expect((await send('POST', '/items', { ...auth, origin: own }, 'mine')).status).toBe(200);
    expect((await send('POST', '/items', auth, 'no origin: not a browser')).status).toBe(200);
    expect(posted).toEqual(['mine', 'no origin: not a browser']);
  });

  it('answers an over-limit body with 413 on a kept-alive connection, which then serves the next request', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const tooLarge = await send('POST', '/items', auth, Buffer.alloc(4 * 1024 * 1024, 'x'), agent);
      expect(tooLarge.status).toBe(413);
      expect(JSON.parse(tooLarge.body)).toMatchObject({ error: { code: 'too_large' } });
      const next = await send('GET', '/health', {}, undefined, agent);
      expect(next.status).toBe(200);
    } finally {
      agent.destroy();
    }
  });
});

describe('a server with several token holders', () => {
  it('hands each route the holder of the token given; a token two holders share is nobody’s', async () => {
    let holders = [
      { token: 'c'.repeat(64), holder: 'carol' },
      { token: 'd'.repeat(64), holder: 'dave' },
    ];
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      access: { holders: () => holders, cookie: 'who' },
      routes: [{ method: 'GET', path: '/whoami', handle: ({ res, holder }) => sendJson(res, 200, { holder }) }],
      listenError: (cause) => cause,
    });
    const whoami = async (token: string) => {
      const res = await fetch(`${server.url}/whoami`, { headers: { authorization: `Bearer ${token}` } });
      return res.status === 200 ? ((await res.json()) as { holder: string }).holder : res.status;
    };
    try {
      expect([await whoami('c'.repeat(64)), await whoami('d'.repeat(64)), await whoami('e'.repeat(64))]).toEqual([
        'carol',
        'dave',
        401,
      ]);
      const login = await fetch(`${server.url}/whoami?token=${'d'.repeat(64)}`, { redirect: 'manual' });
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      expect(await (await fetch(`${server.url}/whoami`, { headers: { cookie } })).json()).toEqual({ holder: 'dave' });
      // Asked on every request: a copied token (carol's given to eve too) lets neither in, and dave's, gone, is refused.
      holders = [...holders.filter((h) => h.holder !== 'dave'), { token: 'c'.repeat(64), holder: 'eve' }];
      expect([await whoami('c'.repeat(64)), await whoami('d'.repeat(64))]).toEqual([401, 401]);
    } finally {
      await server.close();
    }
  });
});
