import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeClient, readToken, startBridge, type BridgeEvent, type BridgeServer } from '../src/bridge/index.js';
import { requireProgram } from './support/programs.js';

const plugin = fileURLToPath(new URL('../editors/nvim', import.meta.url));
const run = promisify(execFile);

let dir: string;
let bridge: BridgeServer;
let subscriber: BridgeClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'baton-nvim-'));
  bridge = await startBridge({ dataDir: join(dir, 'data'), port: 0 });
  subscriber = await BridgeClient.connect({ url: bridge.url, token: readToken(join(dir, 'data')) });
});
afterAll(async () => {
  await subscriber.close();
  await bridge.close();
  rmSync(dir, { recursive: true, force: true });
});

const lua = (code: string) => ['-c', `lua ${code}`];

/** What the subscriber gets about `file`, until the editor closes it. */
async function eventsOf(file: string): Promise<{ events: BridgeEvent[]; closed: Promise<void> }> {
  const events: BridgeEvent[] = [];
  const closed = new Promise<void>((resolve) =>
    subscriber.events.on('event', (e) => {
      if (!('path' in e.event) || e.event.path !== file) return;
      events.push(e);
      if (e.event.type === 'file.closed') resolve();
    }),
  );
  await subscriber.subscribe({ paths: [`**/${basename(file)}`] });
  return { events, closed };
}

/** nvim --headless with the plugin and no user config: the commands, then the plugin's queue drained, then quit. */
const nvim = (commands: string[], env: NodeJS.ProcessEnv = process.env) =>
  run(
    'nvim',
    [
      '--headless',
      '-u',
      'NONE',
      '--cmd',
      `set rtp^=${plugin}`,
      ...commands,
      ...lua(`if not require('baton').drain(5000) then vim.cmd('cquit 3') end`),
      '-c',
      'qa!',
    ],
    { timeout: 20_000, env },
  );

/** Commands that wait for the plugin's queue to drain, then write its status() to `file`. */
const statusTo = (file: string) =>
  lua(`require('baton').drain(5000) vim.fn.writefile({ vim.json.encode(require('baton').status()) }, '${file}')`);
const readStatus = (file: string) =>
  JSON.parse(readFileSync(file, 'utf8')) as { sent: number; errors: number; last_error?: string };

