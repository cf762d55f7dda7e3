import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import { BatonError, ErrorCodes } from '../core/index.js';
import type { McpLaunchConfig } from './catalog.js';
import { closeClient } from './probe.js';
import type { LifecycleEvent } from './server-breaker.js';

type StdioConfig = Extract<McpLaunchConfig, { command: string }>;

/** Marks every stdio server Baton starts, so leftovers can be found (and tests can look for them). */
export const mcpMarkerVariable = 'BATON_MCP_SERVER';

/**
 * What Baton adds to the environment of every stdio server it starts: its marker, and V8's compile
 * cache where the server's Node has one (≥ 22.1; older ones ignore it): a Node server's start is
 * mostly compiling its modules, which the cache skips from the second start on. A cache the user
 * or the server's config chose is kept; the directory is Node's own default for it.
 */
export function serverEnvironment(name: string, env: Record<string, string> | undefined): Record<string, string> {
  const cache = env?.NODE_COMPILE_CACHE ?? process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'node-compile-cache');
  return { ...env, NODE_COMPILE_CACHE: cache, [mcpMarkerVariable]: name };
}

export interface UpstreamOptions {
  name: string;
  config: StdioConfig;
  cwd?: string;
  /** The environment the server inherits, under its own `env` (default: this process's, as `claude` gives its servers). */
  inherit?: NodeJS.ProcessEnv;
  /**
   * Restarts in a row, each after an exponential backoff, until the server answers a request again;
   * then it stays down until the next request.
   */
  maxRestarts?: number;
  restartBaseDelayMs?: number;
  /**
   * How long one start (or restart) may take to answer initialize, and how long a request waits for a
   * start under way (default 60 s, the MCP SDK's own for initialize): a server that hangs as it comes
   * back fails the requests waiting for it instead of holding them, and its restart is tried again.
   */
  startTimeoutMs?: number;
  /** Told each `notifications/{tools,resources,prompts}/list_changed` the server sends, by method. */
  onListChanged?: (method: ListChangedMethod) => void;
  /** Told each time the process exits unexpectedly and each time a restart succeeds or gives up. */
  onLifecycle?: (event: LifecycleEvent) => void;
}

export type ListChangedMethod =
  'notifications/tools/list_changed' | 'notifications/resources/list_changed' | 'notifications/prompts/list_changed';

/** The lists a restart may change: the capability that offers each, its items' key, how to list it, what tells of a change. */
const lists = {
  'tools/list': {
    capability: 'tools',
    key: 'tools',
    list: (client: Client) => client.listTools(),
    changed: 'notifications/tools/list_changed',
  },
  'resources/list': {
    capability: 'resources',
    key: 'resources',
    list: (client: Client) => client.listResources(),
    changed: 'notifications/resources/list_changed',
  },
  'resources/templates/list': {
    capability: 'resources',
    key: 'resourceTemplates',
    list: (client: Client) => client.listResourceTemplates(),
    changed: 'notifications/resources/list_changed',
  },
  'prompts/list': {
    capability: 'prompts',
    key: 'prompts',
    list: (client: Client) => client.listPrompts(),
    changed: 'notifications/prompts/list_changed',
  },
} as const satisfies Record<
  string,
  {
    capability: 'tools' | 'resources' | 'prompts';
    key: string;
    list: (client: Client) => Promise<object>;
    changed: ListChangedMethod;
  }
>;

export type ListMethod = keyof typeof lists;

/** A list answer's items, as JSON (what is compared). */
const itemsOf = (method: ListMethod, answer: object): string =>
  JSON.stringify((answer as Record<string, unknown>)[lists[method].key] ?? []);

export const isListMethod = (method: string): method is ListMethod => Object.hasOwn(lists, method);

/** The MCP SDK's own default for a request, initialize included. */
const DEFAULT_START_TIMEOUT_MS = 60_000;

