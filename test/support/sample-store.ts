import { emptyUsage, type AgentRecord, type ContextEntry, type Store } from '../../src/store/index.js';

const contextEntry = (id: string, runId: string, content: string, extra: Partial<ContextEntry> = {}): ContextEntry => ({
  id,
  runId,
  phaseId: 'design',
  sessionId: `session-${runId}-planner`,
  agentId: 'planner',
  type: 'finding',
  content,
  tags: [],
  tokens: 8,
  level: 0,
  checksum: '',
  version: 0,
  createdAt: 1_700_000_000_100,
  updatedAt: 1_700_000_000_100,
  ...extra,
});

const agent = (runId: string, id: string, phaseId: string, extra: Partial<AgentRecord> = {}): AgentRecord => ({
  runId,
  phaseId,
  id,
  sessionId: `session-${runId}-${id}`,
  status: 'succeeded',
  prompt: `do ${id}`,
  systemPrompt: 'You are part of a Baton run.',
  usage: { inputTokens: 1200, outputTokens: 340, cacheReadTokens: 5, cacheCreationTokens: 0 },
  costUsd: 0.0123,
  turns: 2,
  attempts: 1,
  durationMs: 900,
  startedAt: 1_700_000_000_010,
  finishedAt: 1_700_000_000_910,
  ...extra,
});

/**
 * Fills a store, through the Store interface only, with one of everything a migration must carry:
 * two runs (one cancelled, other tenant), phases with outputs, agents with structured results and
 * worktrees, retried attempts, sessions (one whose run is gone), unkeyed, keyed (version 3) and summary
 * context entries, and audit events (two identical ones).
 */