describe.runIf(requireProgram('nvim'))('Neovim plugin (editors/nvim) in real nvim --headless', () => {
  it('pushes open, diagnostics, a save with its diff, the visual selection and close, in that order', async () => {
    const file = join(dir, 'greet.ts');
    writeFileSync(file, 'export const greet = (name: string) => name;\nexport const two = 2;\n');
    const { events, closed } = await eventsOf(file);
    await nvim([
      '--cmd',
      'filetype on',
      ...lua(`require('baton').setup({ data_dir = '${join(dir, 'data')}' })`),
      '-c',
      `edit ${file}`,
      ...lua(
        `vim.diagnostic.set(vim.api.nvim_create_namespace('test'), 0, {{ lnum = 1, col = 13, end_col = 16, message = 'two is not two', severity = vim.diagnostic.severity.ERROR, source = 'test', code = 'T1' }})`,
      ),
      '-c',
      'call setline(2, "export const two = 3;")',
      '-c',
      'write',
      // Select both lines linewise and stay in visual mode while the plugin reads the selection.
      ...lua(`vim.api.nvim_feedkeys('ggVj', 'x!', false) require('baton').selection()`),
      '-c',
      'bdelete',
    ]);
    await closed;

    const path = file;
    expect(events.map((e) => e.event)).toEqual([
      { type: 'file.opened', path, language: 'typescript' },
      {
        type: 'diagnostics.updated',
        path,
        diagnostics: [
          {
            severity: 'error',
            message: 'two is not two',
            source: 'test',
            code: 'T1',
            range: { start: { line: 1, character: 13 }, end: { line: 1, character: 16 } },
          },
        ],
      },
      {
        type: 'file.changed',
        path,
        change: 'changed',
        diff: expect.stringContaining(
          '@@ -1,2 +1,2 @@\n export const greet = (name: string) => name;\n-export const two = 2;\n+export const two = 3;\n',
        ),
      },
      {
        type: 'selection.changed',
        path,
        range: { start: { line: 0, character: 0 }, end: { line: 1, character: 21 } },
        text: 'export const greet = (name: string) => name;\nexport const two = 3;',
      },
      { type: 'file.closed', path },
    ]);
    expect(bridge.state.snapshot()).toMatchObject({ openFiles: [], diagnostics: { errors: 1 } });
  }, 30_000);

  it('reports the files still open as closed when nvim quits (:qa fires no BufDelete)', async () => {
    const first = join(dir, 'left-open-1.ts');
    const second = join(dir, 'left-open-2.ts');
    writeFileSync(first, 'export const a = 1;\n');
    writeFileSync(second, 'export const b = 2;\n');
    const watched = [await eventsOf(first), await eventsOf(second)];
    await nvim([
      ...lua(`require('baton').setup({ data_dir = '${join(dir, 'data')}' })`),
      '-c',
      `edit ${first}`,
      '-c',
      `edit ${second}`,
    ]);
    await Promise.all(watched.map((w) => w.closed));
    const open = bridge.state.snapshot().openFiles.map((f) => f.path);
    expect(open).not.toContain(first);
    expect(open).not.toContain(second);
  }, 30_000);

  it('finds the bridge from a data_dir written with ~, and saves a file over 256 KiB without its diff', async () => {
    const file = join(dir, 'big.txt');
    writeFileSync(file, `${'x'.repeat(80)}\n`.repeat(4000)); // ≈ 324 KB
    const { events, closed } = await eventsOf(file);
    await nvim(
      [
        // The data_dir as a README reader writes it: under ~ (HOME is the test's directory).
        ...lua(`require('baton').setup({ data_dir = '~/data' })`),
        '-c',
        `edit ${file}`,
        '-c',
        'call setline(1, "changed")',
        '-c',
        'write',
        '-c',
        'bdelete',
      ],
      { ...process.env, HOME: dir },
    );
    await closed;
    expect(events.map((e) => e.event)).toEqual([
      { type: 'file.opened', path: file },
      { type: 'file.changed', path: file, change: 'changed' },
      { type: 'file.closed', path: file },
    ]);
  }, 30_000);
  it('cuts a selection longer than the bridge takes, says so, and loses nothing of its batch', async () => {
    const file = join(dir, 'big-selection.ts');
    writeFileSync(file, `${'y'.repeat(80)}\n`.repeat(3200)); // ≈ 259 KB
    const { events, closed } = await eventsOf(file);
    const status = join(dir, 'selection-status.json');
    await nvim([
      ...lua(`require('baton').setup({ data_dir = '${join(dir, 'data')}' })`),
      '-c',
      `edit ${file}`,
      ...lua(`vim.api.nvim_feedkeys('ggVG', 'x!', false) require('baton').selection()`),
      ...statusTo(status),
      '-c',
      'bdelete',
    ]);
    await closed;
    expect(events.map((e) => e.event.type)).toEqual(['file.opened', 'selection.changed', 'file.closed']);
    const selection = events[1]!.event as { text: string; range: unknown };
    expect(selection.range).toEqual({ start: { line: 0, character: 0 }, end: { line: 3199, character: 80 } });
    expect(selection.text.length).toBeLessThanOrEqual(100_000);
    expect(selection.text.startsWith(`${'y'.repeat(80)}\n${'y'.repeat(80)}`)).toBe(true);
    expect(selection.text).toMatch(/\n… \(cut: \d+ more bytes\)$/);
    expect(readStatus(status)).toMatchObject({ sent: 2, errors: 0 });
  }, 30_000);

  it('sends saves whose diffs together pass the 1 MiB request limit in several requests, none lost', async () => {
    const files = [1, 2, 3, 4].map((n) => join(dir, `quarter-${n}.txt`));
    for (const file of files) writeFileSync(file, `${'x'.repeat(79)}\n`.repeat(3100)); // 248 KB each
    const watched = await Promise.all(files.map((file) => eventsOf(file)));
    const status = join(dir, 'saves-status.json');
    await nvim([
      '--cmd',
      'set hidden',
      ...lua(`require('baton').setup({ data_dir = '${join(dir, 'data')}' })`),
      ...files.flatMap((file) => ['-c', `edit ${file}`]),
      // Every line of every file changes: four diffs of ≈ 500 KB each.
      '-c',
      'bufdo %s/^x/z/',
      '-c',
      'wall',
      ...statusTo(status),
    ]);
    await Promise.all(watched.map((w) => w.closed));
    for (const [n, { events }] of watched.entries()) {
      const changed = events.map((e) => e.event).filter((e) => e.type === 'file.changed');
      expect(changed).toEqual([
        {
          type: 'file.changed',
          path: files[n],
          change: 'changed',
          diff: expect.stringContaining(`+z${'x'.repeat(78)}`),
        },
      ]);
    }
    expect(readStatus(status)).toMatchObject({ errors: 0 });
  }, 30_000);

  it('drops only the event the bridge refuses and sends the rest of its batch, and says why', async () => {
    const file = join(dir, 'long-message.ts');
    writeFileSync(file, 'export const a = 1;\n');
    const { events, closed } = await eventsOf(file);
    const status = join(dir, 'refused-status.json');
    await nvim([
      ...lua(`require('baton').setup({ data_dir = '${join(dir, 'data')}' })`),
      '-c',
      `edit ${file}`,
      // A diagnostic message over the bridge's 10,000 characters: that one event is refused.
      ...lua(
        `vim.diagnostic.set(vim.api.nvim_create_namespace('test'), 0, {{ lnum = 0, col = 0, message = string.rep('m', 10001) }})`,
      ),
      ...lua(`require('baton').selection()`),
      ...statusTo(status),
      '-c',
      'bdelete',
    ]);
    await closed;
    expect(events.map((e) => e.event.type)).toEqual(['file.opened', 'selection.changed', 'file.closed']);
    const { errors, last_error } = readStatus(status);
    expect(errors).toBe(1);
    expect(last_error).toContain('diagnostics[0].message: Too big');
    // The answer's body, decoded: no HTTP chunk sizes around it.
    expect(last_error).not.toMatch(/\r\n/);
  }, 30_000);
});
