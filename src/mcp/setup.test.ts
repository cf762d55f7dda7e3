import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp-dir.js';
import { launchSecretValues } from './catalog.js';
import { catalogFor, mcpSecretValues, startMcp } from './setup.js';

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
    // A server one of whose variables is not set still has its literal values hidden.
    const catalog = catalogFor({
      configServers: {},
      projectDirs: [],
      workflowServers: {
        broken: { command: 'node', env: { CONF: 'literal-value-5', OTHER_PASSWORD: '${NOT_SET_PW}' } },
        remote: { type: 'http', url: 'https://h/${NOT_SET_HOST}/mcp', headers: { 'X-Custom': 'header-6' } },
      },
    });
    expect(mcpSecretValues(catalog, {}, '/data')).toEqual(expect.arrayContaining(['literal-value-5', 'header-6']));
    expect(launchSecretValues({ type: 'http', url: 'https://h/mcp', headers: { 'X-Custom': 'header-4' } })).toEqual([
      'header-4',
    ]);
  });

  it("are not what Baton itself sets on them: the server's name, the agent's run, id and tenant, Node's cache", () => {
    const started = {
      command: 'node',
      env: {
        BATON_MCP_SERVER: 'notesserver',
        NODE_COMPILE_CACHE: '/tmp/node-compile-cache',
        BATON_SCOPE_RUN_ID: 'f2a9c0de-run',
        BATON_SCOPE_AGENT_ID: 'researcher-one',
        BATON_SCOPE_TENANT: 'team-alpha-long',
        NOTES_TOKEN: 'real-secret-value-7',
      },
    };
    expect(launchSecretValues(started)).toEqual(['real-secret-value-7']);
  });
});

describe('${BATON_DATA_DIR} in a server entry', () => {
  it("is the data_dir Baton runs with, absolute, whatever the environment says; the value is hidden as the server's", async () => {
    const dataDir = tempDir('baton-mcp-vars-');
    const workflowServers = {
      notes: {
        command: 'node',
        args: ['notes.js', '--dir', '${BATON_DATA_DIR}'],
        env: { FILE: '${BATON_DATA_DIR}/notes.json' },
      },
    };
    // A relative data_dir (as --data-dir gives it) and a stale variable naming another directory.
    const given = relative(process.cwd(), dataDir);
    const options = { configServers: {}, projectDirs: [], workflowServers, env: { BATON_DATA_DIR: 'elsewhere' } };
    const mcp = await startMcp({ ...options, timeoutMs: 1000, useMock: false, dataDir: given, cwd: dataDir });
    try {
      expect(mcp.manager.launch('notes')).toMatchObject({
        args: ['notes.js', '--dir', dataDir],
        env: { FILE: join(dataDir, 'notes.json') },
      });
    } finally {
      await mcp.close();
    }
    expect(mcpSecretValues(catalogFor(options), options.env, given)).toContain(join(dataDir, 'notes.json'));
  });
});
