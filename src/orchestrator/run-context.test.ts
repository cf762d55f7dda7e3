import { describe, expect, it } from 'vitest';
import { ancestorPhases, parseWorkflow } from '../workflow/index.js';
import { inheritsContext } from './run-context.js';

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
