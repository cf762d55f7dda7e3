import { describe, expect, it } from 'vitest';
import { AgentScheduler } from './scheduler.js';

/** Holds every granted slot until the test lets go, recording the order agents started in. */
function harness(scheduler: AgentScheduler) {
  const started: string[] = [];
  const releases = new Map<string, () => void>();
  const ask = (name: string, tenant: string, priority: number, signal?: AbortSignal) =>
    scheduler.acquire({ tenant, priority, signal }).then((release) => {
      started.push(name);
      releases.set(name, release);
    });
  const release = async (name: string) => {
    releases.get(name)!();
    await new Promise((r) => setImmediate(r));
  };
  return { started, ask, release };
}

describe('AgentScheduler', () => {
  it('starts waiting agents by priority, then in arrival order', async () => {
    const scheduler = new AgentScheduler({ limit: 1 });
    const h = harness(scheduler);
    void h.ask('first', 't', 0);
    await new Promise((r) => setImmediate(r));
    for (const [name, priority] of [
      ['low-a', 0],
      ['high-a', 5],
      ['low-b', 0],
      ['high-b', 5],
      ['urgent', 9],
    ] as const)
      void h.ask(name, 't', priority);
    expect(scheduler.waiting).toBe(5);
    for (const name of ['first', 'urgent', 'high-a', 'high-b', 'low-a']) await h.release(name);
    expect(h.started).toEqual(['first', 'urgent', 'high-a', 'high-b', 'low-a', 'low-b']);
  });

  it('holds a tenant at its own limit while other tenants go ahead', async () => {
    const scheduler = new AgentScheduler({ limit: 3, tenantLimits: { acme: 1 } });
    const h = harness(scheduler);
    void h.ask('acme-1', 'acme', 0);
    void h.ask('acme-2', 'acme', 10);
    void h.ask('globex-1', 'globex', 0);
    void h.ask('globex-2', 'globex', 0);
    await new Promise((r) => setImmediate(r));
    expect(h.started).toEqual(['acme-1', 'globex-1', 'globex-2']);
    expect(scheduler.active).toBe(3);
    await h.release('globex-1');
    expect(h.started).toHaveLength(3); // a free slot, but acme is at its limit
    await h.release('acme-1');
    expect(h.started.at(-1)).toBe('acme-2');
  });

  it('takes an agent out of the queue when its signal aborts', async () => {
    const scheduler = new AgentScheduler({ limit: 1 });
    const h = harness(scheduler);
    void h.ask('running', 't', 0);
    const controller = new AbortController();
    const cancelled = h.ask('cancelled', 't', 0, controller.signal).then(
      () => 'started',
      (reason: unknown) => (reason as Error).message,
    );
    void h.ask('next', 't', 0);
    controller.abort(new Error('run cancelled'));
    expect(await cancelled).toBe('run cancelled');
    await h.release('running');
    expect(h.started).toEqual(['running', 'next']);
  });
});
