import { describe, expect, it } from 'vitest';
import { agentRecord } from '../../test/support/records.js';
import { useTempStore } from '../../test/support/temp-store.js';
import { ErrorCodes, type ApprovalRecord, type Clock } from '../core/index.js';
import { SecretRedactor } from '../observability/index.js';
import { mergePermissions } from '../permissions/index.js';
import type { BatonConfig } from '../config/index.js';
import type { PhaseOutput } from '../store/index.js';
import type { PhaseSpec, Workflow } from '../workflow/index.js';
import { ApprovalDesk, answerApproval, PhaseGates, watchNewRequests } from './index.js';
import { onlyPeopleLeft, WorkerHolds } from './detach.js';
import { toolApprovalId, waitForAnswer } from './requests.js';
import { webhookPayload } from './webhook.js';

const temp = useTempStore('baton-approvals-');

/** A clock the test moves by hand. */
const manualClock = (start = 1_000): Clock & { advance(ms: number): void } => {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
};

/** Looks until `check` finds something: the store is written by work going on beside the test. */
async function waitFor<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const request = (extra: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  id: 'q1',
  kind: 'tool',
  runId: 'r1',
  agentId: 'a1',
  tool: 'Bash',
  summary: 'Bash(git push)',
  rule: 'Bash(git push:*)',
  requestedAt: 1_000,
  deadline: 5_000,
  onTimeout: 'deny',
  status: 'pending',
  ...extra,
});

const call = (command: string) => ({ tool: 'Bash', input: { command }, cwd: '/repo', toolUseId: 't1' });

describe('approval requests', () => {
  it('expires a request nobody answered once its deadline passes', async () => {
    const clock = manualClock(6_000);
    await temp.store.saveApproval(request());
    const ended = await waitForAnswer(temp.store, 'q1', { clock, pollMs: 1 });
    expect(ended).toMatchObject({ status: 'expired', answer: { by: 'baton', at: 6_000 } });
  });

  it('returns the answer given from elsewhere while it waited', async () => {
    const clock = manualClock();
    await temp.store.saveApproval(request());
    const waiting = waitForAnswer(temp.store, 'q1', { clock, pollMs: 1 });
    await answerApproval(temp.store, { id: 'q1', approve: true, by: 'ann@box', message: 'ok', clock });
    expect(await waiting).toMatchObject({ status: 'approved', answer: { by: 'ann@box', message: 'ok' } });
    const [audit] = await temp.store.listAuditEvents({ action: 'approval.approved' });
    expect(audit).toMatchObject({ actor: 'ann@box', target: 'r1', details: { approvalId: 'q1', message: 'ok' } });
  });

  it('gives the same id to a call made again with other wording of its description (a resumed agent)', () => {
    const id = (input: Record<string, unknown>) => toolApprovalId('r1', 'a1', 'Bash', input);
    const asked = id({ command: 'git push', description: 'Push the branch' });
    expect(id({ description: 'Push it to origin', command: 'git push' })).toBe(asked);
    expect(id({ command: 'git push' })).toBe(asked);
    expect(id({ command: 'git push --force', description: 'Push the branch' })).not.toBe(asked);
    expect(toolApprovalId('r1', 'a2', 'Bash', { command: 'git push' })).not.toBe(asked);
  });

  it('refuses a second answer and an unknown id with BATON_APPROVAL_NOT_FOUND, saying who answered', async () => {
    const clock = manualClock();
    await temp.store.saveApproval(request());
    await answerApproval(temp.store, { id: 'q1', approve: false, by: 'ann@box', clock });
    await expect(answerApproval(temp.store, { id: 'q1', approve: true, by: 'bob@box', clock })).rejects.toMatchObject({
      code: ErrorCodes.approvalNotFound,
      message: expect.stringContaining('denied already (by ann@box at 1970-01-01T00:00:01.000Z)'),
    });
    await expect(answerApproval(temp.store, { id: 'nope', approve: true, by: 'x' })).rejects.toMatchObject({
      code: ErrorCodes.approvalNotFound,
    });
  });

  it('refuses an answer past the deadline, though no waiter marked it (a dead orchestrator): the call stays denied', async () => {
    const clock = manualClock(5_000);
    await temp.store.saveApproval(request());
    await expect(answerApproval(temp.store, { id: 'q1', approve: true, by: 'ann@box', clock })).rejects.toMatchObject({
      code: ErrorCodes.approvalNotFound,
      message: expect.stringMatching(
        /q1 expired: nobody answered before its deadline \(1970-01-01T00:00:05\.000Z\), so it was denied/,
      ),
    });
    // The agent resumed later finds the request expired, not approved.
    expect(await waitForAnswer(temp.store, 'q1', { clock, pollMs: 1 })).toMatchObject({ status: 'expired' });
    expect(await temp.store.listAuditEvents({ action: 'approval.approved' })).toEqual([]);
  });

  it('puts what a webhook needs in its payload: the request and the commands that answer it', () => {
    expect(webhookPayload(request())).toEqual({
      id: 'q1',
      kind: 'tool',
      runId: 'r1',
      agentId: 'a1',
      tool: 'Bash',
      summary: 'Bash(git push)',
      rule: 'Bash(git push:*)',
      requestedAt: new Date(1_000).toISOString(),
      deadline: new Date(5_000).toISOString(),
      approve: 'baton approve q1 --message "…"',
      deny: 'baton deny q1 --message "…"',
    });
  });
});

