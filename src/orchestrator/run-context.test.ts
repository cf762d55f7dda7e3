import { describe, expect, it } from 'vitest';
import { ancestorPhases, parseWorkflow } from '../workflow/index.js';
import { inheritsContext, readersOf } from './run-context.js';

const inherits = (yaml: string): boolean => {
  const workflow = parseWorkflow(yaml, 'wf.yaml');
  return inheritsContext(workflow, (phaseId) => ancestorPhases(workflow, phaseId));
};

describe('inheritsContext: whether a run will select inherited context (and so needs WordNet)', () => {
  const chain = (context: string, agentInherit = '') => `version: 1
name: chain
${context}
phases:
  - { id: a, agents: [{ id: x, prompt: go }] }
  - { id: b, dependsOn: [a], agents: [{ id: y, prompt: go${agentInherit} }] }
`;

  it('a phase that inherits another, in a mode that gives context: yes', () => {
    expect(inherits(chain(''))).toBe(true);
    expect(inherits(chain('context: { inherit: none }', ', inherit: summary'))).toBe(true);
  });

  it('one phase, or every inheriting agent with inherit: none: no', () => {
    expect(inherits('version: 1\nname: one\nphases:\n  - { id: a, agents: [{ id: x, prompt: go }] }\n')).toBe(false);
    expect(inherits(chain('context: { inherit: none }'))).toBe(false);
    expect(inherits(chain('', ', inherit: none'))).toBe(false);
  });
});

describe('readersOf: the agents a summary of some phases is written for', () => {
  it('a large swarm asking one thing is one reader: the readers after it still count', () => {
    const workflow = parseWorkflow(
      `version: 1
name: wide
context: { inherit: summary }
phases:
  - { id: a, agents: [{ id: x, prompt: go }] }
  - { id: b, dependsOn: [a], agents: [{ id: crowd, count: 500, prompt: Review the module }] }
  - { id: c, dependsOn: [a], agents: [{ id: billing, prompt: Fix the invoice rounding totals }] }
`,
      'wf.yaml',
    );
    const readers = readersOf(workflow, {
      phases: () => workflow.phases,
      inheritedPhases: (phaseId) => ancestorPhases(workflow, phaseId),
      outputOf: () => undefined,
    })(['a']);
    expect(readers.map((r) => r.task)).toEqual(['Review the module', 'Fix the invoice rounding totals']);
  });
});
