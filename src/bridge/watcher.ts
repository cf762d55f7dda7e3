import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { watch, type FSWatcher } from 'chokidar';
import { closeOnceOrOnAbort } from './close.js';
import { unifiedDiff } from './diff.js';
import type { Diagnostic, IdeEventInput } from './protocol.js';

const run = promisify(execFile);

export interface WatcherOptions {
  /** The directory to watch (recursively). */
  dir: string;
  /** Where events go, e.g. `BridgeClient.push`; awaited in order, so the bridge sees them in order. */
  push: (event: IdeEventInput) => Promise<unknown>;
  /** Also report `git status` (branch, changed files) when the directory is in a git work tree (default true). */
  git?: boolean;
  /**
   * A command that prints diagnostics (`tsc --noEmit --pretty false`, `eslint -f unix`, a compiler):
   * run in `dir` after each burst of changes; its `file(line,col): error …` or `file:line:col: error …`
   * lines become `diagnostics.updated` events.
   */
  diagnosticsCommand?: string;
  /** Files larger than this are reported without a diff (default 256 KiB). */
  maxDiffBytes?: number;
  /** Quiet time after a change before git status and the diagnostics command run (default 150 ms). */
  settleMs?: number;
  /** Called with every event pushed, and with errors that did not stop the watcher. */
  onEvent?: (event: IdeEventInput) => void;
  onError?: (error: Error) => void;
  /** Aborting it stops the watcher (as `close()` does). */
  signal?: AbortSignal;
}

export interface Watcher {
  close(): Promise<void>;
}

const ignoredDirs = /(^|[/\\])(\.git|node_modules|\.baton)([/\\]|$)/;

/** Text we can diff: not too large, no NUL bytes. */
async function readText(path: string, maxBytes: number): Promise<string | undefined> {
  try {
    if ((await stat(path)).size > maxBytes) return undefined;
    const text = await readFile(path, 'utf8');
    return text.includes('\0') ? undefined : text;
  } catch {
    return undefined;
  }
}

/** What each file held when we last looked: a read in flight, or its text (undefined: binary or too large). */
type Contents = Map<string, Promise<string | undefined>>;

/** Pushes events one after another, so the bridge gets them in the order they happened. */
function createEventQueue(options: WatcherOptions, onError: (error: Error) => void) {
  let queue = Promise.resolve();
  let closed = false;
  /** Runs one step after the ones before it; the event it returns (if any) is pushed. */
  const enqueue = (step: () => Promise<IdeEventInput | undefined>): Promise<void> =>
    (queue = queue.then(async () => {
      const event = await step();
      if (!event || closed) return;
      options.onEvent?.(event);
      await options.push(event).catch((error: Error) => onError(error));
    }));
  const push = (event: IdeEventInput): Promise<void> => enqueue(async () => event);
  /** Waits for what is queued, then drops anything later. */
  const drain = async (): Promise<void> => {
    await queue;
    closed = true;
  };
  return { enqueue, push, drain };
}

/** The top of the git work tree holding `root`, unless git is off or there is none. */
async function findGitRoot(root: string, git: boolean | undefined): Promise<string | undefined> {
  if (git === false) return undefined;
  return run('git', ['rev-parse', '--show-toplevel'], { cwd: root }).then(
    (r) => r.stdout.trim(),
    () => undefined,
  );
}

/** Pushes `git.changed` when `git status` differs from last time. */
function gitReporter(gitRoot: string | undefined, push: (event: IdeEventInput) => Promise<void>) {
  let lastGitStatus: string | undefined;
  return async (): Promise<void> => {
    if (!gitRoot) return;
    // --no-optional-locks: a plain status writes the user's index back under index.lock, which their own
    // git command at that moment would find taken.
    const { stdout } = await run(
      'git',
      ['--no-optional-locks', 'status', '--porcelain=v1', '--branch', '--untracked-files=all'],
      { cwd: gitRoot },
    );
    if (stdout === lastGitStatus) return;
    lastGitStatus = stdout;
    await push({ type: 'git.changed', root: gitRoot, ...parseGitStatus(stdout, gitRoot) });
  };
}

