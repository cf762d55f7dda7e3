#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option, type OptionValues } from '@commander-js/extra-typings';
import { toolCallStatuses, usageDimensions } from '../observability/index.js';
import type { SessionStatus } from '../store/index.js';
import { ErrorCodes, inputErrorCodes, isBatonError, type ErrorCode } from '../core/index.js';
import { diskFullError, storeDamagedError } from '../store/index.js';
import {
  cancelCommand,
  configCheckCommand,
  modelServerCommand,
  runCommand,
  auditCommand,
  dashboardCommand,
  dashboardTokenCommand,
  runsCommand,
  serveCommand,
  statusCommand,
  usageCommand,
  type Output,
} from './commands.js';
import { demoCommand } from './demo.js';
import { completionScript } from './completion.js';
import { initCommand } from './init.js';
import { planCommand } from './plan-commands.js';
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
import { migrateCommand, storeKinds } from './migrate-commands.js';
import { backupCommand, doctorCommand, restoreCommand } from './backup-commands.js';
import { mergeCommand } from './merge-commands.js';
import { answerCommand, approvalsCommand } from './approval-commands.js';
import { RedactedOutput } from './output.js';

const output: Output = new RedactedOutput({ stdout: process.stdout, stderr: process.stderr }, process.env);

/**
 * `baton run … | head -1`: the reader has gone, so there is no one left to tell. The output is dropped,
 * but what the command does (a run, a merge, a migration) goes on to its end and its exit code: ended
 * there, as Unix tools end, a run would be abandoned mid-way. Only the live dashboard, which exists to
 * be read, ends at once.
 */
function dropOutputOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    // Writes after the first EPIPE fail as writes to a destroyed stream.
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    if (process.argv[2] === 'dashboard') process.exit(process.exitCode ?? 0);
  });
}
dropOutputOnClosedPipe(process.stdout);
dropOutputOnClosedPipe(process.stderr);

/** An option's whole number, written as one (not 0x10 or 1e3), within the range its setting allows. */
const wholeNumber =
  (min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^[+-]?\d+$/.test(value.trim()) || n < min || n > max)
      throw new InvalidArgumentError(
        `expected a whole number ${max === Infinity ? `of ${min} or more` : `from ${min} to ${max}`}.`,
      );
    return n;
  };
const positiveInt = wholeNumber(0, Infinity);
/** How many to show: at least one (`--limit 0` read as "no runs yet"). */
const countOption = wholeNumber(1, Infinity);
const port = wholeNumber(0, 65535);

/** Runs a command and turns its outcome into an exit code: 2 for bad input, 1 for failures. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = await fn(...args);
    } catch (thrown) {
      process.exitCode = reportFailure(thrown);
    }
  };
}

/** Prints what stopped a command (its code and message; the stack with --debug) and returns the exit code. */
function reportFailure(thrown: unknown): number {
  const debug = process.argv.includes('--debug');
  const error = diskFullError(thrown, 'data_dir', undefined) ?? storeDamagedError(thrown, 'data_dir') ?? thrown;
  const known = isBatonError(error);
  const code = known ? error.code : ErrorCodes.internal;
  const message = error instanceof Error ? error.message : String(error);
  output.stderr.write(`error ${code}: ${message}\n`);
  if (debug && error instanceof Error && error.stack) output.stderr.write(`${error.stack}\n`);
  else if (!known) output.stderr.write('(run with --debug for details)\n');
  printJsonFailure(code, message);
  return known && inputErrorCodes.has(code) ? 2 : 1;
}

/**
 * With --json, stdout holds exactly one JSON object, a failure's too: `{"error":{"code","message"}}`,
 * so a script reads stdout alike whatever happened (the message for people stays on stderr).
 */
function printJsonFailure(code: ErrorCode, message: string): void {
  if (process.argv.slice(2).includes('--json'))
    output.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
}

// From dist/cli/ and src/cli/ alike, the package's own package.json is two levels up.
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command()
  .name('baton')
  .version(version, '-V, --version', 'print the version of baton')
  .description('Run workflows of real Claude Code agents: phases, parallel agents, retries, durable results.')
  .option('--debug', 'show stack traces on errors')
  .exitOverride()
  .configureOutput({
    writeErr: (s) => output.stderr.write(s),
    // Commander's own errors (unknown option, missing argument) carry the catalogue's code like every other.
    outputError: (s, write) => write(s.replace(/^error: /, `error ${ErrorCodes.usage}: `)),
  });

