/**
 * A real redis-server for tests and benchmarks. Free of vitest, so `bench/` can start one too; the
 * per-test-file helper is in `redis.ts`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real redis-server on a loopback port, with its data in a temp dir. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Stops the server (it writes its append-only file first) and starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Holds the server still (SIGSTOP) for `ms`, as an outage does: commands wait, keys' time to live runs on. */
  freeze(ms: number): Promise<void>;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

const installHint =
  'The Redis store tests need a real redis-server. Install it with `sudo apt-get install redis-server` (Debian/Ubuntu; .ci/run does this) or `brew install redis`.';

/** A port nothing listens on right now (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Sends PING on a fresh socket; resolves true on +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts redis-server and waits until it answers PING; fails with its own output if it exits first. */
async function launch(port: number, dir: string): Promise<ChildProcess> {
  // appendonly: a restarted server keeps its data, as a production Redis for Baton should.
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'yes',
    '--dir',
    dir,
    '--logfile',
    '',
    '--daemonize',
    'no',
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`Cannot start redis-server: ${error.message}. ${installHint}`)));
    child.once('exit', (code) =>
      reject(new Error(`redis-server exited with ${code} before answering PING:\n${output.slice(-2000)}`)),
    );
  });
  const ready = (async () => {
    const deadline = Date.now() + 10_000;
    while (!(await ping(port))) {
      if (child.exitCode !== null) return;
      if (Date.now() > deadline)
        throw new Error(`redis-server did not answer PING on port ${port} within 10 s:\n${output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    await Promise.race([ready, failed]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  failed.catch(() => undefined); // a later exit is stop()'s business
  return child;
}

const running = new Set<ChildProcess>();
// A test process that dies without its afterAll still takes its servers with it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts a real redis-server on a free loopback port. Tests start one per file (beforeAll) and stop it
 * in afterAll, inside a `describe.runIf(requireProgram('redis-server'))` block (programs.ts), so a
 * machine without it reports the suite NOT RUN; called anyway (a bench), the error says how to install it.
 */
export async function startRedisServer(): Promise<RedisServer> {
  if (spawnSync('redis-server', ['--version']).error)
    throw new Error(`redis-server was not found on PATH. ${installHint}`);
  const dir = mkdtempSync(join(tmpdir(), 'baton-redis-'));
  const port = await freePort();
  let child = await launch(port, dir);
  running.add(child);
  const shutdown = async (): Promise<void> => {
    running.delete(child);
    // SIGTERM makes redis-server flush its append-only file and exit cleanly.
    child.kill('SIGTERM');
    await exited(child);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async restart() {
      await shutdown();
      child = await launch(port, dir);
      running.add(child);
    },
    async freeze(ms) {
      child.kill('SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, ms));
      child.kill('SIGCONT');
    },
    async stop() {
      await shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