export async function fillSampleStore(store: Store): Promise<void> {
  const workflow = { version: 1, name: 'ship', phases: [{ id: 'design' }, { id: 'build', dependsOn: ['design'] }] };
  await store.saveRun({
    id: 'run-a',
    workflowName: 'ship',
    tenant: 'default',
    workflow,
    status: 'succeeded',
    createdAt: 1_700_000_000_000,
    startedAt: 1_700_000_000_001,
    finishedAt: 1_700_000_001_000,
    pid: 4242,
    host: 'ci-1',
    priority: 2,
  });
  // As every run's orchestrator records it while it runs, apart from the record.
  await store.markRunAlive('run-a', 1_700_000_000_900);
  await store.saveRun({
    id: 'run-b',
    workflowName: 'ship',
    tenant: 'team-b',
    workflow,
    status: 'cancelled',
    createdAt: 1_700_000_005_000,
    error: { code: 'BATON_CANCELLED', message: 'cancelled by SIGINT' },
    resumes: 1,
  });
  await store.requestCancel('run-b');
  for (const runId of ['run-a', 'run-b']) {
    await store.savePhase({
      runId,
      id: 'design',
      status: 'succeeded',
      startedAt: 1,
      finishedAt: 2,
      output: { strategy: 'single', text: 'a design' },
    });
    await store.savePhase({
      runId,
      id: 'build',
      status: runId === 'run-a' ? 'succeeded' : 'cancelled',
      generation: 1,
      parentId: 'design',
      spec: { id: 'build', agents: [] },
    });
    await store.saveAgent(
      agent(runId, 'planner', 'design', {
        output: { text: 'plan', structured: { steps: ['a', { n: 1.5 }] } },
        model: 'claude-sonnet-4-5',
      }),
    );
    await store.saveAgent(
      agent(runId, 'builder.0', 'build', {
        entryId: 'builder',
        index: 0,
        role: 'worker',
        attempts: 2,
        workspace: {
          branch: `baton/${runId}/builder.0`,
          path: '/tmp/wt',
          baseCommit: 'abc',
          commit: 'def',
          diffStat: { files: 1, insertions: 3, deletions: 0 },
        },
      }),
    );
    const attempt = {
      runId,
      agentId: 'builder.0',
      resumed: false,
      startedAt: 10,
      usage: emptyUsage(),
      costUsd: 0.001,
      durationMs: 50,
    };
    await store.saveAttempt({
      ...attempt,
      attempt: 1,
      status: 'failed',
      finishedAt: 60,
      error: { code: 'BATON_MODEL_OVERLOADED', message: 'overloaded' },
    });
    await store.saveAttempt({
      ...attempt,
      attempt: 2,
      status: 'succeeded',
      resumed: true,
      finishedAt: 90,
      pid: 777,
      host: 'ci-1',
    });
    await store.saveAttempt({ ...attempt, agentId: 'planner', attempt: 1, status: 'succeeded' });
    // One request still waiting and one answered: a resumed run on the target finds both.
    const request = {
      kind: 'tool' as const,
      runId,
      agentId: 'builder.0',
      tool: 'Bash',
      summary: 'Bash(git push)',
      rule: 'Bash(git push:*)',
      requestedAt: 40,
      deadline: 4_000,
      onTimeout: 'deny' as const,
    };
    await store.saveApproval({ ...request, id: `${runId}-waiting`, status: 'pending' });
    await store.saveApproval({
      ...request,
      id: `${runId}-answered`,
      requestedAt: 30,
      status: 'approved',
      answer: { by: 'ann@box', at: 50, message: 'go' },
    });
    // Two tool calls of the retried attempt: one that failed, one still running when it was stored.
    const toolCall = { runId: attempt.runId, agentId: attempt.agentId, attempt: 2, turn: 1, inputPreview: '{}' };
    await store.saveToolCall({
      ...toolCall,
      seq: 1,
      toolUseId: 'toolu_1',
      name: 'mcp__git__log',
      server: 'git',
      startedAt: 70,
      finishedAt: 75,
      durationMs: 5,
      status: 'error',
      outputPreview: 'not a git repository',
    });
    await store.saveToolCall({
      ...toolCall,
      seq: 2,
      toolUseId: 'toolu_2',
      name: 'Bash',
      startedAt: 80,
      status: 'running',
    });
    // The git server's health as the orchestrator and one worker saw it.
    const git = { name: 'git', scope: 'run', breaker: 'closed', failures: 0, crashes: 0, restarts: 0 } as const;
    await store.saveMcpHealth(runId, 'orchestrator', [{ ...git, calls: 0 }]);
    await store.saveMcpHealth(runId, 'worker-1:42', [{ ...git, calls: 3, failures: 1, p50Ms: 4, lastError: 'boom' }]);
    // The summary Baton asked a model for: its spend is the run's.
    const usage = { inputTokens: 900, outputTokens: 80, cacheReadTokens: 0, cacheCreationTokens: 12 };
    const tenant = runId === 'run-b' ? 'team-b' : 'default';
    const summaryCall = { runId, tenant, purpose: 'summary', usage, costUsd: 0.0042 } as const;
    await store.saveBatonCall({ ...summaryCall, id: `call-${runId}`, startedAt: 40, finishedAt: 44 });
    for (const id of ['planner', 'builder.0']) {
      await store.saveSession({
        id: `session-${runId}-${id}`,
        runId,
        agentId: id,
        phaseId: id === 'planner' ? 'design' : 'build',
        status: 'completed',
        createdAt: 5,
        updatedAt: runId === 'run-a' ? 20 : 30,
        expiresAt: 1_000,
      });
    }
  }
  await store.saveSession({
    id: 'session-orphan',
    runId: 'run-gone',
    agentId: 'x',
    parentId: 'session-run-a-planner',
    status: 'archived',
    createdAt: 1,
    updatedAt: 2,
    archivedAt: 3,
  });

  const finding = await store.saveContextEntry(
    contextEntry('ctx-1', 'run-a', 'The payments API is rate limited to 100 requests per minute', {
      tags: ['payments'],
    }),
  );
  let decision = await store.saveContextEntry(
    contextEntry('ctx-2', 'run-a', 'Use SQLite', { type: 'decision', key: 'decision/database' }),
  );
  for (const choice of ['Use Postgres', 'Use Postgres 16 with pgbouncer']) {
    decision = await store.saveContextEntry(
      { ...decision, content: choice, updatedAt: decision.updatedAt + 1 },
      { expectedVersion: decision.version },
    );
  }
  await store.saveContextEntry(
    contextEntry('ctx-3', 'run-a', 'Design: Postgres behind a rate-limited payments API', {
      type: 'summary',
      level: 1,
      phaseId: 'design',
      summaryOf: [finding.id, decision.id],
    }),
  );
  await store.saveContextEntry(
    contextEntry('ctx-4', 'run-b', 'The build was cancelled before the cache was warmed', {
      type: 'error',
      phaseId: 'build',
      sessionId: 'session-run-b-builder.0',
      agentId: 'builder.0',
    }),
  );
  await store.saveContextEntry(
    contextEntry('ctx-5', 'run-gone', 'An entry whose run record no longer exists', { phaseId: undefined }),
  );

  await store.saveAuditEvent({
    at: 1_700_000_000_000,
    actor: 'ann@ci-1',
    action: 'run.started',
    target: 'run-a',
    details: { workflow: 'ship' },
  });
  await store.saveAuditEvent({
    at: 1_700_000_005_500,
    actor: 'bob@laptop',
    action: 'run.cancel_requested',
    target: 'run-b',
    details: {},
  });
  await store.saveAuditEvent({
    at: 1_700_000_005_500,
    actor: 'bob@laptop',
    action: 'run.cancel_requested',
    target: 'run-b',
    details: {},
  });
  await store.saveAuditEvent({
    at: 1_700_000_006_000,
    actor: 'ann@ci-1',
    action: 'config.changed',
    details: { keys: ['parallel_limit'], sources: ['baton.config.yaml'] },
  });
}

/** Everything a store gives back through its interface, for comparing two stores. */
export async function readEverything(store: Store): Promise<Record<string, unknown>> {
  const runs = (await store.listRuns()).reverse();
  const perRun = await Promise.all(
    runs.map(async (run) => ({
      run,
      cancel: await store.isCancelRequested(run.id),
      phases: await store.listPhases(run.id),
      agents: await store.listAgents(run.id),
      attempts: await store.listAttempts(run.id),
      approvals: await store.listApprovals({ runId: run.id }),
      toolCalls: await store.listToolCalls(run.id),
      batonCalls: await store.listBatonCalls(run.id),
    })),
  );
  return {
    runs: perRun,
    sessions: await store.listSessions(),
    context: await store.listContextEntries({}),
    byKey: await store.getContextEntryByKey('run-a', 'decision/database'),
    search: (await store.searchContext({ runId: 'run-a', text: 'payments rate limit', limit: 5 })).map(
      (h) => h.entry.id,
    ),
    recent: (await store.recentContext({ runId: 'run-a', phaseIds: ['design'], level: 0, perType: 5 })).map(
      (e) => e.id,
    ),
    audit: await store.listAuditEvents(),
  };
}
