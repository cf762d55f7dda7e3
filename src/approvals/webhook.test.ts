import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import type { ApprovalRecord } from '../core/index.js';
import { SecretRedactor } from '../observability/index.js';
import { ApprovalDesk, webhookNotificationsSettled } from './gate.js';
import { notifyWebhook } from './webhook.js';

const temp = useTempStore('baton-webhook-');

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

  it('a webhook that never answers keeps a process alive through its three tries, then gives the timeout back', async () => {
    // In a process of its own: Node ends a process whose only pending work is unreferenced timers,
    // mid-await (exit 13), which a test runner's own event loop would hide.
    let posts = 0;
    const silent = createServer((req) => {
      posts += 1;
      req.resume();
    });
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;
    const script = `const { notifyWebhook } = await import(${JSON.stringify(new URL('./webhook.ts', import.meta.url).href)});
const error = await notifyWebhook(${JSON.stringify(url)}, ${JSON.stringify(request)});
console.log('notified:', error?.message);`;
    const child = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], (error, stdout) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout }),
      );
    });
    expect(child).toEqual({ code: 0, stdout: expect.stringMatching(/^notified: .*time/im) });
    expect(posts).toBe(3);
  }, 60_000);

  it('posts once to a webhook that answers', async () => {
    const hook = await receiver(204);
    expect(await notifyWebhook(hook.url, request)).toBeUndefined();
    expect(hook.posts()).toBe(1);
  });

  it("a run's end waits for a failing webhook's last try, so its failure is in the audit trail", async () => {
    const hook = await receiver(500);
    const desk = new ApprovalDesk({
      store: temp.store,
      webhookUrl: hook.url,
      pollMs: 1,
      redactor: new SecretRedactor([]),
    });
    const { requestedAt: _at, deadline: _deadline, status: _status, ...asked } = request;
    // Expires at once: the request is over long before the webhook's tries are.
    await desk.ask({ ...asked, timeoutMs: 1 }, new AbortController().signal);
    expect(hook.posts()).toBeLessThan(3);
    await webhookNotificationsSettled();
    expect(hook.posts()).toBe(3);
    const failed = await temp.store.listAuditEvents({ action: 'approval.webhook_failed' });
    expect(failed).toMatchObject([{ target: 'r1', details: { error: expect.stringContaining('500') } }]);
  });
});
