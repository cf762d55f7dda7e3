import { describe, expect, it } from 'vitest';
import { launchSecretValues } from './setup.js';

describe("an MCP server's secrets, to hide wherever they would be written", () => {
  it('are its env values, and the values of its secret-named flags (--api-key KEY, --token=KEY)', () => {
    const secrets = launchSecretValues({
      command: 'node',
      args: [
        'server.js',
        '--api-key',
        'arg-secret-1',
        '--token=arg-secret-2',
        '--port',
        '8080',
        '-v',
        '--auth',
        '${TOKEN}',
      ],
      env: { MEMORY_FILE: 'env-value-3' },
    });
    expect(secrets.sort()).toEqual(['arg-secret-1', 'arg-secret-2', 'env-value-3']);
    expect(launchSecretValues({ type: 'http', url: 'https://h/mcp', headers: { 'X-Custom': 'header-4' } })).toEqual([
      'header-4',
    ]);
  });
});