/** The options every command that opens the store takes (the command's own typed options are kept). */
const storeOptions = <Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(
  cmd: Command<Args, Opts, Globals>,
) =>
  cmd
    .option('--config <file>', 'config file (default: baton.config.yaml|yml|json in the current directory)')
    .option('--data-dir <dir>', 'where runs are stored (overrides data_dir)');

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
      'who the run is for (default: "default"): usage, daily budgets and concurrency limits add up per tenant; with --resume, the run must be this tenant\'s',
    )
    .option('--resume <runId>', 'continue a run whose orchestrator stopped: finished agents are kept, the rest run')
    .option(
      '--priority <n>',
      "higher goes first when agents wait for a slot (overrides the workflow's priority)",
      wholeNumber(-1000, 1000),
    )
    .option(
      '--on-quota <policy>',
      "when the tenant's daily quota is used up: fail (default) or wait for 00:00 UTC",
      onQuotaPolicy,
    )
    .option(
      '--detach-on-wait',
      'exit with code 3 once everything left waits for a person; continue later with --resume',
    )
    .option('--model-script <file>', 'run offline: agents talk to the scripted model serving this script, not Claude'),
).action(action((workflow, opts) => runCommand(workflow, opts, output)));

storeOptions(
  program
    .command('merge <runId>')
    .description("merge a finished run's worktree branches again (merge: phases), without rerunning its agents")
    .option('--phase <id>', 'only this phase (default: every phase with merge:)')
    .option('--tenant <name>', "only a run of this tenant's")
    .option(
      '--model-script <file>',
      'offline: a conflict resolver agent talks to the scripted model serving this script',
    )
    .option('--json', 'print exactly one JSON object with the result'),
).action(action((runId, opts) => mergeCommand(runId, opts, output)));

storeOptions(
  program
    .command('demo')
    .description('run the demo workflow (scripted model, or Claude when ANTHROPIC_API_KEY is set)')
    .option('--json', 'print the result as JSON'),
).action(action((opts) => demoCommand(opts, output)));

program
  .command('init [dir]')
  .description('write a commented starter workflow.yaml, baton.config.yaml and model-script.yaml (never overwrites)')
  .action(action((dir: string | undefined) => initCommand(dir, output)));

storeOptions(
  program
    .command('plan <workflow>')
    .description('validate a workflow and show what it will do: phase DAG, agents, MCP servers, workspaces, cost range')
    .option('--json', 'print JSON'),
).action(
  action((workflow: string, opts: { json?: boolean; config?: string; dataDir?: string }) =>
    planCommand(workflow, opts, output),
  ),
);

storeOptions(
  program
    .command('status [runId]')
    .description('show a run (the latest when no id is given)')
    .option('--tenant <name>', "only this tenant's runs")
    .option('--agent <id>', "one agent's timeline: attempts, tool calls, turns, tokens, cost")
    .option(
      '--tool <name>',
      'only tool calls of this tool (a name, or a glob: "mcp__github__*"); without --agent, of every agent',
    )
    .addOption(
      new Option('--status <status>', 'only tool calls in this status; without --agent, of every agent').choices(
        toolCallStatuses,
      ),
    )
    .option('--json', 'print JSON'),
).action(action((runId, opts) => statusCommand(runId, opts, output)));

storeOptions(
  program
    .command('approvals')
    .description('list the tool calls and phase gates waiting for a person')
    .option('--run <runId>', 'only this run')
    .option('--tenant <name>', "only this tenant's runs")
    .option('--all', 'answered and expired requests too')
    .option('--json', 'print JSON'),
).action(
  action((opts: { run?: string; tenant?: string; all?: boolean; json?: boolean; config?: string; dataDir?: string }) =>
    approvalsCommand(opts, output),
  ),
);

for (const [name, approve] of [
  ['approve', true],
  ['deny', false],
] as const) {
  storeOptions(
    program
      .command(`${name} <id>`)
      .description(
        approve
          ? 'approve a waiting request (the message reaches the agent as an instruction)'
          : 'deny a waiting request (the message tells the agent why)',
      )
      .option('--message <text>', approve ? 'an instruction for the agent' : 'why, for the agent')
      .option('--tenant <name>', "only a request of this tenant's runs"),
  ).action(
    action((id: string, opts: { message?: string; tenant?: string; config?: string; dataDir?: string }) =>
      answerCommand(id, approve, opts, output),
    ),
  );
}

storeOptions(
  program
    .command('runs')
    .description('list recent runs')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'how many', countOption)
    .option('--tenant <name>', "only this tenant's runs"),
).action(action((opts) => runsCommand(opts, output)));

storeOptions(
  program
    .command('usage')
    .description('tokens and cost of recent runs')
    .option('--since <duration>', 'how far back, e.g. 24h, 7d, 4w', '7d')
    .addOption(new Option('--by <dimension>', 'how to group the rows').choices(usageDimensions).default('model'))
    .option('--tenant <name>', "only this tenant's runs")
    .option('--json', 'print JSON'),
).action(action((opts) => usageCommand(opts, output)));

