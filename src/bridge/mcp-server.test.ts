import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openKnowledgeGraph } from '../knowledge/index.js';
import type { BridgeEndpoint } from './client.js';
import { createBatonMcpServer } from './mcp-server.js';
import { ideEventSchema, type IdeEventInput } from './protocol.js';
import { startBridge, type BridgeServer } from './server.js';
import { readToken } from './token.js';

let dir: string;
let bridge: BridgeServer;
let endpoint: BridgeEndpoint;
let client: Client;
let closeServer: () => Promise<void>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'baton-mcp-server-'));
  bridge = await startBridge({ dataDir: dir, port: 0 });
  endpoint = { url: bridge.url, token: readToken(dir) };
  const { server, close } = createBatonMcpServer({
    bridge: () => endpoint,
    openKnowledge: () => openKnowledgeGraph({ dataDir: dir }),
    runId: 'run-1',
    redact: (text) => text.replaceAll('kg-secret-0123456789', '[REDACTED]'),
  });
  closeServer = close;
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
});
afterAll(async () => {
  await client.close();
  await closeServer();
  await bridge.close();
  rmSync(dir, { recursive: true, force: true });
});

type ToolResult = { isError?: boolean; content: Array<{ type: string; text: string }> };
const call = async (name: string, args: Record<string, unknown> = {}) =>
  (await client.callTool({ name, arguments: args })) as ToolResult;
const publish = (events: IdeEventInput[]) => events.map((e) => bridge.state.apply(ideEventSchema.parse(e), 'test'));

describe("Baton's MCP server", () => {
  it('recent_changes: the newest file changes matching the glob, with diffs cut to length', async () => {
    publish([
      { type: 'file.changed', path: '/w/src/a.ts', change: 'changed', diff: '+a\n' },
      { type: 'file.opened', path: '/w/src/a.ts' },
      { type: 'file.changed', path: '/w/docs/b.md', change: 'added', diff: '+b\n' },
      { type: 'file.changed', path: '/w/src/c.ts', change: 'changed', diff: `+${'x'.repeat(5000)}\n` },
    ]);
    const { changes } = JSON.parse((await call('recent_changes', { path: '**/src/**' })).content[0]!.text) as {
      changes: Array<{ path: string; diff: string; at: string }>;
    };
    expect(changes.map((c) => c.path)).toEqual(['/w/src/a.ts', '/w/src/c.ts']);
    expect(changes[1]!.diff).toMatch(/^\+x{3999}\n… \(1002 more characters\)$/);
    expect(changes[0]!.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const newest = JSON.parse((await call('recent_changes', { limit: 1 })).content[0]!.text) as {
      changes: Array<{ path: string }>;
    };
    expect(newest.changes.map((c) => c.path)).toEqual(['/w/src/c.ts']);
  });

  it('diagnostics: per file, filtered by severity', async () => {
    expect((await call('diagnostics')).content[0]!.text).toBe('No diagnostics.');
    publish([
      {
        type: 'diagnostics.updated',
        path: '/w/src/a.ts',
        diagnostics: [
          { severity: 'warning', message: 'unused' },
          { severity: 'error', message: 'broken' },
        ],
      },
    ]);
    const errors = JSON.parse((await call('diagnostics', { severity: 'error' })).content[0]!.text) as Array<{
      path: string;
      diagnostics: Array<{ message: string }>;
    }>;
    expect(errors.map((f) => [f.path, f.diagnostics.map((d) => d.message)])).toEqual([['/w/src/a.ts', ['broken']]]);
  });

  it('add_knowledge then query_knowledge: a decision is found by what it is about, in the run the server works for', async () => {
    const added = await call('add_knowledge', {
      kind: 'decision',
      text: 'Cache tokens for one hour',
      about: ['src/auth/cache.ts'],
    });
    expect(added.content[0]!.text).toMatch(/^Recorded decision decision:\w+: Cache tokens for one hour$/);
    const answer = await call('query_knowledge', { question: 'decisions about src/auth/cache.ts' });
    expect(answer.isError).toBeFalsy();
    expect(answer.content[0]!.text).toContain('Cache tokens for one hour');
  });

  it('add_knowledge keeps no secret: what the agent records is redacted before the graph stores it', async () => {
    await call('add_knowledge', {
      kind: 'finding',
      text: 'The staging key is kg-secret-0123456789',
      about: ['config/kg-secret-0123456789.env'],
    });
    const graph = await openKnowledgeGraph({ dataDir: dir });
    try {
      const stored = JSON.stringify(await graph.findEntities({}));
      expect(stored).toContain('The staging key is [REDACTED]');
      expect(stored).not.toContain('kg-secret-0123456789');
    } finally {
      await graph.close();
    }
  });

  it('query_knowledge keeps no secret in its answer, whatever the graph holds', async () => {
    const graph = await openKnowledgeGraph({ dataDir: dir });
    try {
      await graph.upsertEntities([
        { id: 'module:kg-secret-0123456789', kind: 'module', name: 'kg-secret-0123456789', properties: {} },
      ]);
    } finally {
      await graph.close();
    }
    const answer = await call('query_knowledge', { question: 'kg-secret-0123456789' });
    expect(answer.content[0]!.text).toContain('[REDACTED]');
    expect(answer.content[0]!.text).not.toContain('kg-secret-0123456789');
  });

  it('an IDE tool without a running bridge answers with an error the agent can act on', async () => {
    const saved = endpoint;
    endpoint = { url: 'http://127.0.0.1:1', token: saved.token };
    try {
      const result = await call('ide_state');
      expect(result.isError).toBe(true);
      expect(result.content[0]!.text).toMatch(
        /^The Context Bridge is not running at http:\/\/127\.0\.0\.1:1 \(start it with `baton bridge`\).*\(BATON_BRIDGE_UNAVAILABLE\)$/,
      );
    } finally {
      endpoint = saved;
    }
  });

  it('refuses invalid tool input, naming the field', async () => {
    const result = await call('add_knowledge', { kind: 'rumour', text: 'x' });
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toContain('kind');
  });
});
