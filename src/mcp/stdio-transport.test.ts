import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/cli.js';
import { npmServers } from '../../test/support/mcp-servers.js';
import { processesWithEnv } from '../../test/support/processes.js';
import { listProcesses } from '../core/index.js';
import { ProcessGroupStdioTransport } from './stdio-transport.js';

const wrapper = fileURLToPath(new URL('../../test/fixtures/wrapped-mcp-server.sh', import.meta.url));

/** Live (not zombie) processes of process group `pgid`. */
const groupMembers = (pgid: number) => listProcesses().filter((p) => p.pgrp === pgid && p.state !== 'Z');

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-stdio-transport-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The real memory server from npm behind the wrapper script, connected through the transport. */
async function wrappedMemory(): Promise<{ client: Client; transport: ProcessGroupStdioTransport; pgid: number }> {
  const transport = new ProcessGroupStdioTransport({
    command: wrapper,
    args: [process.execPath, npmServers.memory],
    env: { MEMORY_FILE_PATH: join(tempDir(), 'memory.json') },
    stderr: 'ignore',
    graceMs: 300,
  });
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(transport);
  const pgid = transport.pid!;
  cleanups.push(() => {
    for (const { pid } of groupMembers(pgid)) process.kill(pid, 'SIGKILL');
  });
  // The launcher, the real server and the launcher's daemonized helper.
  await waitFor(() => groupMembers(pgid).length >= 3 || undefined, 10_000, 'the server and its helper');
  return { client, transport, pgid };
}

describe('ProcessGroupStdioTransport', () => {
  it('hurried, close stops a server that ignores its stdin at once, without waiting out the grace', async () => {
    const transport = new ProcessGroupStdioTransport({
      command: 'sleep',
      args: ['300'],
      stderr: 'ignore',
      graceMs: 60_000,
    });
    await transport.start();
    const pgid = transport.pid!;
    cleanups.push(() => {
      for (const { pid } of groupMembers(pgid)) process.kill(pid, 'SIGKILL');
    });
    transport.hurry();
    // With the 60 s grace for its stdin's end, this close would outlast the test's 20 s.
    await transport.close();
    expect(groupMembers(pgid)).toEqual([]);
  }, 20_000);

  it('serves a wrapped real server; close stops the launcher, the server and a daemonized helper that ignores SIGTERM', async () => {
    const { client, transport, pgid } = await wrappedMemory();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('read_graph');
    const helper = listProcesses().find((p) => p.pgrp === pgid && p.ppid !== pgid && p.pid !== pgid);
    expect(helper).toBeDefined(); // re-parented: not the launcher's descendant, only its group's member
    await client.close();
    expect(groupMembers(pgid)).toEqual([]);
    expect(transport.pid).toBeNull();
  });

  it('when the launcher dies, the transport closes and the rest of its group is stopped', async () => {
    const { client, pgid } = await wrappedMemory();
    let closed = false;
    client.onclose = () => (closed = true);
    process.kill(pgid, 'SIGKILL');
    await waitFor(() => closed || undefined, 10_000, 'the transport to close');
    // The helper ignores SIGTERM: it goes with the SIGKILL after the grace.
    await waitFor(() => groupMembers(pgid).length === 0 || undefined, 5000, 'the group to be stopped');
  });

  it('a server that ignores both its stdin closing and SIGTERM is killed after the grace', async () => {
    const transport = new ProcessGroupStdioTransport({
      command: '/bin/sh',
      args: ['-c', "trap '' TERM; while :; do sleep 1; done"],
      graceMs: 200,
    });
    let closed = false;
    transport.onclose = () => (closed = true);
    await transport.start();
    const pgid = transport.pid!;
    await transport.close();
    expect(groupMembers(pgid)).toEqual([]);
    expect(closed).toBe(true);
    await expect(transport.send({ jsonrpc: '2.0', method: 'ping', id: 1 })).rejects.toThrow(/Not connected/);
  });

  it("gives the server the MCP SDK's default environment plus its own, not the rest of Baton's", async () => {
    const out = join(tempDir(), 'env.txt');
    process.env.BATON_TRANSPORT_TEST_PRIVATE = 'not for servers';
    cleanups.push(() => delete process.env.BATON_TRANSPORT_TEST_PRIVATE);
    const transport = new ProcessGroupStdioTransport({
      command: '/bin/sh',
      args: ['-c', `env > ${out}`],
      env: { SERVER_OWN: 'given' },
    });
    const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
    await transport.start();
    await closed;
    const seen = readFileSync(out, 'utf8').split('\n');
    expect(seen).toContain('SERVER_OWN=given');
    expect(seen).toContain(`PATH=${process.env.PATH}`);
    expect(seen.some((line) => line.startsWith('BATON_TRANSPORT_TEST_PRIVATE='))).toBe(false);
  });

  it('stops what the server started outside its group (setsid) with it: on close, and when Baton is SIGKILLed', async () => {
    // A "server" that answers nothing and exits when its stdin closes, leaving a daemon in a session of its own.
    const escaping = (marker: string) => ({
      command: '/bin/sh',
      args: ['-c', 'setsid sleep 100000 </dev/null >/dev/null 2>&1 & exec cat'],
      env: { ESCAPE_MARKER: marker },
      graceMs: 200,
    });
    const closed = `escaped-on-close-${randomUUID()}`;
    const transport = new ProcessGroupStdioTransport(escaping(closed));
    cleanups.push(() => processesWithEnv(`ESCAPE_MARKER=${closed}`).forEach((pid) => process.kill(pid, 'SIGKILL')));
    await transport.start();
    await waitFor(() => processesWithEnv(`ESCAPE_MARKER=${closed}`).length === 2 || undefined, 10_000, 'the daemon');
    await transport.close();
    expect(processesWithEnv(`ESCAPE_MARKER=${closed}`)).toEqual([]);

    const killed = `escaped-on-sigkill-${randomUUID()}`;
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const module = pathToFileURL(fileURLToPath(new URL('./stdio-transport.ts', import.meta.url))).href;
    const program = `const { ProcessGroupStdioTransport } = await import(${JSON.stringify(module)});
      await new ProcessGroupStdioTransport(${JSON.stringify(escaping(killed))}).start();
      setInterval(() => undefined, 1000);`;
    const baton = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', program], { stdio: 'ignore' });
    cleanups.push(() => {
      baton.kill('SIGKILL');
      for (const pid of processesWithEnv(`ESCAPE_MARKER=${killed}`)) process.kill(pid, 'SIGKILL');
    });
    await waitFor(() => processesWithEnv(`ESCAPE_MARKER=${killed}`).length === 2 || undefined, 20_000, 'the daemon');
    baton.kill('SIGKILL');
    await waitFor(() => processesWithEnv(`ESCAPE_MARKER=${killed}`).length === 0 || undefined, 5000, 'both gone');
  }, 40_000);

  it('a command that cannot be started fails the start', async () => {
    const transport = new ProcessGroupStdioTransport({ command: join(tempDir(), 'no-such-server') });
    await expect(transport.start()).rejects.toThrow(/ENOENT/);
    await transport.close();
  });
});