/** Runs the diagnostics command and pushes `diagnostics.updated` per file, clearing files that got clean. */
function diagnosticsReporter(command: string | undefined, root: string, push: (event: IdeEventInput) => Promise<void>) {
  const diagnosed = new Set<string>();
  return async (): Promise<void> => {
    if (!command) return;
    // Compilers exit non-zero when they find problems: their output is what we want either way.
    const output = await run('/bin/sh', ['-c', command], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      (r) => r.stdout + r.stderr,
      (e: { stdout?: string; stderr?: string }) => (e.stdout ?? '') + (e.stderr ?? ''),
    );
    const byFile = parseDiagnostics(output, root);
    // Files that had diagnostics and have none now get an empty list, which clears them.
    for (const path of diagnosed) if (!byFile.has(path)) byFile.set(path, []);
    for (const [path, diagnostics] of byFile) {
      await push({ type: 'diagnostics.updated', path, diagnostics });
      if (diagnostics.length > 0) diagnosed.add(path);
      else diagnosed.delete(path);
    }
  };
}

/** Runs `report` once changes have been quiet for `settleMs`, one report after another. */
function settleThen(settleMs: number, report: () => Promise<unknown>, onError: (error: Error) => void) {
  let settleTimer: NodeJS.Timeout | undefined;
  let settling = Promise.resolve();
  const afterChanges = (): void => {
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => {
      settling = settling.then(() =>
        report().then(
          () => undefined,
          (error: Error) => onError(error),
        ),
      );
    }, settleMs);
  };
  /** Cancels a pending report. */
  const stop = (): void => clearTimeout(settleTimer);
  /** The reports started so far, finished. */
  const settled = (): Promise<void> => settling;
  return { afterChanges, stop, settled };
}

interface FileChangeContext {
  root: string;
  gitRoot: string | undefined;
  maxDiffBytes: number;
  contents: Contents;
  enqueue: (step: () => Promise<IdeEventInput | undefined>) => Promise<void>;
  afterChanges: () => void;
}

/** A chokidar listener that queues `file.changed` with the diff against what the file held before. */
function onFile(ctx: FileChangeContext, change: 'added' | 'changed' | 'deleted') {
  const { root, contents } = ctx;
  return (path: string): void => {
    const absolute = resolve(root, path);
    const previous = contents.get(absolute) ?? Promise.resolve(undefined);
    // Read now, not when the queue gets here: the next change diffs against exactly this content.
    const current = change === 'deleted' ? Promise.resolve(undefined) : readText(absolute, ctx.maxDiffBytes);
    if (change === 'deleted') contents.delete(absolute);
    else contents.set(absolute, current);
    void ctx.enqueue(async () => {
      const [before, after] = await Promise.all([previous, current]);
      const label = relative(ctx.gitRoot ?? root, absolute)
        .split(sep)
        .join('/');
      const known = change === 'deleted' ? before !== undefined : after !== undefined;
      const diff = known ? unifiedDiff(before ?? '', after ?? '', label) : undefined;
      if (change === 'changed' && diff === '') return undefined; // touched, not changed
      return { type: 'file.changed', path: absolute, change, ...(diff !== undefined ? { diff } : {}) };
    });
    ctx.afterChanges();
  };
}

/** Watches `root`; resolves once the initial scan has recorded every file, with change listeners then attached. */
async function watchFiles(ctx: FileChangeContext, onError: (error: Error) => void): Promise<FSWatcher> {
  const { root, contents } = ctx;
  const watcher: FSWatcher = watch(root, {
    ignored: (path) => ignoredDirs.test(relative(root, path)),
    ignoreInitial: false,
    // Report a file once its size held still for 50 ms: a write in progress would diff as a half file.
    awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 10 },
  });
  await new Promise<void>((resolveReady, rejectReady) => {
    // The initial scan records what each file holds, so the first change has a diff.
    const remember = (path: string) =>
      void contents.set(resolve(root, path), readText(resolve(root, path), ctx.maxDiffBytes));
    watcher.on('add', remember);
    watcher.once('error', rejectReady);
    watcher.once('ready', () => {
      watcher.off('add', remember);
      watcher.off('error', rejectReady);
      watcher.on('add', onFile(ctx, 'added'));
      watcher.on('change', onFile(ctx, 'changed'));
      watcher.on('unlink', onFile(ctx, 'deleted'));
      watcher.on('error', (error) => onError(error instanceof Error ? error : new Error(String(error))));
      resolveReady();
    });
  });
  // The scan's reads are still in flight at `ready`; under load one can finish after the first change,
  // record the new text as the old one, and the change then diffs as empty and is dropped as a touch.
  await Promise.all(contents.values());
  return watcher;
}

