import { spawn, type ChildProcess } from 'node:child_process';
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { agentReaper, ProcessTreeMark } from '../agents/index.js';
import { processGroupExited, signalProcessGroup } from '../core/index.js';

export interface ProcessGroupStdioOptions {
  command: string;
  args?: string[];
  /** The server's own variables, over `inherit`. */
  env?: Record<string, string>;
  /**
   * The environment the server inherits, over the MCP SDK's default one (`getDefaultEnvironment()`:
   * PATH, HOME, USER, …), which is all it gets without one. Baton gives its agents' environment, as
   * `claude` does to the servers it starts: sharing a server must not change what it sees.
   */
  inherit?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * The server's stderr: the terminal's (`inherit`, the SDK's default), dropped, or `tail`: read and
   * dropped but its last few KiB kept (`stderrTail`), to say why a server that would not start failed.
   */
  stderr?: 'inherit' | 'ignore' | 'tail';
  /** How long the server gets after its stdin closes, then again after SIGTERM, before SIGKILL (default 2 s). */
  graceMs?: number;
}

const DEFAULT_GRACE_MS = 2000;
/** How much of a server's stderr `tail` keeps: its last error, not its whole log. */
const STDERR_TAIL_CHARS = 2000;

/**
 * The longest message a server may send. The MCP SDK's stdio default is 10 MB, and a longer one ends
 * the connection: behind the gateway that would stop a server every agent shares, failing their calls
 * and losing its state, because one agent asked for a big result (a large file, a graph dump).
 */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

/**
 * The MCP SDK's stdio client transport, but the server runs in a process group of its own, and that
 * whole group is what stops: a server started through a wrapper (`npx`, `uvx`, `sh -c`, a script
 * that starts node in the background) or one that starts helpers leaves none of them behind, on
 * close, when its launcher dies, or (through the agent reaper) when Baton itself is SIGKILLed. The
 * SDK's `StdioClientTransport` offers no `detached`, and its close signals only the process it
 * spawned; the wire format stays the SDK's own (`ReadBuffer`, `serializeMessage`), so this class
 * holds no JSON-RPC framing of its own and follows the SDK's.
 */
export class ProcessGroupStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  /** The server's launcher, from spawn on (kept after it exits, so its group can still be stopped). */
  private child?: ChildProcess;
  /** Settled when the launcher has exited and its stdio pipes have closed (the transport is closed). */
  private closed?: Promise<void>;
  /** False from `close` or the pipes' end on: nothing more is sent. */
  private connected = false;
  private readonly readBuffer = new ReadBuffer({ maxBufferSize: MAX_MESSAGE_BYTES });
  private groupStopped?: Promise<void>;
  /** In the server's environment, from its start: what leaves its group (`setsid`) is stopped with it. */
  private mark?: ProcessTreeMark;

  private stderrKept = '';
  private hurried = false;

  constructor(private readonly options: ProcessGroupStdioOptions) {}

  /** The end of what the server wrote to stderr (with `stderr: 'tail'`), trimmed. */
  get stderrTail(): string {
    return this.stderrKept.trim();
  }

  /** The server's process id (its process group's too), once started and while it is connected. */
  get pid(): number | null {
    return this.connected ? (this.child?.pid ?? null) : null;
  }

  start(): Promise<void> {
    if (this.child) return Promise.reject(new Error('ProcessGroupStdioTransport already started'));
    const { command, args = [], env, inherit, cwd, stderr = 'inherit' } = this.options;
    agentReaper.ready();
    const mark = (this.mark = new ProcessTreeMark('BATON_MCP_SERVER_ID'));
    const child = spawn(command, args, {
      env: { ...getDefaultEnvironment(), ...inherit, ...env, ...mark.env },
      cwd,
      stdio: ['pipe', 'pipe', stderr === 'tail' ? 'pipe' : stderr],
      detached: true,
    });
    this.child = child;
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.stderrKept = (this.stderrKept + text).slice(-STDERR_TAIL_CHARS);
    });
    this.connected = true;
    // Registered at once: should Baton be SIGKILLed while the server starts, the watchdog ends the group.
    if (child.pid !== undefined) agentReaper.watch(child.pid);
    // The launcher has exited: what it started is part of the server, and goes with it.
    child.once('exit', () => void this.stopGroup());
    this.closed = new Promise((resolve) =>
      child.once('close', () => {
        this.connected = false;
        resolve();
        this.onclose?.();
      }),
    );
    child.stdin?.on('error', (error) => this.onerror?.(error));
    child.stdout?.on('error', (error) => this.onerror?.(error));
    child.stdout?.on('data', (chunk: Buffer) => this.received(chunk));
    return new Promise((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (error) => {
        reject(error);
        this.onerror?.(error);
      });
    });
  }

  private received(chunk: Buffer): void {
    try {
      this.readBuffer.append(chunk);
    } catch (error) {
      this.onerror?.(error as Error);
      void this.close();
      return;
    }
    for (;;) {
      try {
        const message = this.readBuffer.readMessage();
        if (message === null) return;
        this.onmessage?.(message);
      } catch (error) {
        this.onerror?.(error as Error); // a line that is not JSON-RPC: skipped, as the SDK does
      }
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!this.connected || !stdin) return Promise.reject(new Error('Not connected'));
    return new Promise((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  /**
   * The next close stops the group at once, without waiting for the server to exit on its stdin's
   * end: for a server that did not answer in time, which will not exit on its own either.
   */
  hurry(): void {
    this.hurried = true;
  }

  /** Closes the server's stdin (a well-behaved server exits), then stops its whole process group. */
  async close(): Promise<void> {
    const child = this.child;
    this.connected = false;
    if (child && child.exitCode === null && child.signalCode === null && !this.hurried) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin?.end();
      await this.within(exited);
    }
    await this.stopGroup();
    this.readBuffer.clear();
  }

  /** Waits for `event`, for the grace at most. */
  private async within(event: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>(
      (resolve) => (timer = setTimeout(resolve, this.options.graceMs ?? DEFAULT_GRACE_MS)),
    );
    await Promise.race([event, grace]);
    clearTimeout(timer);
  }

  /**
   * SIGTERM to the group, SIGKILL after the grace to what is left, SIGKILL to what carries the
   * server's id outside it (one that made itself a session leader), and the reaper let go; once,
   * whoever asks first. A process outside the group without the id (one that cleared its
   * environment) may still hold the pipes: they are closed after a grace, so `onclose` always comes.
   */
  private stopGroup(): Promise<void> {
    const child = this.child;
    const pgid = child?.pid;
    if (!child || pgid === undefined) return Promise.resolve();
    const graceMs = this.options.graceMs ?? DEFAULT_GRACE_MS;
    this.groupStopped ??= (async () => {
      if (signalProcessGroup(pgid, 'SIGTERM') && !(await processGroupExited(pgid, graceMs))) {
        signalProcessGroup(pgid, 'SIGKILL');
        await processGroupExited(pgid, graceMs);
      }
      // What left the group on purpose goes too: a server is stopped whole, whatever it started.
      this.mark?.kill();
      agentReaper.release(pgid);
      this.mark?.release();
      await this.within(this.closed ?? Promise.resolve());
      for (const stream of [child.stdin, child.stdout]) stream?.destroy();
    })();
    return this.groupStopped;
  }
}