/** The MCP SDK's stdio client side, loaded on first use: runs without MCP servers never pay for it. */
const stdioSdk = async () => {
  const [{ Client }, { ProcessGroupStdioTransport }, types] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('./stdio-transport.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]);
  const listChanged = [
    types.ToolListChangedNotificationSchema,
    types.ResourceListChangedNotificationSchema,
    types.PromptListChangedNotificationSchema,
  ];
  return { Client, ProcessGroupStdioTransport, listChanged };
};

/**
 * One stdio MCP server kept running for a whole run, Baton's child, behind an MCP SDK client. If its
 * process exits, requests in flight fail at once (the SDK rejects them with "Connection closed"), and
 * the server is restarted with bounded backoff; requests that arrive meanwhile wait for the restart.
 */
export class StdioUpstream {
  private current?: Promise<Client>;
  private closed = false;
  /** The transport of the latest start: its process group is the server. */
  private transport?: { readonly pid: number | null; close(): Promise<void> };
  /** Restarts since the server last answered a request: one that dies after every start is not restarted forever. */
  private restartsInARow = 0;
  /** Aborted by `close`: a start still waiting for the server's answer stops (and the SDK ends the process). */
  private readonly stopping = new AbortController();
  /** What agents were last shown of each list (its first page's items, as JSON), to compare after a restart. */
  private readonly shown = new Map<ListMethod, string>();

  constructor(private readonly options: UpstreamOptions) {}

  get name(): string {
    return this.options.name;
  }

  /** The process id of the running server, if it runs. */
  get pid(): number | null {
    return this.transport?.pid ?? null;
  }

  /** The connected client: started on first use, or the restart under way after a crash. */
  client(signal?: AbortSignal): Promise<Client> {
    if (this.closed) return Promise.reject(this.closedError());
    this.current ??= this.settle(this.start(signal));
    return this.current;
  }

  /**
   * The connected client for an agent's request: a start or restart under way is waited for
   * `startTimeoutMs` at most (it goes on for the requests after), so a call never hangs on a server
   * that does not come back.
   */
  async forRequest(): Promise<Client> {
    const waiting = this.client();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new BatonError(
              ErrorCodes.mcpUnavailable,
              `MCP server "${this.name}" did not come back within ${this.startTimeoutMs} ms (it is being restarted)`,
            ),
          ),
        this.startTimeoutMs,
      );
    });
    try {
      return await Promise.race([waiting, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private get startTimeoutMs(): number {
    return this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  }

  /** A start that failed for good is forgotten, so the next request (or probe) tries again. */
  private settle(starting: Promise<Client>): Promise<Client> {
    const tracked = starting.catch((error: unknown) => {
      if (this.current === tracked) this.current = undefined;
      throw error;
    });
    return tracked;
  }

  private async start(signal?: AbortSignal): Promise<Client> {
    const { Client, ProcessGroupStdioTransport, listChanged } = await stdioSdk();
    const { config, cwd, name } = this.options;
    const transport = new ProcessGroupStdioTransport({
      command: config.command,
      args: config.args,
      env: serverEnvironment(name, config.env),
      inherit: this.options.inherit ?? process.env,
      cwd,
      stderr: 'ignore',
    });
    const client = new Client({ name: 'baton-gateway', version: '0.1.0' });
    for (const schema of listChanged)
      client.setNotificationHandler(schema, (notification) => this.options.onListChanged?.(notification.method));
    this.transport = transport;
    try {
      const bounds = [this.stopping.signal, AbortSignal.timeout(this.startTimeoutMs), ...(signal ? [signal] : [])];
      await client.connect(transport, { signal: AbortSignal.any(bounds) });
    } catch (error) {
      await closeClient(client, transport);
      throw error;
    }
    // Set after connect: the SDK's own onclose handler is chained, so pending requests are rejected first.
    // The transport calls it once the server's pipes close, and stops the rest of its process group itself.
    const closed = client.onclose;
    client.onclose = () => {
      closed?.();
      if (!this.closed) this.crashed();
    };
    void this.compareLists(client).catch(() => undefined); // a server gone again: its next start compares
    return client;
  }

  /** Notes the first page of a list an agent was shown (a tools/list answer, say): a restart that changes it is told. */
  showed(method: ListMethod, answer: object): void {
    this.shown.set(method, itemsOf(method, answer));
  }

  /**
   * A server started again (after a crash, or after its restarts gave up) may offer other tools,
   * resources or prompts (an upgrade, a changed config): agents shown the old ones are told to list
   * them again, as the server itself would tell them of a change; a list that is the same is not told
   * of. The first start has shown nothing yet, and costs nothing here.
   */
  private async compareLists(client: Client): Promise<void> {
    const told = new Set<ListChangedMethod>();
    for (const [method, before] of this.shown) {
      const { capability, list, changed } = lists[method];
      const now = itemsOf(method, client.getServerCapabilities()?.[capability] ? await list(client) : {});
      if (now === before) continue;
      this.shown.set(method, now);
      if (!told.has(changed)) this.options.onListChanged?.(changed);
      told.add(changed);
    }
  }

  /** The server answered a request: it may be restarted again as often as after its first crash. */
  answered(): void {
    this.restartsInARow = 0;
  }

  private crashed(): void {
    const { name, onLifecycle, maxRestarts = 5 } = this.options;
    onLifecycle?.({ server: name, state: 'crashed', error: `MCP server "${name}" exited while in use` });
    const left = maxRestarts - this.restartsInARow;
    if (left <= 0) {
      this.current = undefined; // the next request starts it again
      const error = `MCP server "${name}" exited after each of ${maxRestarts} restarts without answering a request`;
      onLifecycle?.({ server: name, state: 'gave-up', error });
      return;
    }
    const restarts = retry(handleAll, {
      maxAttempts: left - 1,
      backoff: new ExponentialBackoff({ initialDelay: this.options.restartBaseDelayMs ?? 200, maxDelay: 5000 }),
    });
    restarts.onFailure(({ reason }) => {
      if (this.closed) return; // cut short by the run's end, not a failure of the server
      const error = 'error' in reason && reason.error instanceof Error ? reason.error.message : 'its restart failed';
      onLifecycle?.({ server: name, state: 'restart-failed', error });
    });
    this.current = this.settle(
      restarts.execute(() => {
        if (this.closed) throw this.closedError();
        this.restartsInARow++;
        return this.start();
      }, this.stopping.signal),
    );
    this.current.then(
      () => onLifecycle?.({ server: name, state: 'restarted' }),
      (error: unknown) => {
        // A restart cut short by the run's end did not give up: the crash stays the server's last word.
        if (this.closed) return;
        onLifecycle?.({
          server: name,
          state: 'gave-up',
          error: error instanceof Error ? error.message : String(error),
        });
      },
    );
  }

  /** Stops the server: its stdin is closed, then its whole process group is terminated. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopping.abort(this.closedError());
    const current = this.current;
    this.current = undefined;
    const client = await current?.catch(() => undefined);
    if (client && this.transport) await closeClient(client, this.transport);
  }

  private closedError(): BatonError {
    return new BatonError(ErrorCodes.mcpUnavailable, `MCP server "${this.options.name}" was stopped with its run`);
  }
}