/**
 * An editor-agnostic IDE client: watches a directory and pushes `file.changed` (with a diff against
 * the previous content), `git.changed` and, with a diagnostics command, `diagnostics.updated`.
 * Resolves once the initial scan is done, so every later change is reported.
 */
export async function startWatcher(options: WatcherOptions): Promise<Watcher> {
  const root = resolve(options.dir);
  const onError = options.onError ?? (() => undefined);
  const { enqueue, push, drain } = createEventQueue(options, onError);
  const gitRoot = await findGitRoot(root, options.git);
  const reportGit = gitReporter(gitRoot, push);
  const reportDiagnostics = diagnosticsReporter(options.diagnosticsCommand, root, push);
  const report = () => Promise.all([reportGit(), reportDiagnostics()]);
  const settle = settleThen(options.settleMs ?? 150, report, onError);
  const watcher = await watchFiles(
    {
      root,
      gitRoot,
      maxDiffBytes: options.maxDiffBytes ?? 256 * 1024,
      contents: new Map(),
      enqueue,
      afterChanges: settle.afterChanges,
    },
    onError,
  );
  await report();

  const close = await closeOnceOrOnAbort(options.signal, async () => {
    settle.stop();
    await watcher.close();
    await settle.settled();
    await drain();
  });
  return { close };
}

/** `git status --porcelain=v1 --branch` → branch and changed files (absolute paths). */
export function parseGitStatus(
  output: string,
  gitRoot: string,
): { branch?: string; files: Array<{ path: string; status: string }> } {
  let branch: string | undefined;
  const files: Array<{ path: string; status: string }> = [];
  for (const line of output.split('\n')) {
    if (line.startsWith('## ')) {
      branch = line
        .slice(3)
        .split('...')[0]!
        .replace(/^No commits yet on /, '');
      continue;
    }
    if (line.length < 4) continue;
    // Renames read `R  old -> new`: the new path is the one that exists.
    const path = line
      .slice(3)
      .split(' -> ')
      .pop()!
      .replace(/^"(.*)"$/, '$1');
    files.push({ path: resolve(gitRoot, path), status: line.slice(0, 2).trim() });
  }
  return { ...(branch ? { branch } : {}), files };
}

const severities: Record<string, Diagnostic['severity']> = {
  error: 'error',
  fatal: 'error',
  warning: 'warning',
  warn: 'warning',
  note: 'info',
  info: 'info',
  hint: 'hint',
};
/** `file(line,col): error TS2304: message` (tsc) */
const tscLine = /^(.+?)\((\d+),(\d+)\): (error|warning|info|hint) (?:([A-Z]+\d+): )?(.*)$/;
/** `file:line:col: error: message` (gcc, clang, eslint -f unix, rustc short, go vet) */
const unixLine = /^(.+?):(\d+):(\d+):\s*(?:(error|fatal error|warning|warn|note|info|hint)\s*:?\s*)?(.*)$/i;

/** Diagnostics per absolute file path, from a compiler's or linter's output. */
export function parseDiagnostics(output: string, cwd: string): Map<string, Diagnostic[]> {
  const byFile = new Map<string, Diagnostic[]>();
  for (const line of output.split('\n')) {
    const tsc = tscLine.exec(line);
    const unix = tsc ? undefined : unixLine.exec(line);
    const match = tsc
      ? { file: tsc[1]!, line: tsc[2]!, col: tsc[3]!, level: tsc[4]!, code: tsc[5], message: tsc[6]! }
      : unix
        ? {
            file: unix[1]!,
            line: unix[2]!,
            col: unix[3]!,
            level: unix[4] ?? 'error',
            code: undefined,
            message: unix[5]!,
          }
        : undefined;
    if (!match || match.message.trim() === '') continue;
    const path = isAbsolute(match.file) ? match.file : resolve(cwd, match.file);
    const position = { line: Number(match.line) - 1, character: Number(match.col) - 1 };
    const diagnostic: Diagnostic = {
      severity: severities[match.level.toLowerCase().replace('fatal error', 'fatal')] ?? 'error',
      message: match.message.trim(),
      range: { start: position, end: position },
      ...(match.code ? { code: match.code } : {}),
    };
    byFile.set(path, [...(byFile.get(path) ?? []), diagnostic]);
  }
  return byFile;
}
