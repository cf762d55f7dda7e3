import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, type ApprovalRecord, type ServerRunHealth } from '../core/index.js';
import {
  emptyUsage,
  type AgentRecord,
  type ContextEntry,
  type MergeReport,
  type RunRecord,
  type Store,
  type ToolCallRecord,
  type BatonCallRecord,
} from './store.js';

export interface StoreHarness {
  store: Store;
  cleanup(): Promise<void>;
}

const run = (id: string, extra: Partial<RunRecord> = {}): RunRecord => ({
  id,
  workflowName: 'wf',
  tenant: 'default',
  workflow: { version: 1, name: 'wf', phases: [{ id: 'p', agents: [] }] },
  status: 'running',
  createdAt: 1_700_000_000_000,
  ...extra,
});

let entryCounter = 0;
const entry = (content: string, extra: Partial<ContextEntry> = {}): ContextEntry => ({
  id: `e${++entryCounter}`,
  runId: 'r1',
  phaseId: 'p1',
  sessionId: 's1',
  agentId: 'a1',
  type: 'finding',
  content,
  tags: [],
  tokens: 5,
  level: 0,
  checksum: '',
  version: 0,
  createdAt: entryCounter,
  updatedAt: entryCounter,
  ...extra,
});

const agent = (runId: string, id: string, extra: Partial<AgentRecord> = {}): AgentRecord => ({
  runId,
  phaseId: 'p1',
  id,
  sessionId: `session-${id}`,
  status: 'pending',
  prompt: `prompt ${id}`,
  systemPrompt: 'system',
  usage: emptyUsage(),
  costUsd: 0,
  turns: 0,
  attempts: 0,
  durationMs: 0,
  ...extra,
});

const approval = (id: string, extra: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  id,
  kind: 'tool',
  runId: 'r1',
  agentId: 'a1',
  tool: 'Bash',
  summary: 'Bash(git push)',
  rule: 'Bash(git push:*)',
  requestedAt: 1_000,
  deadline: 2_000,
  onTimeout: 'deny',
  status: 'pending',
  ...extra,
});

const toolCall = (agentId: string, attempt: number, seq: number, startedAt: number): ToolCallRecord => ({
  runId: 'r1',
  agentId,
  attempt,
  seq,
  toolUseId: `toolu_${agentId}_${attempt}_${seq}`,
  name: 'mcp__memory__create_entities',
  server: 'memory',
  turn: seq,
  startedAt,
  status: 'running',
  inputPreview: '{"entities":[]}',
});

