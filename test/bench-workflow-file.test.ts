import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFactIds, readWorkflowFile } from '../bench/context-workflow-file.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-bench-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const tiny = {
  name: 'tiny',
  results: [
    { agent: 'api', phase: 'research', text: 'Finding: Django 4.2.\nFile changed: none\nDecision: 1 h tokens.' },
  ],
  children: [{ id: 'impl', phase: 'build', inherits: ['research'], task: 'longer tokens', needs: ['api.3'] }],
};

describe('BENCH_CONTEXT_WORKFLOWS: workflows of your own for context_quality', () => {
  it('takes a workflow with only name, results and children, the rest empty', () => {
    expect(readWorkflowFile(file('ok.json', JSON.stringify([tiny])))).toEqual([
      { ...tiny, description: '', phaseOutputs: [], superseded: {}, duplicates: [] },
    ]);
  });

  it('refuses a file that is no JSON, or a workflow missing a field, naming where', () => {
    expect(() => readWorkflowFile(file('bad.json', '[{'))).toThrow(/not valid JSON:\n {2}- .*bad\.json:1: /);
    expect(() => readWorkflowFile(join(dir, 'absent.json'))).toThrow(/absent\.json does not exist/);
    const noNeeds = { ...tiny, children: [{ ...tiny.children[0], needs: 'api.3' }] };
    expect(() => readWorkflowFile(file('fields.json', JSON.stringify([noNeeds])))).toThrow(
      /\[0\]\.children\[0\]\.needs: .*expected array/,
    );
  });

  it('refuses a fact id that names no fact, saying how many facts that agent gave', () => {
    const [workflow] = readWorkflowFile(file('ids.json', JSON.stringify([tiny])));
    expect(() => checkFactIds(workflow!, new Map([['api', 3]]))).not.toThrow();
    expect(() => checkFactIds(workflow!, new Map([['api', 2]]))).toThrow(
      /child "impl" needs "api\.3", which is no fact: agent "api" gave 2 facts \(api\.1 to api\.2\)/,
    );
    const misnamed = { ...workflow!, superseded: { 'apo.1': 'api.2' } };
    expect(() => checkFactIds(misnamed, new Map([['api', 3]]))).toThrow(
      /superseded names "apo\.1".*no result is from an agent "apo"/,
    );
  });
});