describe('the tool gate', () => {
  const policy = mergePermissions([
    { allow: ['Bash(npm test:*)'], ask: ['Bash(git push:*)'], deny: ['Bash(rm:*)'], approvalTimeoutMs: 60_000 },
  ]);

  it('decides by rule at once, records each decision, and tells a denied agent the rule', async () => {
    const desk = new ApprovalDesk({ store: temp.store, actor: 'baton@box', redactor: new SecretRedactor([]) });
    const gate = desk.toolGate({ runId: 'r1', agentId: 'a1' }, policy);
    const signal = new AbortController().signal;
    expect(await gate(call('npm test'), signal)).toEqual({ behavior: 'allow', by: 'rule' });
    expect(await gate(call('rm -rf /'), signal)).toEqual({
      behavior: 'deny',
      message: expect.stringContaining('"Bash(rm:*)" forbids it'),
      by: 'rule',
    });
    expect(await gate(call('curl x'), signal)).toMatchObject({ behavior: 'deny' });
    const audit = await temp.store.listAuditEvents();
    expect(audit.map((e) => `${e.action} ${String(e.details.rule)}`)).toEqual([
      'tool.allowed Bash(npm test:*)',
      'tool.denied Bash(rm:*)',
      'tool.denied default',
    ]);
  });

  it("a job's gate (as on a worker, whose store has no run-wide redactor) redacts the agent's secrets it is given", async () => {
    const secret = 'workersecret-abcdef123456';
    const gate = ApprovalDesk.forJob(
      temp.store,
      { runId: 'r1', agentId: 'a1', spec: { permissions: policy } },
      undefined,
      new SecretRedactor([secret]),
    )!;
    const signal = new AbortController().signal;
    await gate(call(`npm test -- --token ${secret}`), signal);
    await gate(call(`rm -rf ${secret}`), signal);
    const audit = JSON.stringify(await temp.store.listAuditEvents());
    expect(audit).not.toContain(secret);
    expect(audit).toContain('Bash(npm test -- --token [REDACTED])');
  });

  it('asks a person for an ask rule, with secrets redacted, and passes their words on', async () => {
    const clock = manualClock();
    const desk = new ApprovalDesk({
      store: temp.store,
      clock,
      pollMs: 1,
      actor: 'baton@box',
      redactor: new SecretRedactor(['hunter2-secret-token']),
    });
    const gate = desk.toolGate({ runId: 'r1', agentId: 'a1' }, policy);
    const verdict = gate(call('git push https://hunter2-secret-token@host/repo'), new AbortController().signal);
    const asked = await waitForPending();
    expect(asked.summary).toBe('Bash(git push https://[REDACTED]@host/repo)');
    expect(asked).toMatchObject({ rule: 'Bash(git push:*)', deadline: 61_000, agentId: 'a1' });
    await answerApproval(temp.store, { id: asked.id, approve: false, by: 'ann@box', message: 'not on Friday', clock });
    expect(await verdict).toEqual({
      behavior: 'deny',
      message: 'ann@box denied this tool call: not on Friday',
      by: 'person',
    });
  });

  it('denies when the deadline passes, and stops the agent with onTimeout: fail', async () => {
    const clock = manualClock();
    const desk = new ApprovalDesk({ store: temp.store, clock, pollMs: 1, redactor: new SecretRedactor([]) });
    const failing = desk.toolGate({ runId: 'r1', agentId: 'a1' }, { ...policy, onTimeout: 'fail' });
    const verdict = failing(call('git push'), new AbortController().signal);
    await waitForPending();
    clock.advance(60_000);
    expect(await verdict).toMatchObject({
      behavior: 'deny',
      interrupt: true,
      message: expect.stringContaining('deadline'),
      by: 'timeout',
    });
  });

  it('asks again, after a resume, a call denied or expired before the run ended; a crash while it waits finds it', async () => {
    const clock = manualClock();
    const desk = new ApprovalDesk({ store: temp.store, clock, pollMs: 1, redactor: new SecretRedactor([]) });
    const ask = (askAgainBefore?: number) =>
      desk.toolGate(
        { runId: 'r1', agentId: 'a1' },
        { ...policy, onTimeout: 'fail' },
        askAgainBefore,
      )(call('git push'), new AbortController().signal);
    const first = ask();
    const expired = await waitForPending();
    clock.advance(60_000);
    expect(await first).toMatchObject({ behavior: 'deny', interrupt: true });
    // Within the run, the same call is answered as before, without asking.
    expect(await ask()).toMatchObject({ behavior: 'deny', by: 'timeout' });
    // The run ended (the agent failed) at 62 000; resumed, the call waits for a person again.
    clock.advance(1_000);
    const resumed = ask(62_000);
    const again = await waitForPending();
    expect(again.id).not.toBe(expired.id);
    expect(again).toMatchObject({ status: 'pending', deadline: 122_000 });
    await answerApproval(temp.store, { id: again.id, approve: true, by: 'ann@box', clock });
    expect(await resumed).toMatchObject({ behavior: 'allow', by: 'person' });
    // Had that orchestrator been killed while it waited, the next one (resumed from a crash) finds the answer.
    expect(await ask()).toMatchObject({ behavior: 'allow', by: 'person' });
    expect(await ask(62_000)).toMatchObject({ behavior: 'allow', by: 'person' });
    expect(await temp.store.listApprovals({ runId: 'r1' })).toHaveLength(2);
  });

  async function waitForPending(): Promise<ApprovalRecord> {
    return waitFor(async () => (await temp.store.listApprovals({ status: 'pending' }))[0]);
  }
});