/** The behaviour every Store passes: SQLite now, Redis when it lands. */
export function describeStoreContract(name: string, makeStore: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let harness: StoreHarness;
    let store: Store;
    beforeEach(async () => {
      harness = await makeStore();
      store = harness.store;
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    it('round-trips a run, with optional fields absent or present', async () => {
      const minimal = run('r1');
      await store.saveRun(minimal);
      expect(await store.getRun('r1')).toEqual(minimal);
      const full = run('r2', {
        workflowPath: '/w.yaml',
        startedAt: 1,
        finishedAt: 2,
        pid: 42,
        host: 'h',
        status: 'failed',
        error: { code: 'BATON_AGENT_FAILED', message: 'x' },
        priority: -3,
        resumes: 2,
      });
      await store.saveRun(full);
      expect(await store.getRun('r2')).toEqual(full);
      expect(await store.getRun('missing')).toBeUndefined();
    });

    it('upserts a run, and saving it never clears a requested cancel', async () => {
      await store.saveRun(run('r1'));
      expect(await store.isCancelRequested('r1')).toBe(false);
      expect(await store.requestCancel('r1')).toBe(true);
      await store.saveRun(run('r1', { status: 'cancelled', finishedAt: 5 }));
      expect(await store.isCancelRequested('r1')).toBe(true);
      expect((await store.getRun('r1'))?.status).toBe('cancelled');
      expect(await store.requestCancel('nope')).toBe(false);
      expect(await store.isCancelRequested('nope')).toBe(false);
      // A resumed run takes the cancel back.
      await store.clearCancel('r1');
      expect(await store.isCancelRequested('r1')).toBe(false);
      expect(await store.requestCancel('r1')).toBe(true);
      expect(await store.isCancelRequested('r1')).toBe(true);
    });

    it('lets exactly one of several processes claim the next resume of a run', async () => {
      await store.saveRun(run('claimed', { status: 'running' }));
      const claims = await Promise.all([0, 1, 2, 3].map(() => store.claimResume('claimed', 0)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      // The winner saves the run with its count; the next resume claims from there.
      await store.saveRun(run('claimed', { status: 'running', resumes: 1 }));
      expect(await store.claimResume('claimed', 0)).toBe(false);
      expect(await store.claimResume('claimed', 1)).toBe(true);
      expect(await store.claimResume('claimed', 1)).toBe(false);
      expect(await store.claimResume('missing', 0)).toBe(false);
      // A run saved with resumes already (copied by baton migrate) is claimed from its own count.
      await store.saveRun(run('copied', { status: 'running', resumes: 3 }));
      expect(await store.claimResume('copied', 3)).toBe(true);
      expect(await store.claimResume('copied', 3)).toBe(false);
    });

    it("keeps when a run's orchestrator was last alive, which saving the run never changes", async () => {
      await store.saveRun(run('alive', { status: 'running' }));
      expect((await store.getRun('alive'))?.aliveAt).toBeUndefined();
      await store.markRunAlive('alive', 1_000);
      await store.markRunAlive('alive', 2_000);
      expect((await store.getRun('alive'))?.aliveAt).toBe(2_000);
      // The orchestrator's record in memory is older than its last beat: saving it keeps the beat.
      await store.saveRun(run('alive', { status: 'succeeded', finishedAt: 3_000 }));
      expect(await store.getRun('alive')).toMatchObject({ status: 'succeeded', aliveAt: 2_000 });
      expect((await store.listRuns({ status: 'succeeded' })).find((r) => r.id === 'alive')?.aliveAt).toBe(2_000);
      await store.markRunAlive('nope', 1);
      expect(await store.getRun('nope')).toBeUndefined();
    });

    it('lists runs newest first, with limit and status filter', async () => {
      await store.saveRun(run('old', { createdAt: 1, status: 'succeeded' }));
      await store.saveRun(run('mid', { createdAt: 2, status: 'failed' }));
      await store.saveRun(run('new', { createdAt: 3, status: 'succeeded' }));
      expect((await store.listRuns()).map((r) => r.id)).toEqual(['new', 'mid', 'old']);
      expect((await store.listRuns({ limit: 2 })).map((r) => r.id)).toEqual(['new', 'mid']);
      expect((await store.listRuns({ status: 'succeeded' })).map((r) => r.id)).toEqual(['new', 'old']);
      expect((await store.listRuns({ since: 2 })).map((r) => r.id)).toEqual(['new', 'mid']);
      await store.saveRun(run('other', { createdAt: 4, tenant: 'team-b' }));
      expect((await store.listRuns({ tenant: 'team-b' })).map((r) => r.id)).toEqual(['other']);
      expect((await store.getRun('other'))?.tenant).toBe('team-b');
      expect((await store.listRuns({ status: 'succeeded', limit: 1 })).map((r) => r.id)).toEqual(['new']);
      expect(await store.listRuns({ status: 'cancelled' })).toEqual([]);
    });

    it('breaks createdAt ties by id, newest-looking first, so listings are stable', async () => {
      for (const id of ['b', 'c', 'a']) await store.saveRun(run(id, { createdAt: 7 }));
      expect((await store.listRuns()).map((r) => r.id)).toEqual(['c', 'b', 'a']);
    });

    it('keeps phases and agents in first-saved order across updates', async () => {
      await store.saveRun(run('r1'));
      for (const id of ['b', 'a', 'c']) await store.savePhase({ runId: 'r1', id, status: 'pending' });
      await store.savePhase({ runId: 'r1', id: 'b', status: 'succeeded', startedAt: 1, finishedAt: 2 });
      const phases = await store.listPhases('r1');
      expect(phases.map((p) => p.id)).toEqual(['b', 'a', 'c']);
      expect(phases[0]).toEqual({ runId: 'r1', id: 'b', status: 'succeeded', startedAt: 1, finishedAt: 2 });

      for (const id of ['z', 'y']) await store.saveAgent(agent('r1', id));
      await store.saveAgent(agent('r1', 'z', { status: 'succeeded' }));
      expect((await store.listAgents('r1')).map((a) => `${a.id}:${a.status}`)).toEqual(['z:succeeded', 'y:pending']);
      expect(await store.getAgent('r1', 'nope')).toBeUndefined();
    });

    it('round-trips an agent result: structured output, usage, cost and error', async () => {
      await store.saveRun(run('r1'));
      const finished = agent('r1', 'a1', {
        status: 'failed',
        model: 'claude-sonnet-4-5',
        output: { text: 'partial', structured: { steps: ['a', { nested: [1, 2.5, null, true] }] } },
        context: { mode: 'filtered', entryIds: ['e1', 'e2'], tokens: 42, considered: 7 },
        mcp: {
          servers: ['memory'],
          chosen: [{ name: 'memory', reasons: ['listed'] }],
          missing: [{ name: 'gh', error: { code: 'BATON_MCP_UNAVAILABLE', message: 'down' } }],
        },
        usage: { inputTokens: 12345, outputTokens: 678, cacheReadTokens: 9, cacheCreationTokens: 10 },
        costUsd: 0.123456789,
        turns: 3,
        attempts: 2,
        durationMs: 1500,
        error: { code: 'BATON_MODEL_OVERLOADED', message: 'overloaded' },
        startedAt: 10,
        finishedAt: 20,
      });
      await store.saveAgent(finished);
      expect(await store.getAgent('r1', 'a1')).toEqual(finished);
    });

    it('round-trips orchestration fields: generated phases with outputs, swarm instances, worktrees, agent pids', async () => {
      await store.saveRun(run('r1'));
      const generated = {
        runId: 'r1',
        id: 'plan.g2.build',
        status: 'partial' as const,
        generation: 2,
        parentId: 'plan',
        spec: { id: 'plan.g2.build', agents: [{ id: 'plan.g2.build', prompt: 'build it' }] },
        output: {
          strategy: 'vote' as const,
          text: 'yes',
          structured: { verdict: 'yes' },
          details: { votes: { yes: 2, no: 1 }, ties: [] },
        },
        error: { code: ErrorCodes.conditionFalse, message: 'when: not met' },
      };
      await store.savePhase(generated);
      expect(await store.listPhases('r1')).toEqual([generated]);
      const instance = agent('r1', 'review.3', {
        entryId: 'review',
        generation: 1,
        index: 3,
        role: 'judge',
        workspace: {
          branch: 'baton/r1/review.3',
          path: '/tmp/wt',
          baseCommit: 'abc',
          commit: 'def',
          diffStat: { files: 2, insertions: 10, deletions: 1 },
        },
      });
      await store.saveAgent(instance);
      expect(await store.getAgent('r1', 'review.3')).toEqual(instance);
      const attempt = {
        runId: 'r1',
        agentId: 'review.3',
        attempt: 1,
        status: 'running' as const,
        resumed: false,
        startedAt: 5,
        usage: emptyUsage(),
        costUsd: 0,
        durationMs: 0,
        pid: 4242,
        host: 'h1',
      };
      await store.saveAttempt(attempt);
      expect(await store.listAttempts('r1', 'review.3')).toEqual([attempt]);
    });

    it('orders attempts by agent then attempt number', async () => {
      await store.saveRun(run('r1'));
      await store.saveAgent(agent('r1', 'second'));
      await store.saveAgent(agent('r1', 'first'));
      const attempt = (agentId: string, n: number) => ({
        runId: 'r1',
        agentId,
        attempt: n,
        status: 'failed' as const,
        resumed: n > 1,
        startedAt: n,
        usage: emptyUsage(),
        costUsd: 0.01,
        durationMs: 5,
      });
      await store.saveAttempt(attempt('first', 2));
      await store.saveAttempt(attempt('second', 1));
      await store.saveAttempt(attempt('first', 1));
      await store.saveAttempt({ ...attempt('first', 2), status: 'succeeded', finishedAt: 9 });
      expect((await store.listAttempts('r1')).map((a) => `${a.agentId}#${a.attempt}`)).toEqual([
        'second#1',
        'first#1',
        'first#2',
      ]);
      const firsts = await store.listAttempts('r1', 'first');
      expect(firsts.map((a) => a.attempt)).toEqual([1, 2]);
      expect(firsts[1]).toMatchObject({ status: 'succeeded', finishedAt: 9, resumed: true });
    });

    it('round-trips an attempt exactly: usage, fractional cost, error, optional fields', async () => {
      await store.saveRun(run('r1'));
      await store.saveAgent(agent('r1', 'a1'));
      const running = {
        runId: 'r1',
        agentId: 'a1',
        attempt: 1,
        status: 'running' as const,
        resumed: false,
        startedAt: 1_700_000_000_123,
        usage: emptyUsage(),
        costUsd: 0,
        durationMs: 0,
      };
      await store.saveAttempt(running);
      expect(await store.listAttempts('r1', 'a1')).toEqual([running]);
      const failed = {
        ...running,
        status: 'failed' as const,
        finishedAt: 1_700_000_004_567,
        usage: { inputTokens: 2_000_000, outputTokens: 31_337, cacheReadTokens: 123_456, cacheCreationTokens: 7 },
        costUsd: 0.1 + 0.2,
        durationMs: 4444,
        error: { code: 'BATON_MODEL_RATE_LIMITED' as const, message: 'slow down: "429"\nretry later' },
      };
      await store.saveAttempt(failed);
      expect(await store.listAttempts('r1', 'a1')).toEqual([failed]);
      // Cut off before Claude Code's result: Baton's estimate of its cost, on the attempt and its agent.
      const cutOff = { ...failed, attempt: 2, costUsd: 0.601515, estimatedCostUsd: 0.601515 };
      await store.saveAttempt(cutOff);
      expect((await store.listAttempts('r1', 'a1'))[1]).toEqual(cutOff);
      const agentCutOff = { ...agent('r1', 'a1'), costUsd: 0.9015, estimatedCostUsd: 0.601515 };
      await store.saveAgent(agentCutOff);
      expect(await store.getAgent('r1', 'a1')).toEqual(agentCutOff);
      expect(await store.listAttempts('r1', 'nobody')).toEqual([]);
      expect(await store.listAttempts('no-run')).toEqual([]);
    });

    it('round-trips and updates sessions', async () => {
      const session = { id: 's1', runId: 'r1', agentId: 'a1', status: 'created' as const, createdAt: 1, updatedAt: 1 };
      await store.saveSession(session);
      expect(await store.getSession('s1')).toEqual(session);
      await store.saveSession({ ...session, parentId: 's0', status: 'completed', updatedAt: 2 });
      expect(await store.getSession('s1')).toEqual({ ...session, parentId: 's0', status: 'completed', updatedAt: 2 });
      expect(await store.getSession('none')).toBeUndefined();
    });

    it('lists sessions newest first with filters, and deletes them', async () => {
      const session = (id: string, extra: Partial<import('./store.js').SessionRecord>) => ({
        id,
        runId: 'r1',
        agentId: id,
        status: 'completed' as const,
        createdAt: 1,
        updatedAt: 1,
        ...extra,
      });
      await store.saveSession(session('old', { updatedAt: 1, expiresAt: 10 }));
      await store.saveSession(session('new', { updatedAt: 5, expiresAt: 50, phaseId: 'p2' }));
      await store.saveSession(session('other', { runId: 'r2', updatedAt: 3, status: 'archived', archivedAt: 4 }));
      expect((await store.listSessions()).map((x) => x.id)).toEqual(['new', 'other', 'old']);
      expect((await store.listSessions({ runId: 'r1' })).map((x) => x.id)).toEqual(['new', 'old']);
      expect((await store.listSessions({ status: 'archived' })).map((x) => x.id)).toEqual(['other']);
      expect((await store.listSessions({ expiredBefore: 20 })).map((x) => x.id)).toEqual(['old']);
      expect((await store.getSession('new'))?.phaseId).toBe('p2');
      expect(await store.deleteSession('old')).toBe(true);
      expect(await store.deleteSession('old')).toBe(false);
      expect(await store.getSession('old')).toBeUndefined();
    });

    it('saves context entries with a checksum and version, and reads them back', async () => {
      const saved = await store.saveContextEntry(
        entry('The API uses cursor pagination', { tags: ['api'], summaryOf: undefined }),
      );
      expect(saved.version).toBe(1);
      expect(saved.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(await store.getContextEntry(saved.id)).toEqual(saved);
      expect(await store.getContextEntry('missing')).toBeUndefined();
      // Saving the same immutable fact again changes nothing; a different one under its id is refused.
      expect(await store.saveContextEntry({ ...saved, checksum: '', version: 0 })).toEqual(saved);
      await expect(store.saveContextEntry({ ...saved, content: 'rewritten' })).rejects.toMatchObject({
        code: 'BATON_CONTEXT_CONFLICT',
      });
    });

    it('updates a keyed entry only from the version it read (optimistic concurrency)', async () => {
      const first = await store.saveContextEntry(entry('Use SQLite', { type: 'decision', key: 'decision/db' }));
      const second = await store.saveContextEntry({ ...first, content: 'Use Postgres' }, { expectedVersion: 1 });
      expect(second).toMatchObject({ id: first.id, version: 2, content: 'Use Postgres' });
      // A writer that read version 1 loses the race and is told so; nothing is overwritten.
      await expect(
        store.saveContextEntry({ ...first, content: 'Use Redis' }, { expectedVersion: 1 }),
      ).rejects.toMatchObject({
        code: 'BATON_CONTEXT_CONFLICT',
        message: expect.stringContaining('key "decision/db"'),
      });
      expect((await store.getContextEntryByKey('r1', 'decision/db'))?.content).toBe('Use Postgres');
      await expect(
        store.saveContextEntry(entry('x', { key: 'new/key' }), { expectedVersion: 3 }),
      ).rejects.toMatchObject({ code: 'BATON_CONTEXT_CONFLICT' });
    });

    it('keeps the values keyed entries had before an update, each with its own source, per run', async () => {
      const first = await store.saveContextEntry(
        entry('Use SQLite', { type: 'decision', key: 'decision/db', phaseId: 'plan', agentId: 'architect' }),
      );
      const moved = { phaseId: 'review', agentId: 'reviewer', sessionId: 's9', updatedAt: first.updatedAt + 10 };
      const second = await store.saveContextEntry(
        { ...first, ...moved, content: 'Use Postgres' },
        { expectedVersion: 1 },
      );
      await store.saveContextEntry({ ...second, content: 'Use Postgres 16' }, { expectedVersion: 2 });
      // A lost race replaces nothing: no second copy of version 2, nothing of the loser's value.
      await expect(store.saveContextEntry({ ...first, content: 'Redis' }, { expectedVersion: 2 })).rejects.toThrow();
      await store.saveContextEntry(entry('unkeyed', { runId: 'r2' }));
      const replaced = await store.listReplacedContext('r1');
      expect(replaced.corrupt).toEqual([]);
      expect(replaced.entries.map((e) => [e.content, e.version, e.phaseId, e.agentId])).toEqual([
        ['Use SQLite', 1, 'plan', 'architect'],
        ['Use Postgres', 2, 'review', 'reviewer'],
      ]);
      expect(replaced.entries[0]).toEqual(first);
      expect(await store.listReplacedContext('r2')).toEqual({ entries: [], corrupt: [] });
      // The current value is listed under its updater's phase, as before.
      expect((await store.listContextEntries({ runId: 'r1', phaseIds: ['plan'] })).entries).toEqual([]);
    });

    it('lists context by run, phase, session and level, in saved order', async () => {
      const a = await store.saveContextEntry(entry('a', { phaseId: 'p1' }));
      const b = await store.saveContextEntry(entry('b', { phaseId: 'p2', sessionId: 's2' }));
      const c = await store.saveContextEntry(
        entry('c', { phaseId: 'p2', level: 1, type: 'summary', summaryOf: [b.id] }),
      );
      await store.saveContextEntry(entry('d', { runId: 'r2' }));
      const ids = async (q: Parameters<Store['listContextEntries']>[0]) =>
        (await store.listContextEntries(q)).entries.map((x) => x.id);
      expect(await ids({ runId: 'r1' })).toEqual([a.id, b.id, c.id]);
      expect(await ids({ runId: 'r1', phaseIds: ['p2'] })).toEqual([b.id, c.id]);
      expect(await ids({ runId: 'r1', sessionIds: ['s2'] })).toEqual([b.id]);
      expect(await ids({ runId: 'r1', level: 1 })).toEqual([c.id]);
      expect((await store.listContextEntries({ runId: 'r1', level: 1 })).entries[0]?.summaryOf).toEqual([b.id]);
      expect((await store.listContextEntries({ runId: 'r1' })).corrupt).toEqual([]);
    });

    it('finds the entries most relevant to a text', async () => {
      await store.saveContextEntry(entry('The billing service retries webhooks three times'));
      const target = await store.saveContextEntry(
        entry('Rate limiting on the payments API is 100 requests per minute', { tags: ['payments'] }),
      );
      await store.saveContextEntry(entry('Frontend uses React with Vite'));
      await store.saveContextEntry(entry('Payments API rate limiting', { runId: 'other-run' }));
      const hits = await store.searchContext({
        runId: 'r1',
        text: 'What is the rate limit of the payments API?',
        limit: 5,
      });
      expect(hits[0]?.entry.id).toBe(target.id);
      expect(hits[0]!.relevance).toBeGreaterThan(0);
      expect(hits.every((h) => h.entry.runId === 'r1')).toBe(true);
      expect(await store.searchContext({ runId: 'r1', text: 'the and of', limit: 5 })).toEqual([]);
    });

    it('matches a word by its Porter stem, and ranks the matches the same in every store', async () => {
      const logs = await store.saveContextEntry(entry('The worker logs every retry'));
      const logged = await store.saveContextEntry(entry('Requests are logged with their trace id and status'));
      await store.saveContextEntry(entry('Billing runs nightly'));
      const cafe = await store.saveContextEntry(entry('Le café ouvre à huit heures'));
      // "logging", "logs" and "logged" share the stem "log"; the shorter entry ranks first (BM25).
      const hits = await store.searchContext({ runId: 'r1', text: 'logging', limit: 5 });
      expect(hits.map((h) => h.entry.id)).toEqual([logs.id, logged.id]);
      expect(hits[0]!.relevance).toBeGreaterThan(hits[1]!.relevance);
      // Diacritics are folded, as SQLite's unicode61 tokenizer folds them.
      expect((await store.searchContext({ runId: 'r1', text: 'CAFE', limit: 5 })).map((h) => h.entry.id)).toEqual([
        cafe.id,
      ]);
    });

    it('appends to the audit trail, lists it oldest first with filters, and prunes by age', async () => {
      await store.saveAuditEvent({
        at: 10,
        actor: 'ann@host',
        action: 'run.started',
        target: 'r1',
        details: { workflow: 'wf' },
      });
      await store.saveAuditEvent({
        at: 20,
        actor: 'bob@host',
        action: 'run.cancel_requested',
        target: 'r1',
        details: {},
      });
      await store.saveAuditEvent({
        at: 30,
        actor: 'ann@host',
        action: 'config.changed',
        details: { keys: ['parallel_limit'] },
      });
      expect((await store.listAuditEvents()).map((e) => e.action)).toEqual([
        'run.started',
        'run.cancel_requested',
        'config.changed',
      ]);
      expect(await store.listAuditEvents({ action: 'run.cancel_requested' })).toEqual([
        { at: 20, actor: 'bob@host', action: 'run.cancel_requested', target: 'r1', details: {} },
      ]);
      expect((await store.listAuditEvents({ since: 20 })).map((e) => e.at)).toEqual([20, 30]);
      expect((await store.listAuditEvents({ limit: 2 })).map((e) => e.at)).toEqual([20, 30]);
      expect(await store.pruneAuditEvents(25)).toBe(2);
      expect((await store.listAuditEvents()).map((e) => e.action)).toEqual(['config.changed']);
    });

    it('searches only the phases asked for, at most `limit` hits, best first', async () => {
      const strong = await store.saveContextEntry(
        entry('Webhook retries: webhooks are retried with webhook backoff', { phaseId: 'p1' }),
      );
      const weak = await store.saveContextEntry(entry('Webhook payloads are signed', { phaseId: 'p1' }));
      const elsewhere = await store.saveContextEntry(entry('Webhook retries use webhooks queues', { phaseId: 'p2' }));
      for (let i = 0; i < 5; i++)
        await store.saveContextEntry(entry(`Unrelated note ${i} about invoices`, { phaseId: 'p1' }));
      const inP1 = await store.searchContext({ runId: 'r1', text: 'webhook retries', phaseIds: ['p1'], limit: 5 });
      expect(inP1.map((h) => h.entry.id)).toEqual([strong.id, weak.id]);
      expect(inP1[0]!.relevance).toBeGreaterThan(inP1[1]!.relevance);
      expect(
        (await store.searchContext({ runId: 'r1', text: 'webhook retries', limit: 1 })).map((h) => h.entry.id),
      ).toHaveLength(1);
      expect(
        (await store.searchContext({ runId: 'r1', text: 'webhook', phaseIds: ['p2'], limit: 5 })).map(
          (h) => h.entry.id,
        ),
      ).toEqual([elsewhere.id]);
      expect(await store.searchContext({ runId: 'r1', text: 'webhook', phaseIds: [], limit: 5 })).toEqual([]);
      expect(await store.searchContext({ runId: 'r1', text: 'kubernetes', limit: 5 })).toEqual([]);
    });

    it('gives the newest entries of each type in the phases asked for, at one level', async () => {
      const saved: Record<string, ContextEntry> = {};
      for (const [name, extra] of [
        ['d1', { type: 'decision', phaseId: 'p1' }],
        ['f1', { type: 'finding', phaseId: 'p1' }],
        ['d2', { type: 'decision', phaseId: 'p2' }],
        ['f2', { type: 'finding', phaseId: 'p1' }],
        ['d3', { type: 'decision', phaseId: 'p1' }],
        ['other-phase', { type: 'finding', phaseId: 'p3' }],
        ['summary', { type: 'summary', phaseId: 'p1', level: 1 }],
        ['other-run', { type: 'finding', phaseId: 'p1', runId: 'r2' }],
      ] as const) {
        saved[name] = await store.saveContextEntry(entry(name, extra));
      }
      const recent = await store.recentContext({ runId: 'r1', phaseIds: ['p1', 'p2'], level: 0, perType: 2 });
      // Types in their declared order (decision, finding, …), each newest first.
      expect(recent.map((e) => e.content)).toEqual(['d3', 'd2', 'f2', 'f1']);
      expect(
        (await store.recentContext({ runId: 'r1', phaseIds: ['p1'], level: 1, perType: 5 })).map((e) => e.id),
      ).toEqual([saved.summary!.id]);
      expect(await store.recentContext({ runId: 'r1', phaseIds: [], level: 0, perType: 5 })).toEqual([]);
    });

    it('limits listings of sessions and context, and lists context of every run when no run is given', async () => {
      for (const [id, updatedAt] of [
        ['s1', 1],
        ['s2', 3],
        ['s3', 2],
      ] as const)
        await store.saveSession({ id, runId: 'r1', agentId: id, status: 'completed', createdAt: 1, updatedAt });
      expect((await store.listSessions({ limit: 2 })).map((s) => s.id)).toEqual(['s2', 's3']);
      const a = await store.saveContextEntry(entry('a'));
      const b = await store.saveContextEntry(entry('b', { runId: 'r2' }));
      await store.saveContextEntry(entry('c'));
      expect((await store.listContextEntries({})).entries.map((e) => e.id)).toEqual([a.id, b.id, expect.any(String)]);
      expect((await store.listContextEntries({ runId: 'r1', limit: 1 })).entries.map((e) => e.id)).toEqual([a.id]);
      expect(await store.getContextEntryByKey('r1', 'no/such/key')).toBeUndefined();
    });

    it('upserts merge reports per run and phase and lists them in first-saved order', async () => {
      await store.saveRun(run('r1'));
      await store.saveRun(run('r2'));
      const report = (phaseId: string, extra: Partial<MergeReport> = {}): MergeReport => ({
        runId: 'r1',
        phaseId,
        status: 'running',
        into: `baton/r1/${phaseId}`,
        createdBranch: true,
        baseCommit: 'a'.repeat(40),
        head: 'a'.repeat(40),
        round: 1,
        steps: [],
        startedAt: 5,
        ...extra,
      });
      await store.saveMergeReport(report('edit'));
      await store.saveMergeReport(report('docs'));
      const finished = report('edit', {
        status: 'partial',
        head: 'b'.repeat(40),
        finishedAt: 9,
        steps: [
          {
            agentId: 'a1',
            branch: 'baton/r1/a1',
            commit: 'c'.repeat(40),
            outcome: 'resolved',
            conflictFiles: ['src/x.ts'],
            resolver: { agentId: 'edit.resolve.a1.1', status: 'succeeded' },
            verify: { command: 'npm test', exitCode: 0, outputTail: 'ok', durationMs: 12 },
            head: 'b'.repeat(40),
          },
          {
            agentId: 'a2',
            branch: 'baton/r1/a2',
            outcome: 'skipped',
            reason: 'verify-failed',
            verify: { command: 'npm test', exitCode: null, outputTail: '', durationMs: 3, timedOut: true },
            head: 'b'.repeat(40),
          },
        ],
        pr: { skipped: 'gh is not on PATH' },
        error: { code: 'BATON_MERGE_FAILED', message: 'x' },
      });
      await store.saveMergeReport(finished);
      await store.saveMergeReport(report('edit', { runId: 'r2' }));
      expect(await store.listMergeReports('r1')).toEqual([finished, report('docs')]);
      expect((await store.listMergeReports('r2')).map((r) => r.phaseId)).toEqual(['edit']);
      expect(await store.listMergeReports('none')).toEqual([]);
    });

    it('keeps tool calls per agent, updates a call when it ends, lists them in start order and prunes old ones', async () => {
      await store.saveRun(run('r1'));
      await store.saveToolCall(toolCall('b', 1, 1, 100));
      await store.saveToolCall(toolCall('a', 1, 1, 100));
      await store.saveToolCall(toolCall('a', 2, 1, 300));
      await store.saveToolCall(toolCall('a', 1, 2, 200));
      const ended: ToolCallRecord = {
        ...toolCall('a', 1, 1, 100),
        status: 'error',
        finishedAt: 150,
        durationMs: 50,
        outputPreview: 'Error: no such entity',
        permission: { decision: 'deny', by: 'rule' },
      };
      await store.saveToolCall(ended);
      const order = (calls: ToolCallRecord[]): string[] => calls.map((c) => `${c.agentId}${c.attempt}.${c.seq}`);
      expect(order(await store.listToolCalls('r1'))).toEqual(['a1.1', 'b1.1', 'a1.2', 'a2.1']);
      const ofA = await store.listToolCalls('r1', 'a');
      expect(order(ofA)).toEqual(['a1.1', 'a1.2', 'a2.1']);
      expect(ofA[0]).toEqual(ended);
      expect(await store.listToolCalls('r2')).toEqual([]);
      expect(await store.pruneToolCalls(200)).toBe(2);
      expect(order(await store.listToolCalls('r1'))).toEqual(['a1.2', 'a2.1']);
    });

    it('keeps every one of 200 agents saved concurrently', async () => {
      await store.saveRun(run('r1'));
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.saveAgent(agent('r1', `a${i}`))));
      const agents = await store.listAgents('r1');
      expect(new Set(agents.map((a) => a.id)).size).toBe(200);
    });

    it('keeps approval requests: the first save wins, listings by run and status, oldest first', async () => {
      expect(await store.saveApproval(approval('q2', { requestedAt: 2_000 }))).toEqual(
        approval('q2', { requestedAt: 2_000 }),
      );
      await store.saveApproval(approval('q1'));
      await store.saveApproval(
        approval('q3', { runId: 'r2', kind: 'phase.before', phaseId: 'p1', requestedAt: 3_000 }),
      );
      // Asking the same question again (after a crash) returns the stored request unchanged.
      expect(await store.saveApproval(approval('q1', { requestedAt: 9_999 }))).toEqual(approval('q1'));
      expect((await store.listApprovals()).map((a) => a.id)).toEqual(['q1', 'q2', 'q3']);
      expect((await store.listApprovals({ runId: 'r1' })).map((a) => a.id)).toEqual(['q1', 'q2']);
      expect(await store.getApproval('q3')).toEqual(
        approval('q3', { runId: 'r2', kind: 'phase.before', phaseId: 'p1', requestedAt: 3_000 }),
      );
      expect(await store.getApproval('nope')).toBeUndefined();
    });

    it('answers a pending approval once: the first answer wins, listings follow the status', async () => {
      await store.saveApproval(approval('q1'));
      await store.saveApproval(approval('q2', { requestedAt: 1_500 }));
      const answer = { by: 'ann@host', at: 1_234, message: 'go ahead' };
      const [first, second] = await Promise.all([
        store.saveApprovalDecision({ id: 'q1', status: 'approved', answer }),
        store.saveApprovalDecision({ id: 'q1', status: 'denied', answer: { by: 'bob@host', at: 1_235 } }),
      ]);
      expect(first).toEqual({ ...approval('q1'), status: 'approved', answer });
      expect(second).toBeUndefined();
      expect(await store.getApproval('q1')).toEqual({ ...approval('q1'), status: 'approved', answer });
      expect(await store.saveApprovalDecision({ id: 'missing', status: 'denied', answer })).toBeUndefined();
      expect((await store.listApprovals({ status: 'pending' })).map((a) => a.id)).toEqual(['q2']);
      expect((await store.listApprovals({ runId: 'r1', status: 'approved' })).map((a) => a.id)).toEqual(['q1']);
      expect(await store.listApprovals({ runId: 'r2', status: 'pending' })).toEqual([]);
    });

    it("keeps each source's MCP health per run and server: a later save replaces that source's server only", async () => {
      const health = (name: string, extra: Partial<ServerRunHealth> = {}): ServerRunHealth => ({
        name,
        scope: 'run',
        breaker: 'closed',
        calls: 1,
        failures: 0,
        crashes: 0,
        restarts: 0,
        ...extra,
      });
      await store.saveRun(run('r1'));
      await store.saveRun(run('r2'));
      await store.saveMcpHealth('r1', 'orchestrator', [health('memory'), health('fetch', { scope: 'remote' })]);
      await store.saveMcpHealth('r1', 'host-a:42', [health('memory', { calls: 3 })]);
      const later = health('memory', {
        calls: 7,
        failures: 1,
        crashes: 1,
        restarts: 1,
        p50Ms: 2.5,
        lastError: 'exited',
      });
      await store.saveMcpHealth('r1', 'host-a:42', [later]);
      await store.saveMcpHealth('r2', 'orchestrator', [health('memory', { calls: 9 })]);
      await store.saveMcpHealth('r2', 'orchestrator', []);
      expect(await store.listMcpHealth('r1')).toEqual([
        { ...later, source: 'host-a:42' },
        { ...health('fetch', { scope: 'remote' }), source: 'orchestrator' },
        { ...health('memory'), source: 'orchestrator' },
      ]);
      expect(await store.listMcpHealth('r2')).toEqual([{ ...health('memory', { calls: 9 }), source: 'orchestrator' }]);
      expect(await store.listMcpHealth('none')).toEqual([]);
    });

    it("keeps Baton's own model calls per run: upserted by id, listed by start time then id, with their tenant", async () => {
      const call = (id: string, startedAt: number, extra: Partial<BatonCallRecord> = {}): BatonCallRecord => ({
        id,
        runId: 'r1',
        tenant: 'team-a',
        purpose: 'summary',
        usage: { inputTokens: 120, outputTokens: 30, cacheReadTokens: 5, cacheCreationTokens: 7 },
        costUsd: 0.0125,
        startedAt,
        finishedAt: startedAt + 40,
        ...extra,
      });
      await store.saveRun(run('r1'));
      await store.saveBatonCall(call('s-b', 200, { purpose: 'rerank', model: 'claude-haiku-4-5' }));
      await store.saveBatonCall(call('s-c', 100));
      await store.saveBatonCall(call('s-a', 200));
      await store.saveBatonCall(call('s-c', 100, { costUsd: 0.5 }));
      await store.saveBatonCall(call('s-d', 50, { runId: 'r2', tenant: 'team-b' }));
      expect(await store.listBatonCalls('r1')).toEqual([
        call('s-c', 100, { costUsd: 0.5 }),
        call('s-a', 200),
        call('s-b', 200, { purpose: 'rerank', model: 'claude-haiku-4-5' }),
      ]);
      expect(await store.listBatonCalls('r2')).toEqual([call('s-d', 50, { runId: 'r2', tenant: 'team-b' })]);
      expect(await store.listBatonCalls('none')).toEqual([]);
    });
  });
}
