import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApprovalRecord } from '../core/index.js';
import { notifyWebhook } from './webhook.js';

const request: ApprovalRecord = {
  id: 'q1',
  kind: 'tool',
  runId: 'r1',
  agentId: 'a1',
  tool: 'Bash',
  summary: 'Bash(git push)',
  requestedAt: 1_000,
  deadline: 5_000,
  onTimeout: 'deny',
  status: 'pending',
};

const servers: Array<ReturnType<typeof createServer>> = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A real webhook receiver on loopback that answers every POST with `status`, counting them. */
async function receiver(status: number): Promise<{ url: string; posts: () => number }> {
  let posts = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts += 1;
      res.writeHead(status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, posts: () => posts };
}

describe('notifyWebhook', () => {
  it('tries a failing webhook three times, as docs/permissions.md says, then gives the error back', async () => {
    const hook = await receiver(500);
    const error = await notifyWebhook(hook.url, request);
    expect(error?.message).toContain('500');
    expect(hook.posts()).toBe(3);
  });

  it('posts once to a webhook that answers', async () => {
    const hook = await receiver(204);
    expect(await notifyWebhook(hook.url, request)).toBeUndefined();
    expect(hook.posts()).toBe(1);
  });
});