storeOptions(
  program
    .command('audit')
    .description('the audit trail: who started, cancelled or changed what')
    .option('--since <duration>', 'how far back, e.g. 24h, 30d', '30d')
    .option('--action <action>', 'only this action, e.g. run.cancel_requested')
    .option('--tenant <name>', "only events of this tenant's runs")
    .option('--run <id>', 'only events of this run (its id, or its first 8 characters)')
    .option('--json', 'print JSON'),
).action(action((opts) => auditCommand(opts, output)));

storeOptions(
  program
    .command('dashboard [runId]')
    .description('a live terminal dashboard of a run (the latest by default), also of a run in another process')
    .option('--once', 'draw it once and exit')
    .option('--interval <ms>', 'how often to redraw', positiveInt)
    .option('--tenant <name>', "only this tenant's runs"),
).action(action((runId, opts) => dashboardCommand(runId, opts, output)));

storeOptions(
  program
    .command('serve')
    .description('the web dashboard: runs, agents, MCP health, costs, live')
    .option('--port <n>', 'port (0 picks a free one)', port, 8080)
    .option('--host <host>', 'address to bind', '127.0.0.1'),
).action(action((opts) => serveCommand(opts, output)));

storeOptions(
  program
    .command('dashboard-token')
    .description("print a tenant's token for baton serve (made on first use): it sees that tenant's runs only")
    .requiredOption('--tenant <name>', 'the tenant whose runs the token shows'),
).action(action((opts) => dashboardTokenCommand(opts, output)));

storeOptions(
  program
    .command('worker')
    .description('run agents of any run from the Redis queue (needs redis_url); start one per machine')
    .option('--concurrency <n>', 'agents at once (default: worker_concurrency)', wholeNumber(1, 1000))
    .option('--metrics-port <n>', 'port of its /metrics (default: metrics_port, else a free one)', port),
).action(action((opts) => workerCommand(opts, output)));

storeOptions(
  program
    .command('cancel <runId>')
    .description('stop a running run and all its agents')
    .option('--tenant <name>', "only a run of this tenant's"),
).action(action((runId, opts) => cancelCommand(runId, opts, output)));

program
  .command('model-server')
  .description('serve the scripted model (Anthropic Messages API) for offline agents')
  .requiredOption('--script <file>', 'model script (YAML or JSON)')
  .option('--port <n>', 'port (default: a free one)', port)
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--log <file>', 'append every request as a JSON line')
  .option('--api-key <key>', 'the key agents must send as ANTHROPIC_API_KEY (default: a random one, printed)')
  .action(action((opts) => modelServerCommand(opts, output)));

program
  .command('config')
  .description('configuration')
  .command('check')
  .description('print the effective configuration, or what is wrong with it')
  .option('--config <file>', 'config file')
  .option('--json', 'print JSON')
  .action(action((opts) => configCheckCommand(opts, output)));

const mcp = program.command('mcp').description('MCP servers: which a task needs, their config, their health');
storeOptions(
  mcp
    .command('analyze <task>')
    .description('which MCP servers a task needs, and why')
    .option('--workflow <file>', "also consider this workflow's servers")
    .option('--json', 'print JSON'),
).action(action((task, opts) => mcpAnalyzeCommand(task, opts, output)));
storeOptions(
  mcp
    .command('config <workflow>')
    .description('print the MCP config an agent gets')
    .requiredOption('--agent <id>', 'the agent'),
).action(action((workflow, opts) => mcpConfigCommand(workflow, opts, output)));
storeOptions(
  mcp
    .command('check [servers...]')
    .description('preflight MCP servers (initialize + tools/list), all in parallel')
    .option('--workflow <file>', "also check this workflow's servers")
    .option('--json', 'print JSON'),
).action(action((servers, opts) => mcpCheckCommand(servers, opts, output)));

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
    .option('--port <n>', 'port (default: bridge_port; 0 picks a free one)', port)
    .option('--host <host>', 'address to bind (default: bridge_host, 127.0.0.1)'),
).action(action((opts) => bridgeCommand(opts, output)));
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
).action(action((dir, opts) => bridgeWatchCommand(dir, opts, output)));
storeOptions(
  program
    .command('mcp-server')
    .description("Baton's MCP server on stdio: ide_state, recent_changes, diagnostics, query_knowledge, add_knowledge"),
).action(action((opts) => mcpServerCommand(opts)));

