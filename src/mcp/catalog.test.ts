import { describe, expect, it } from 'vitest';
import { ErrorCodes, validateData } from '../core/index.js';
import { mcpServersSchema } from './catalog.js';

const problems = (servers: Record<string, unknown>): string => {
  try {
    validateData(mcpServersSchema, servers, {
      source: 'workflow.yaml',
      code: ErrorCodes.workflowInvalid,
      what: 'Workflow',
    });
    return '';
  } catch (error) {
    return (error as Error).message;
  }
};

describe('mcpServersSchema', () => {
  it('refuses a server name that could leave data_dir or overflow a file name (it names a file there)', () => {
    for (const name of ['../../../escaped/x', 'a/b', '.hidden', '', 'm'.repeat(65), 'two words'])
      expect(problems({ [name]: { command: 'node' } }), name).toMatch(/invalid key: an MCP server name/);
    for (const name of ['memory', 'server-everything', 'github.com', 'fs_2'])
      expect(problems({ [name]: { command: 'node' } }), name).toBe('');
  });

  it('names the field a stdio or remote entry gets wrong, not only "invalid input"', () => {
    expect(problems({ bad: { command: 'node', scope: 'everyone' } })).toContain(
      'bad.scope: expected one of "run", "agent"',
    );
    expect(problems({ remote: { type: 'http', url: '' } })).toContain('remote.url:');
    expect(problems({ remote: { type: 'ws', url: 'ws://x' } })).toContain('remote.type:');
    expect(problems({ remote: { type: 'http', url: 'not a url' } })).toContain(
      'remote.url: is not an http(s) URL; give one such as https://mcp.example.com/mcp',
    );
    expect(problems({ remote: { type: 'sse', url: 'ftp://h/mcp' } })).toContain('remote.url: is not an http(s) URL');
    expect(
      problems({
        ok: { command: 'node' },
        also: { type: 'stdio', command: 'node' },
        web: { type: 'sse', url: 'https://h/sse' },
        // Only the run's environment completes a URL made of a variable.
        later: { type: 'http', url: '${MCP_URL}' },
      }),
    ).toBe('');
  });

  it('refuses `scope` on an http or sse server, naming the field: only a stdio server has a process to share', () => {
    for (const type of ['http', 'sse'])
      expect(problems({ remote: { type, url: 'https://mcp.example/mcp', scope: 'run' } })).toContain(
        'remote.scope: scope applies to stdio servers only',
      );
  });
});
