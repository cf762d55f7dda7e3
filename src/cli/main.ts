#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { inputErrorCodes, isBatonError } from '../core/index.js';
import {
  cancelCommand,
  configCheckCommand,
  modelServerCommand,
  runCommand,
  auditCommand,
  dashboardCommand,
  runsCommand,
  serveCommand,
  statusCommand,
  usageCommand,
  type Output,
} from './commands.js';
import { demoCommand } from './demo.js';
import { kgBuildCommand, kgQueryCommand, kgStatsCommand } from './kg-commands.js';
import {
  contextExportCommand,
  contextImportCommand,
  sessionsArchiveCommand,
  sessionsContinueCommand,
  sessionsListCommand,
  sessionsPruneCommand,
  sessionsShowCommand,
} from './context-commands.js';
import { mcpAnalyzeCommand, mcpCheckCommand, mcpConfigCommand } from './mcp-commands.js';
import { workerCommand } from './worker-commands.js';
import { bridgeCommand, bridgeWatchCommand, mcpServerCommand } from './bridge-commands.js';
import { migrateCommand } from './migrate-commands.js';

const output: Output = { stdout: process.stdout, stderr: process.stderr };

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number.');
  return n;
}

/** Runs a command and turns its outcome into an exit code: 2 for bad input, 1 for failures. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = await fn(...args);
    } catch (error) {
      const debug = process.argv.includes('--debug');
      if (isBatonError(error)) {
        process.stderr.write(`error ${error.code}: ${error.message}\n`);
        if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
        process.exitCode = inputErrorCodes.has(error.code) ? 2 : 1;
      } else {
        const message = error instanceof Error ? error.message : String(error);
        process.stderr.write(
          `error: ${message}\n${debug && error instanceof Error ? `${error.stack}\n` : '(run with --debug for details)\n'}`,
        );
        process.exitCode = 1;
      }
    }
  };
}

const program = new Command()
  .name('baton')
  .description('Run workflows of real Claude Code agents: phases, parallel agents, retries, durable results.')
  .option('--debug', 'show stack traces on errors')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

const storeOptions = (cmd: Command): Command =>
  cmd
    .option('--config <file>', 'config file (default: baton.config.yaml|yml|json in the current directory)')
    .option('--data-dir <dir>', 'where runs are stored (overrides data_dir)');

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number.');
  return n;
}

function onQuotaPolicy(value: string): 'wait' | 'fail' {
  if (value !== 'wait' && value !== 'fail') throw new InvalidArgumentError('expected wait or fail.');
  return value;
}

storeOptions(
  program
    .command('run [workflow]')
    .description('run a workflow file, or continue a stored run with --resume')
    .option('--json', 'print exactly one JSON object with the result')
    .option(
      '--tenant <name>',
      'who the run is for: usage, daily budgets and concurrency limits add up per tenant',
      'default',
    )
    .option('--resume <runId>', 'continue a run whose orchestrator stopped: finished agents are kept, the rest run')
    .option(
      '--priority <n>',
      "higher goes first when agents wait for a slot (overrides the workflow's priority)",
      integer,
    )
    .option(
      '--on-quota <policy>',
      "when the tenant's daily quota is used up: fail (default) or wait for 00:00 UTC",
      onQuotaPolicy,
    ),
).action(
  action(
    (
      workflow: string | undefined,
      opts: {
        json?: boolean;
        tenant?: string;
        resume?: string;
        priority?: number;
        onQuota?: 'wait' | 'fail';
        config?: string;
        dataDir?: string;
      },
    ) => runCommand(workflow, opts, output),
  ),
);

storeOptions(
  program
    .command('demo')
    .description('run the demo workflow (scripted model, or Claude when ANTHROPIC_API_KEY is set)')
    .option('--json', 'print the result as JSON'),
).action(action((opts: { json?: boolean; config?: string; dataDir?: string }) => demoCommand(opts, output)));

storeOptions(
  program
    .command('status [runId]')
    .description('show a run (the latest when no id is given)')
    .option('--agent <id>', "one agent's timeline: attempts, tool calls, turns, tokens, cost")
    .option('--json', 'print JSON'),
).action(
  action((runId: string | undefined, opts: { json?: boolean; agent?: string; config?: string; dataDir?: string }) =>
    statusCommand(runId, opts, output),
  ),
);

storeOptions(
  program
    .command('runs')
    .description('list recent runs')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'how many', positiveInt),
).action(
  action((opts: { json?: boolean; limit?: number; config?: string; dataDir?: string }) => runsCommand(opts, output)),
);

storeOptions(
  program
    .command('usage')
    .description('tokens and cost of recent runs')
    .option('--since <duration>', 'how far back, e.g. 24h, 7d, 4w', '7d')
    .option('--by <dimension>', 'model | workflow | tenant | run | phase', 'model')
    .option('--json', 'print JSON'),
).action(
  action((opts: { since?: string; by?: string; json?: boolean; config?: string; dataDir?: string }) =>
    usageCommand(opts, output),
  ),
);

storeOptions(
  program
    .command('audit')
    .description('the audit trail: who started, cancelled or changed what')
    .option('--since <duration>', 'how far back, e.g. 24h, 30d', '30d')
    .option('--action <action>', 'only this action, e.g. run.cancel_requested')
    .option('--json', 'print JSON'),
).action(
  action((opts: { since?: string; action?: string; json?: boolean; config?: string; dataDir?: string }) =>
    auditCommand(opts, output),
  ),
);

storeOptions(
  program
    .command('dashboard [runId]')
    .description('a live terminal dashboard of a run (the latest by default), also of a run in another process')
    .option('--once', 'draw it once and exit')
    .option('--interval <ms>', 'how often to redraw', positiveInt),
).action(
  action((runId: string | undefined, opts: { once?: boolean; interval?: number; config?: string; dataDir?: string }) =>
    dashboardCommand(runId, opts, output),
  ),
);

storeOptions(
  program
    .command('serve')
    .description('the web dashboard: runs, agents, MCP health, costs, live')
    .option('--port <n>', 'port (0 picks a free one)', positiveInt, 8080)
    .option('--host <host>', 'address to bind', '127.0.0.1'),
).action(
  action((opts: { port?: number; host?: string; config?: string; dataDir?: string }) => serveCommand(opts, output)),
);

storeOptions(
  program
    .command('worker')
    .description('run agents of any run from the Redis queue (needs redis_url); start one per machine')
    .option('--concurrency <n>', 'agents at once (default: worker_concurrency)', (value: string) => {
      const n = positiveInt(value);
      if (n < 1) throw new InvalidArgumentError('a worker runs at least 1 agent at a time.');
      return n;
    })
    .option('--metrics-port <n>', 'port of its /metrics (default: metrics_port, else a free one)', positiveInt),
).action(
  action((opts: { concurrency?: number; metricsPort?: number; config?: string; dataDir?: string }) =>
    workerCommand(opts, output),
  ),
);

storeOptions(program.command('cancel <runId>').description('stop a running run and all its agents')).action(
  action((runId: string, opts: { config?: string; dataDir?: string }) => cancelCommand(runId, opts, output)),
);

program
  .command('model-server')
  .description('serve the scripted model (Anthropic Messages API) for offline agents')
  .requiredOption('--script <file>', 'model script (YAML or JSON)')
  .option('--port <n>', 'port (default: a free one)', positiveInt)
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--log <file>', 'append every request as a JSON line')
  .action(
    action((opts: { script: string; port?: number; host?: string; log?: string }) => modelServerCommand(opts, output)),
  );

program
  .command('config')
  .description('configuration')
  .command('check')
  .description('print the effective configuration, or what is wrong with it')
  .option('--config <file>', 'config file')
  .option('--json', 'print JSON')
  .action(action((opts: { config?: string; json?: boolean }) => configCheckCommand(opts, output)));

const mcp = program.command('mcp').description('MCP servers: which a task needs, their config, their health');
storeOptions(
  mcp
    .command('analyze <task>')
    .description('which MCP servers a task needs, and why')
    .option('--workflow <file>', "also consider this workflow's servers")
    .option('--json', 'print JSON'),
).action(
  action((task: string, opts: { workflow?: string; json?: boolean; config?: string; dataDir?: string }) =>
    mcpAnalyzeCommand(task, opts, output),
  ),
);
storeOptions(
  mcp
    .command('config <workflow>')
    .description('print the MCP config an agent gets')
    .requiredOption('--agent <id>', 'the agent'),
).action(
  action((workflow: string, opts: { agent: string; config?: string; dataDir?: string }) =>
    mcpConfigCommand(workflow, opts, output),
  ),
);
storeOptions(
  mcp
    .command('check [servers...]')
    .description('preflight MCP servers (initialize + tools/list), all in parallel')
    .option('--workflow <file>', "also check this workflow's servers")
    .option('--json', 'print JSON'),
).action(
  action((servers: string[], opts: { workflow?: string; json?: boolean; config?: string; dataDir?: string }) =>
    mcpCheckCommand(servers, opts, output),
  ),
);

// `baton bridge` runs `bridge serve`: a subcommand of its own, so `bridge watch` can take the same options.
const bridge = program
  .command('bridge')
  .description(
    'the Context Bridge: IDE clients push events (files, selection, diagnostics), agents and others subscribe',
  );
storeOptions(
  bridge
    .command('serve', { isDefault: true })
    .description('run the bridge (what `baton bridge` does)')
    .option('--port <n>', 'port (default: bridge_port; 0 picks a free one)', positiveInt)
    .option('--host <host>', 'address to bind (default: bridge_host, 127.0.0.1)'),
).action(action((opts: StoreFlags & { port?: number; host?: string }) => bridgeCommand(opts, output)));
storeOptions(
  bridge
    .command('watch <dir>')
    .description(
      'an editor-agnostic IDE client: pushes file changes (with diffs), git status and diagnostics of <dir> to the bridge',
    )
    .option('--url <url>', 'the bridge (default: the one running for data_dir, else bridge_host:bridge_port)')
    .option(
      '--diagnostics <command>',
      'run after changes; its compiler/linter output becomes diagnostics, e.g. "npx tsc --noEmit --pretty false"',
    )
    .option('--no-git', 'do not report git status'),
).action(
  action((dir: string, opts: StoreFlags & { url?: string; diagnostics?: string; git?: boolean }) =>
    bridgeWatchCommand(dir, opts, output),
  ),
);
storeOptions(
  program
    .command('mcp-server')
    .description("Baton's MCP server on stdio: ide_state, recent_changes, diagnostics, query_knowledge, add_knowledge"),
).action(action((opts: StoreFlags) => mcpServerCommand(opts)));

type StoreFlags = { config?: string; dataDir?: string };
const sessions = program.command('sessions').description('agent sessions: list, inspect, archive, prune, resume, fork');
storeOptions(
  sessions
    .command('list')
    .description('list sessions, newest first')
    .option('--run <runId>', 'only this run')
    .option('--status <status>', 'created|active|completed|failed|archived')
    .option('--limit <n>', 'how many', positiveInt)
    .option('--json', 'print JSON'),
).action(
  action((opts: StoreFlags & { run?: string; status?: 'created'; limit?: number; json?: boolean }) =>
    sessionsListCommand(opts, output),
  ),
);
storeOptions(
  sessions
    .command('show <sessionId>')
    .description('a session and the context it produced')
    .option('--json', 'print JSON'),
).action(action((id: string, opts: StoreFlags & { json?: boolean }) => sessionsShowCommand(id, opts, output)));
storeOptions(
  sessions
    .command('archive [sessionIds...]')
    .description('archive these sessions, or every finished one past its expiry'),
).action(action((ids: string[], opts: StoreFlags) => sessionsArchiveCommand(ids, opts, output)));
storeOptions(
  sessions
    .command('prune')
    .description('delete archived sessions past their expiry, with their transcripts (context is kept)'),
).action(action((opts: StoreFlags) => sessionsPruneCommand(opts, output)));
for (const mode of ['resume', 'fork'] as const) {
  storeOptions(
    sessions
      .command(`${mode} <sessionId> <prompt>`)
      .description(
        mode === 'resume'
          ? 'continue a finished session with a new prompt'
          : 'start a new session from a finished one, with a new prompt',
      )
      .option('--json', 'print JSON'),
  ).action(
    action((id: string, prompt: string, opts: StoreFlags & { json?: boolean }) =>
      sessionsContinueCommand(mode, id, prompt, opts, output),
    ),
  );
}

const kg = program
  .command('kg')
  .description("the knowledge graph: the code's imports, definitions and calls, and what agents decided about them");
storeOptions(
  kg
    .command('build [dir]')
    .description('build it from a repository (default: the current directory), then add what agents recorded')
    .option('--no-context', 'only the code, not the context store')
    .option('--json', 'print JSON'),
).action(
  action((dir: string | undefined, opts: StoreFlags & { context?: boolean; json?: boolean }) =>
    kgBuildCommand(dir, opts, output),
  ),
);
storeOptions(
  kg
    .command('query <question>')
    .description('ask it, e.g. "what depends on src/x.ts", "what did agents decide about caching"')
    .option('--run <runId>', 'the run "this run" means')
    .option('--limit <n>', 'at most this many entities (default 100)', positiveInt)
    .option('--json', 'print JSON'),
).action(
  action((question: string, opts: StoreFlags & { run?: string; limit?: number; json?: boolean }) =>
    kgQueryCommand(question, opts, output),
  ),
);
storeOptions(
  kg
    .command('stats')
    .description('entities and relations by kind, and where the graph is stored')
    .option('--json', 'print JSON'),
).action(action((opts: StoreFlags & { json?: boolean }) => kgStatsCommand(opts, output)));

const context = program.command('context').description('the context agents share: export and import');
storeOptions(
  context
    .command('export')
    .description('write context entries and sessions as JSON')
    .option('--run <runId>', 'only this run')
    .option('--out <file>', 'write to a file instead of stdout'),
).action(action((opts: StoreFlags & { run?: string; out?: string }) => contextExportCommand(opts, output)));
storeOptions(context.command('import <file>').description('load an export (checksums are verified first)')).action(
  action((file: string, opts: StoreFlags) => contextImportCommand(file, opts, output)),
);

storeOptions(
  program
    .command('migrate')
    .description(
      'copy every run, session, context entry and audit event between the SQLite and Redis stores, then verify the copy',
    )
    .requiredOption('--from <store>', 'sqlite | redis')
    .requiredOption('--to <store>', 'sqlite | redis')
    .option('--redis-url <url>', 'the Redis side (overrides redis_url)')
    .option('--json', 'print the report as JSON'),
).action(
  action((opts: { from: string; to: string; redisUrl?: string; json?: boolean; config?: string; dataDir?: string }) =>
    migrateCommand(opts, output),
  ),
);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; every other commander error is a usage error.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else throw error;
}