describe('phase gates', () => {
  it("take the deadline of the phase's own permissions over the defaults' and the config's", async () => {
    const clock = manualClock();
    const gates = (phasePermissions?: PhaseSpec['permissions']) => {
      const phase = { id: 'ship', approval: { before: true }, permissions: phasePermissions } as PhaseSpec;
      const workflow = { defaults: { permissions: { approvalTimeoutMs: 60_000 } } } as unknown as Workflow;
      const config = { permissions: { approvalTimeoutMs: 7_200_000, onTimeout: 'fail' } } as BatonConfig;
      const stop = new AbortController();
      const options = {
        store: temp.store,
        workflow,
        config,
        stop: { signal: stop.signal, abort: () => undefined },
        clock,
      };
      const waiting = new PhaseGates({ ...options, runId: `r-${phasePermissions ? 'own' : 'defaults'}` }).before(
        phase,
        new Map(),
      );
      return { waiting, stop };
    };
    for (const [own, deadline] of [
      [{ approvalTimeoutMs: 5_000 }, 6_000],
      [undefined, 61_000],
    ] as const) {
      const { waiting, stop } = gates(own);
      const asked = await waitFor(async () =>
        (await temp.store.listApprovals({ status: 'pending' })).find((r) => r.runId.endsWith(own ? 'own' : 'defaults')),
      );
      expect(asked).toMatchObject({ kind: 'phase.before', phaseId: 'ship', deadline, onTimeout: 'fail' });
      stop.abort();
      expect(await waiting).toMatchObject({ status: 'cancelled' });
    }
  });
});

