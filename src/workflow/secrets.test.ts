import { describe, expect, it } from 'vitest';
import { REDACTED, SecretRedactor } from '../core/index.js';
import { parseWorkflow } from './load.js';
import { restoreWorkflowEnv, workflowEnvValues } from './secrets.js';

const yaml = `version: 1
name: w
mcpServers:
  notes: { command: node, env: { KEY: mcp-literal-value, REF: "\${HOME}" } }
  remote: { type: http, url: "http://x/mcp", headers: { Authorization: "Bearer header-literal-value" } }
phases:
  - id: p
    agents: [{ id: a, prompt: go, env: { DEPLOY: agent-literal-value, HOME_DIR: "\${HOME}" } }]
`;
const workflow = parseWorkflow(yaml, 'w.yaml');
/** As the redacting store keeps it: every literal env and header value hidden. */
const stored = new SecretRedactor([
  ...workflowEnvValues(workflow),
  'mcp-literal-value',
  'Bearer header-literal-value',
]).redactDeep(workflow);

describe('workflow secrets', () => {
  it('are the literal env values, not ${VAR} references', () => {
    expect(workflowEnvValues(workflow)).toEqual(['agent-literal-value']);
    expect(JSON.stringify(stored)).not.toMatch(/literal-value/);
    expect(stored.phases[0]!.agents[0]!.env).toEqual({ DEPLOY: REDACTED, HOME_DIR: '${HOME}' });
  });

  it('come back from the workflow file for a resume, or the resume is refused naming the value', () => {
    expect(restoreWorkflowEnv(stored, () => workflow, 'r1')).toEqual(workflow);
    const edited = parseWorkflow(yaml.replace('DEPLOY: agent-literal-value, ', ''), 'w.yaml');
    expect(() => restoreWorkflowEnv(stored, () => edited, 'r1')).toThrow(
      expect.objectContaining({
        code: 'BATON_RUN_NOT_RESUMABLE',
        message: expect.stringContaining("agent a's env DEPLOY"),
      }),
    );
    expect(() => restoreWorkflowEnv(stored, () => undefined, 'r1')).toThrow(/was a secret/);
    expect(restoreWorkflowEnv(workflow, () => undefined, 'r1')).toBe(workflow);
  });
});
