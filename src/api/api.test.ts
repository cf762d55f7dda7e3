import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes, isBatonError } from '../core/index.js';
import { agentRecord } from '../../test/support/records.js';
import { useTempStore } from '../../test/support/temp-store.js';
import { defineWorkflow, getAgentTimeline, getRun, listRuns, resume, run, usage } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const where = { config: { data_dir: join(dir, 'data') } };
const temp = useTempStore('baton-api-store-');

const rejection = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isBatonError(error), String(error)).toBe(true);
  return error as { code: string; message: string };
};

describe('the library API', () => {
  it('defineWorkflow validates with the YAML schema and fills in its defaults', () => {
    const workflow = defineWorkflow({
      version: 1,
      name: 'w',
      phases: [{ id: 'p', agents: [{ id: 'a', prompt: 'hi' }] }],
    });
    expect(workflow.context).toEqual({
      inherit: 'filtered',
      budgetTokens: 2000,
      summarizer: 'agent',
      rerank: 'none',
      superseded: 'omit',
    });
    expect(workflow.phases[0]!.workspace).toBe('shared');
    let error: unknown;
    try {
      defineWorkflow({
        version: 1,
        name: 'w',
        phases: [{ id: 'p', dependsOn: ['q'], agents: [{ id: 'a', prompt: ' ' }] }],
      });
    } catch (e) {
      error = e;
    }
    expect(isBatonError(error) && error.code).toBe(ErrorCodes.workflowInvalid);
    expect(String((error as Error).message)).toContain('phases[0].agents[0].prompt: an agent needs a non-empty prompt');
    expect(String((error as Error).message)).toContain('phases[0].dependsOn[0]: unknown phase "q"');
  });

  it('names the field path, and no line, of a workflow object given to run() without defineWorkflow', async () => {
    const workflow = { version: 1, name: 'w', phases: [{ id: 'p', agents: [{ id: 'a', prompt: ' ' }] }] };
    const error = await rejection(run(workflow as Parameters<typeof run>[0], where).result);
    expect(error.code).toBe(ErrorCodes.workflowInvalid);
    expect(error.message).toContain('- workflow w: phases[0].agents[0].prompt: an agent needs a non-empty prompt');
    expect(error.message).not.toMatch(/workflow w:\d/);
    const notAWorkflow = await rejection(run(5 as unknown as Parameters<typeof run>[0], where).result);
    expect(notAWorkflow.message).toContain('- workflow: (root): expected object, received number');
  });

  it('bad input to run() or resume() leaves data_dir as it was: no store is made for a run that never starts', async () => {
    const fresh = { config: { data_dir: join(dir, 'never-made') } };
    const invalid = { version: 1, name: 'w', phases: [{ id: 'p', agents: [{ id: 'a', prompt: ' ' }] }] };
    expect((await rejection(run(invalid as Parameters<typeof run>[0], fresh).result)).code).toBe(
      ErrorCodes.workflowInvalid,
    );
    expect((await rejection(resume('ffffffff', fresh).result)).code).toBe(ErrorCodes.runNotFound);
    expect(existsSync(fresh.config.data_dir)).toBe(false);
  });

  it('refuses a workflow in code that is not plain data: a cycle, or nesting past 64 levels, naming the field', () => {
    const invalid = (outputSchema: Record<string, unknown>) => {
      try {
        defineWorkflow({
          version: 1,
          name: 'w',
          phases: [{ id: 'p', agents: [{ id: 'a', prompt: 'x', outputSchema }] }],
        });
      } catch (error) {
        return error as { code: string; message: string };
      }
      return { code: 'accepted', message: '' };
    };
    const cyclic: Record<string, unknown> = { type: 'object' };
    cyclic.properties = { self: cyclic };
    const cycle = invalid(cyclic);
    expect(cycle.code).toBe(ErrorCodes.workflowInvalid);
    expect(cycle.message).toContain('- workflow w: phases[0].agents[0].outputSchema.properties.self: ');
    expect(cycle.message).toContain('cycle');
    const deep: Record<string, unknown> = {};
    let level = deep;
    for (let i = 0; i < 5000; i++) level = level.x = {};
    const nested = invalid(deep);
    expect(nested.code).toBe(ErrorCodes.workflowInvalid);
    expect(nested.message).toMatch(/phases\[0\]\.agents\[0\]\.outputSchema(\.x)+: nested more than 64 levels deep/);
    // The same object twice (not a cycle) is fine.
    const shared = { type: 'string' };
    expect(invalid({ type: 'object', properties: { a: shared, b: shared } }).code).toBe('accepted');
  });

  it('rejects bad settings given in code as BATON_CONFIG_INVALID, naming the key, before anything runs', async () => {
    const workflow = defineWorkflow({
      version: 1,
      name: 'w',
      phases: [{ id: 'p', agents: [{ id: 'a', prompt: 'hi' }] }],
    });
    const handle = run(workflow, { config: { parallel_limit: 0 } });
    const error = await rejection(handle.result);
    expect(error.code).toBe(ErrorCodes.configInvalid);
    expect(error.message).toContain('parallel_limit');
    // The event stream ends with the same error.
    await expect(
      (async () => {
        for await (const _ of handle) void _;
      })(),
    ).rejects.toThrow(/parallel_limit/);
  });

  it('reads an empty store: no runs, zero usage, and a clear error for an unknown run id', async () => {
    expect(await listRuns(where)).toEqual([]);
    expect((await usage({ ...where, by: 'workflow' })).totals.agents).toBe(0);
    // As `baton status nope` says it (docs/troubleshooting.md).
    const error = await rejection(getRun('nope', where));
    expect(error.code).toBe(ErrorCodes.runNotFound);
    expect(error.message).toContain('No run with id nope');
  });

  it("getAgentTimeline reads an agent's attempts and tool calls, and names the agent it cannot find", async () => {
    const { store } = temp;
    const runId = 'run-timeline';
    await store.saveRun({
      id: runId,
      workflowName: 'w',
      tenant: 'default',
      workflow: {},
      status: 'succeeded',
      createdAt: 1,
    });
    await store.saveAgent(agentRecord({ runId, id: 'reader', status: 'succeeded' }));
    await store.saveAttempt({
      ...{ runId, agentId: 'reader', attempt: 1, status: 'succeeded', resumed: false, startedAt: 10 },
      ...{
        usage: { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheCreationTokens: 0 },
        costUsd: 0,
        durationMs: 5,
      },
    });
    await store.saveToolCall({
      ...{ runId, agentId: 'reader', attempt: 1, seq: 1, toolUseId: 'toolu_1', name: 'Read', turn: 1 },
      ...{ startedAt: 11, finishedAt: 13, durationMs: 2, status: 'error', inputPreview: '{}', outputPreview: 'ENOENT' },
    });
    const timeline = await getAgentTimeline(runId, 'reader', { store });
    expect(timeline.attempts.map((a) => a.toolCalls.map((c) => [c.name, c.status, c.outputPreview]))).toEqual([
      [['Read', 'error', 'ENOENT']],
    ]);
    const missing = await rejection(getAgentTimeline(runId, 'nobody', { store }));
    expect(missing.code).toBe(ErrorCodes.agentNotFound);
    expect(missing.message).toContain('nobody');
    expect((await rejection(getAgentTimeline('nope', 'reader', { store }))).code).toBe(ErrorCodes.runNotFound);
  });

  it('takes the start of a run id, as the CLI does, and names a missing run BATON_RUN_NOT_FOUND everywhere', async () => {
    const { store } = temp;
    const saveRun = (id: string, tenant = 'default') =>
      store.saveRun({ id, workflowName: 'w', tenant, workflow: {}, status: 'succeeded', createdAt: 1 });
    await saveRun('56c22446-aeb1-47e3-a138-688bab8899ad');
    await store.saveAgent(agentRecord({ runId: '56c22446-aeb1-47e3-a138-688bab8899ad', id: 'a', status: 'succeeded' }));
    await saveRun('7d0a1b2c-0000-47e3-a138-688bab8899ad');
    await saveRun('7d0a1b2c-ffff-47e3-a138-688bab8899ad');
    await saveRun('90a0b0c0-1111-47e3-a138-688bab8899ad', 'acme');

    expect((await getRun('56c22446', { store })).runId).toBe('56c22446-aeb1-47e3-a138-688bab8899ad');
    expect((await getAgentTimeline('56c22446', 'a', { store })).agentId).toBe('a');
    // The run exists: refused for what it is (succeeded), not as unknown.
    expect((await rejection(resume('56c22446', { store }).result)).code).toBe(ErrorCodes.runNotResumable);

    const ambiguous = await rejection(getRun('7d0a1b2c', { store }));
    expect([ambiguous.code, ambiguous.message]).toEqual([
      ErrorCodes.usage,
      expect.stringContaining('is the start of 2 runs') as unknown,
    ]);
    // Another tenant's run is matched by no prefix, as by no id.
    expect((await rejection(getRun('90a0b0c0', { store, tenant: 'default' }))).code).toBe(ErrorCodes.runNotFound);
    expect((await rejection(resume('ffffffff', { store }).result)).code).toBe(ErrorCodes.runNotFound);
  });

  it('usage rejects bad arguments through its promise, never by throwing at the call', async () => {
    const bad = [() => usage({ ...where, by: 'colour' as 'model' }), () => usage({ ...where, since: 'yesterday' })];
    for (const call of bad) {
      let promise: Promise<unknown> | undefined;
      expect(() => (promise = call())).not.toThrow();
      expect((await rejection(promise!)).code).toBe(ErrorCodes.usage);
    }
    // The API's own argument is named, not the CLI's flag.
    expect((await rejection(usage({ ...where, since: 'yesterday' }))).message).toMatch(
      /^since yesterday is not a duration/,
    );
  });

  it('docs/api.md names every value the package exports', async () => {
    const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    const exported = Object.keys(await import('../index.js'));
    expect(exported.filter((name) => !doc.includes(`\`${name}`))).toEqual([]);
  });
});