describe('a phase gate nobody answers in time', () => {
  it.each([
    ['deny', 'before', 'skipped', false],
    ['deny', 'after', 'failed', false],
    ['fail', 'before', 'failed', true],
    ['fail', 'after', 'failed', true],
  ] as const)(
    'with onTimeout: %s, at its %s gate: the phase %s, the run stopped: %s',
    async (onTimeout, at, status, stops) => {
      const clock = manualClock();
      const phase = { id: 'ship', approval: { [at]: true }, permissions: { onTimeout } } as unknown as PhaseSpec;
      const config = { permissions: { approvalTimeoutMs: 60_000 } } as BatonConfig;
      const stopped: unknown[] = [];
      const gates = new PhaseGates({
        ...{ store: temp.store, workflow: {} as Workflow, config, runId: `r-${onTimeout}-${at}`, clock },
        stop: { signal: new AbortController().signal, abort: (reason) => stopped.push(reason) },
      });
      const output = { text: 'shipped', agents: [] } as unknown as PhaseOutput;
      const waiting =
        at === 'before' ? gates.before(phase, new Map()) : gates.after(phase, { status: 'succeeded', output });
      await waitFor(async () =>
        (await temp.store.listApprovals({ status: 'pending' })).find((r) => r.phaseId === 'ship'),
      );
      clock.advance(61_000);
      expect(await waiting).toMatchObject({
        status,
        error: { code: ErrorCodes.approvalTimeout, message: 'nobody approved phase ship before its deadline' },
      });
      expect(stopped).toEqual(
        stops
          ? [
              expect.objectContaining({
                code: ErrorCodes.approvalTimeout,
                message: expect.stringContaining('onTimeout: fail'),
              }),
            ]
          : [],
      );
    },
  );
});