const sessionStatuses = ['created', 'active', 'completed', 'failed', 'archived'] as const satisfies SessionStatus[];
const sessions = program.command('sessions').description('agent sessions: list, inspect, archive, prune, resume, fork');
storeOptions(
  sessions
    .command('list')
    .description('list sessions, newest first')
    .option('--run <runId>', 'only this run')
    .addOption(new Option('--status <status>', 'only sessions in this status').choices(sessionStatuses))
    .option('--limit <n>', 'how many', countOption)
    .option('--tenant <name>', "only this tenant's runs")
    .option('--json', 'print JSON'),
).action(action((opts) => sessionsListCommand(opts, output)));
storeOptions(
  sessions
    .command('show <sessionId>')
    .description('a session and the context it produced')
    .option('--tenant <name>', "only a session of this tenant's runs")
    .option('--json', 'print JSON'),
).action(action((id, opts) => sessionsShowCommand(id, opts, output)));
storeOptions(
  sessions
    .command('archive [sessionIds...]')
    .description('archive these sessions, or every finished one past its expiry'),
).action(action((ids, opts) => sessionsArchiveCommand(ids, opts, output)));
storeOptions(
  sessions
    .command('prune')
    .description('delete archived sessions past their expiry, with their transcripts (context is kept)'),
).action(action((opts) => sessionsPruneCommand(opts, output)));
for (const mode of ['resume', 'fork'] as const) {
  storeOptions(
    sessions
      .command(`${mode} <sessionId> <prompt>`)
      .description(
        mode === 'resume'
          ? 'continue a finished session with a new prompt'
          : 'start a new session from a finished one, with a new prompt',
      )
      .option('--tenant <name>', "only a session of this tenant's runs")
      .option('--json', 'print JSON'),
  ).action(action((id, prompt, opts) => sessionsContinueCommand(mode, id, prompt, opts, output)));
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
).action(action((dir, opts) => kgBuildCommand(dir, opts, output)));
storeOptions(
  kg
    .command('query <question>')
    .description('ask it, e.g. "what depends on src/x.ts", "what did agents decide about caching"')
    .option('--run <runId>', 'the run "this run" means')
    .option('--limit <n>', 'at most this many entities (default 100)', countOption)
    .option('--tenant <name>', "leave out facts of other tenants' runs")
    .option('--json', 'print JSON'),
).action(action((question, opts) => kgQueryCommand(question, opts, output)));
storeOptions(
  kg
    .command('stats')
    .description('entities and relations by kind, and where the graph is stored')
    .option('--tenant <name>', "leave out facts of other tenants' runs")
    .option('--json', 'print JSON'),
).action(action((opts) => kgStatsCommand(opts, output)));

const context = program.command('context').description('the context agents share: export and import');
storeOptions(
  context
    .command('export')
    .description('write context entries and sessions as JSON')
    .option('--run <runId>', 'only this run')
    .option('--tenant <name>', "only this tenant's runs")
    .option('--out <file>', 'write to a file instead of stdout'),
).action(action((opts) => contextExportCommand(opts, output)));
storeOptions(context.command('import <file>').description('load an export (checksums are verified first)')).action(
  action((file, opts) => contextImportCommand(file, opts, output)),
);

storeOptions(
  program
    .command('migrate')
    .description(
      'copy every run, session, context entry and audit event between the SQLite and Redis stores, then verify the copy',
    )
    .addOption(new Option('--from <store>', 'the store to copy from').choices(storeKinds).makeOptionMandatory())
    .addOption(new Option('--to <store>', 'the store to copy to').choices(storeKinds).makeOptionMandatory())
    .option('--redis-url <url>', 'the Redis side (overrides redis_url)')
    .option('--json', 'print the report as JSON'),
).action(action((opts) => migrateCommand(opts, output)));

program
  .command('completion <shell>')
  .description('print shell completion for bash, zsh or fish, e.g. source <(baton completion bash)')
  .action(
    action(async (shell: string) => {
      output.stdout.write(completionScript(shell, program));
      return 0;
    }),
  );

storeOptions(
  program
    .command('backup')
    .description('take an online backup of the SQLite store into data_dir/backups/ (keeps backup_keep)'),
).action(action((opts: { config?: string; dataDir?: string }) => backupCommand(opts, output)));

storeOptions(
  program
    .command('restore <file>')
    .description('check a backup (integrity, checksums) and put it in place of the store; the replaced store is kept'),
).action(action((file: string, opts: { config?: string; dataDir?: string }) => restoreCommand(file, opts, output)));

storeOptions(
  program
    .command('doctor')
    .description('check the store, the claude binary, Redis if configured, and runs of dead orchestrators')
    .option('--json', 'print JSON'),
).action(action((opts: { json?: boolean; config?: string; dataDir?: string }) => doctorCommand(opts, output)));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; every other commander error is a usage error.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
    if (error.exitCode !== 0) printJsonFailure(ErrorCodes.usage, error.message.replace(/^error: /, ''));
  } else throw error;
}