describe('detach on wait', () => {
  const inAnHour = Date.now() + 3_600_000;
  it('sees only people left when every running agent waits and no agent of a started phase is still to start', async () => {
    const { store } = temp;
    const agent = (id: string, status: 'running' | 'pending' | 'succeeded', phaseId = 'p1') =>
      store.saveAgent({
        runId: 'r1',
        phaseId,
        id,
        sessionId: `s-${id}`,
        status,
        prompt: 'p',
        systemPrompt: '',
        usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 },
        costUsd: 0,
        turns: 0,
        attempts: 0,
        durationMs: 0,
      });
    const workflow = { version: 1, name: 'w', phases: [] };
    await store.saveRun({ id: 'r1', workflowName: 'w', tenant: 'default', workflow, status: 'running', createdAt: 1 });
    await store.savePhase({ runId: 'r1', id: 'p1', status: 'running' });
    await store.savePhase({ runId: 'r1', id: 'p2', status: 'pending' });
    await agent('done', 'succeeded');
    await agent('asker', 'running');
    await agent('later', 'pending', 'p2');
    expect(await onlyPeopleLeft(store, 'r1')).toBe(false); // nothing asked yet
    await store.saveApproval(request({ agentId: 'asker', deadline: inAnHour }));
    expect(await onlyPeopleLeft(store, 'r1')).toBe(true);
    await agent('busy', 'running');
    expect(await onlyPeopleLeft(store, 'r1')).toBe(false);
  });

  it('a request whose deadline passed while no orchestrator ran waits for nobody: it is expired, not waited on', async () => {
    const { store } = temp;
    const workflow = { version: 1, name: 'w', phases: [] };
    await store.saveRun({ id: 'r7', workflowName: 'w', tenant: 'default', workflow, status: 'running', createdAt: 1 });
    await store.savePhase({ runId: 'r7', id: 'p1', status: 'running' });
    await store.saveAgent(agentRecord({ runId: 'r7', phaseId: 'p1', id: 'asker', status: 'running' }));
    await store.saveApproval(request({ id: 'q7', runId: 'r7', agentId: 'asker', deadline: Date.now() - 1_000 }));
    // The resumed agent is about to find it decided and go on: nothing here is a person's to do.
    expect(await onlyPeopleLeft(store, 'r7')).toBe(false);
    expect(await store.getApproval('q7')).toMatchObject({ status: 'expired', answer: { by: 'baton' } });
  });

  it('with workers, sees only people when the agents not waiting are queued behind worker slots that waiting agents hold', async () => {
    const { store } = temp;
    const agent = (id: string, status: 'running' | 'pending') =>
      store.saveAgent(agentRecord({ runId: 'r3', id, status }));
    const workflow = { version: 1, name: 'w', phases: [] };
    await store.saveRun({ id: 'r3', workflowName: 'w', tenant: 'default', workflow, status: 'running', createdAt: 1 });
    await store.savePhase({ runId: 'r3', id: 'p', status: 'running' });
    await agent('asker', 'running');
    await agent('queued', 'running');
    await store.saveApproval(request({ id: 'q4', runId: 'r3', agentId: 'asker', deadline: inAnHour }));
    // What the queue holds, as QueueExecutor.holders reads it from BullMQ.
    let running = [{ runId: 'r3', agentId: 'asker' }];
    const workers = { holders: () => Promise.resolve({ queued: new Set(['queued']), running }) };
    expect(await onlyPeopleLeft(store, 'r3')).toBe(false); // without workers, `queued` is at work
    expect(await onlyPeopleLeft(store, 'r3', { workers })).toBe(true);
    // Another run's agent works in the other slot: it will free it without anyone.
    running = [...running, { runId: 'other', agentId: 'busy' }];
    expect(await onlyPeopleLeft(store, 'r3', { workers })).toBe(false);
    // No worker has taken a job: nothing says a person holds them up.
    running = [];
    expect(await onlyPeopleLeft(store, 'r3', { workers })).toBe(false);
  });

  it('with workers busy, reads only what changed between polls: no listing of every pending request, none missed', async () => {
    const { store } = temp;
    const workflow = { version: 1, name: 'w', phases: [] };
    for (const id of ['r5', 'r6'])
      await store.saveRun({ id, workflowName: 'w', tenant: 'default', workflow, status: 'running', createdAt: 1 });
    await store.savePhase({ runId: 'r5', id: 'p', status: 'running' });
    await store.saveAgent(agentRecord({ runId: 'r5', id: 'asker', status: 'running' }));
    await store.saveAgent(agentRecord({ runId: 'r5', id: 'queued', status: 'running' }));
    await store.saveApproval(request({ id: 'q5', runId: 'r5', agentId: 'asker', deadline: inAnHour }));
    // Many requests of other runs wait for people too: none of them is any business of this watcher.
    for (let i = 0; i < 50; i++)
      await store.saveApproval(request({ id: `many${i}`, runId: `elsewhere${i}`, agentId: 'x', deadline: inAnHour }));
    await store.saveApproval(request({ id: 'q6', runId: 'r6', agentId: 'other-asker', deadline: inAnHour }));
    const running = [
      { runId: 'r5', agentId: 'asker' },
      { runId: 'r6', agentId: 'other-asker' },
    ];
    const workers = { holders: () => Promise.resolve({ queued: new Set(['queued']), running }) };
    const lists: Array<{ runId?: string }> = [];
    const counted = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'listApprovals')
          return (options: { runId?: string } = {}) => (lists.push(options), target.listApprovals(options));
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const holds = new WorkerHolds(counted);
    expect(await onlyPeopleLeft(counted, 'r5', { workers }, holds)).toBe(true);
    expect(lists.every((options) => options.runId !== undefined)).toBe(true);
    lists.length = 0;
    expect(await onlyPeopleLeft(counted, 'r5', { workers }, holds)).toBe(true);
    // Nothing changed: the other run's request is read by its id, its run's requests are not listed again.
    expect(lists.map((options) => options.runId)).toEqual(['r5']);
    // Answered, then the same job asks again: the new request is found.
    await store.saveApprovalDecision({ id: 'q6', status: 'approved', answer: { by: 't', at: 2_000 } });
    await store.saveApproval(request({ id: 'q7', runId: 'r6', agentId: 'other-asker' }));
    expect(await onlyPeopleLeft(counted, 'r5', { workers }, holds)).toBe(true);
    await store.saveApprovalDecision({ id: 'q7', status: 'approved', answer: { by: 't', at: 2_000 } });
    expect(await onlyPeopleLeft(counted, 'r5', { workers }, holds)).toBe(false);
    expect(lists.every((options) => options.runId !== undefined)).toBe(true);
  });

  it('does not see only people while a started phase whose agents all finished is still at work (merging its branches)', async () => {
    const { store } = temp;
    const agent = (id: string, status: 'running' | 'succeeded', phaseId: string) =>
      store.saveAgent(agentRecord({ runId: 'r2', id, status, phaseId }));
    const workflow = { version: 1, name: 'w', phases: [] };
    await store.saveRun({ id: 'r2', workflowName: 'w', tenant: 'default', workflow, status: 'running', createdAt: 1 });
    await store.savePhase({ runId: 'r2', id: 'edit', status: 'running' });
    await store.savePhase({ runId: 'r2', id: 'ops', status: 'running' });
    await agent('writer', 'succeeded', 'edit');
    await agent('asker', 'running', 'ops');
    await store.saveApproval(request({ id: 'q2', runId: 'r2', agentId: 'asker', deadline: inAnHour }));
    // edit's agents are done but the phase is not: its merge (and verify) runs without anyone.
    expect(await onlyPeopleLeft(store, 'r2')).toBe(false);
    // Held by its own `after` gate, it waits for a person too.
    await store.saveApproval({
      ...request({ id: 'q3', runId: 'r2', kind: 'phase.after', phaseId: 'edit', deadline: inAnHour }),
      agentId: undefined,
    });
    expect(await onlyPeopleLeft(store, 'r2')).toBe(true);
    // A plan phase waits for the phases it generated: there, the asker waits for a person.
    await store.savePhase({ runId: 'r2', id: 'plan', status: 'running' });
    await store.savePhase({ runId: 'r2', id: 'ops', status: 'running', parentId: 'plan', generation: 1 });
    expect(await onlyPeopleLeft(store, 'r2')).toBe(true);
  });
});

describe('watching a run for new requests', () => {
  it('tells of each pending request of the run once, as it appears, and stops when aborted', async () => {
    const { store } = temp;
    await store.saveApproval(request({ id: 'w1', runId: 'rw' }));
    await store.saveApproval(request({ id: 'other', runId: 'elsewhere' }));
    const told: string[] = [];
    let arrived: () => void = () => undefined;
    const next = (): Promise<void> => new Promise((resolve) => (arrived = resolve));
    const stop = new AbortController();
    let first = next();
    const watching = watchNewRequests(store, 'rw', {
      signal: stop.signal,
      pollMs: 5,
      onRequest: (r) => {
        told.push(r.id);
        arrived();
      },
    });
    await first;
    first = next();
    // The first request is answered and a second one is asked: only the new one is told, once.
    await answerApproval(store, { id: 'w1', approve: true, by: 'me@host', clock: manualClock() });
    await store.saveApproval(request({ id: 'w2', runId: 'rw', agentId: 'a2' }));
    await first;
    stop.abort();
    await watching;
    expect(told).toEqual(['w1', 'w2']);
  });
});
