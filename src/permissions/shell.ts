import { basename } from 'node:path';
import { withoutGlobalOptions } from './options.js';
import { parseShellLine, type ShellWord } from './shell-grammar.js';

/** What rules compare with one shell command line. */
interface JudgedLine {
  /** Each simple command as written: allow rules must match every one. */
  commands: string[];
  /** Every form of every command it may run: deny and ask rules match any one. */
  restricted: string[];
  /** Whether it runs commands no rule can read from its text: never allowed by a `Bash(…)` rule. */
  opaque: boolean;
}

/** Words that run the words after them as a command: `sudo rm …`, `xargs rm`, `find … -exec rm {} ;`. */
const wrappers = new Set([
  ...['sudo', 'doas', 'env', 'timeout', 'nice', 'ionice', 'nohup', 'setsid', 'stdbuf', 'time', 'watch'],
  ...['command', 'builtin', 'exec', 'xargs', 'find', 'parallel'],
]);

/** Shells, whose commands come from a `-c` string, standard input or a script. */
const shells = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'mksh', 'fish']);

/** Commands that run text or a file as shell code in this shell, now or later (`trap`, `alias`). */
const evaluators = new Set(['eval', 'source', '.', 'trap', 'alias']);

/** Shell options that take the next word as their argument (`bash -o pipefail -c …`). */
const shellOptionsWithArgument = new Set(['-o', '+o', '-O', '+O', '--rcfile', '--init-file']);

/**
 * How many lines of an unparsed line are judged alone, or tails of its words made (each a copy of
 * the rest): enough for any command a person writes, bounded for one written to stall the judge.
 */
const MAX_UNPARSED_PARTS = 64;

/** How deep `bash -c "bash -c '…'"` is followed for deny rules (the line is hidden code anyway). */
const MAX_NESTING = 4;

/** A command's words as one text: values where known, the written word otherwise. */
function spoken(words: readonly ShellWord[]): string {
  return words.map((w) => w.value ?? w.text).join(' ');
}

/**
 * What a shell runs that its words do not show: the `-c` string (its value when written as plain
 * text), or `null` when it reads standard input; `undefined` when it runs a script file.
 */
function shellInput(words: readonly ShellWord[]): ShellWord | null | undefined {
  let commandString = false;
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!.value ?? words[i]!.text;
    if (shellOptionsWithArgument.has(word)) i++;
    else if (/^-[A-Za-z]*c[A-Za-z]*$/.test(word)) commandString = true;
    else if (word === '-s' || word === '-') return null;
    else if (!word.startsWith('-') && !word.startsWith('+')) return commandString ? words[i]! : undefined;
  }
  return null;
}

/**
 * A word as deny rules read shell code in it: its value, or, when part of it is known only when it
 * runs (`bash -c "cd $DIR && rm -rf build"`), its text without the double quotes around it.
 */
function readable(word: ShellWord): string {
  const { text, value } = word;
  return value ?? (text.length > 1 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text);
}

/** Follows the command line a shell or `eval` is given as text, so deny rules see into it. */
function judgeInnerLine(words: readonly ShellWord[], line: JudgedLine, depth: number): void {
  if (words.length === 0 || depth >= MAX_NESTING) return;
  const inner = judgeLine(words.map(readable).join(' '), depth + 1);
  line.restricted.push(...inner.restricted);
}

/** ssh's options that take an argument (`ssh -p 2222 host …`), from ssh(1). */
const sshOptionsWithArgument = new Set('BbcDEeFIiJLlmOoPpQRSWw');

/** The command line `ssh [options] destination command…` gives the remote shell; empty for a login. */
function remoteCommand(words: readonly ShellWord[]): readonly ShellWord[] {
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!.value ?? words[i]!.text;
    if (word === '--') return words.slice(i + 2);
    if (!/^-[A-Za-z0-9]+$/.test(word)) return words.slice(i + 1);
    const takesArgument = [...word.slice(1)].findIndex((letter) => sshOptionsWithArgument.has(letter));
    // `-p 2222` takes the next word; `-p2222` carries its value.
    if (takesArgument === word.length - 2) i++;
  }
  return [];
}

/** `su` and `sudo -s`/`-i` start a shell, which reads its commands from `-c` or standard input. */
function startsShell(name: string, words: readonly ShellWord[]): boolean {
  const shellOptions = ['-s', '-i', '--shell', '--login'];
  return name === 'su' || (name === 'sudo' && words.some((w) => shellOptions.includes(w.value ?? '')));
}

/** Marks commands that run shell code from text (`eval`, `source`, `sh -c`, `bash` on stdin) and follows it. */
function judgeShellCode(name: string, words: readonly ShellWord[], line: JudgedLine, depth: number): void {
  if (evaluators.has(name)) {
    line.opaque = true;
    const args = words.slice(1);
    judgeInnerLine(name === 'eval' ? args : name === 'trap' ? args.slice(0, 1) : [], line, depth);
    return;
  }
  // The remote shell runs it: deny rules see into it; allow rules name the ssh command as written.
  if (name === 'ssh') return judgeInnerLine(remoteCommand(words), line, depth);
  if (!shells.has(name) && !startsShell(name, words)) return;
  const input = shellInput(words);
  // A script file is a program like any other: rules name it, they cannot read it.
  if (input === undefined && !startsShell(name, words)) return;
  line.opaque = true;
  judgeInnerLine(input ? [input] : [], line, depth);
}

/**
 * Adds one simple command's forms for deny and ask rules: as spoken (quotes removed), by its
 * command's base name (`/bin/rm` as `rm`) and, after a wrapper (`sudo -u root rm …`), every tail of
 * its words, since which word a wrapper runs depends on its options. A command word known only when
 * it runs (`$CMD`, `$(which rm)`) hides what runs.
 */
function judgeWords(words: readonly ShellWord[], line: JudgedLine, depth: number): void {
  if (words[0]?.value === undefined) line.opaque = true;
  const wrapped = wrappers.has(basename(words[0]?.value ?? ''));
  for (let i = 0; i < (wrapped ? words.length : 1); i++) {
    const tail = words.slice(i);
    const name = tail[0]!.value;
    if (name === undefined) continue;
    const base = basename(name);
    const named = [{ text: base, value: base }, ...tail.slice(1)];
    line.restricted.push(spoken(tail), spoken(named));
    const subcommand = withoutGlobalOptions(named.map((w) => w.value ?? w.text));
    if (subcommand) line.restricted.push(subcommand.join(' '));
    judgeShellCode(base, tail, line, depth);
  }
}

/**
 * A line bash refuses (or too long or deep to judge): never allowed by a rule with a specifier;
 * deny and ask rules see its first lines judged alone, or, for one line, the tails of its words.
 */
function judgeUnparsed(command: string, depth: number): JudgedLine {
  const line: JudgedLine = { commands: [], restricted: [], opaque: true };
  const lines = command.split('\n');
  if (lines.length > 1) {
    for (const text of lines.slice(0, MAX_UNPARSED_PARTS)) line.restricted.push(...judgeLine(text, depth).restricted);
    return line;
  }
  const words = command.split(/\s+/).filter((w) => w !== '');
  for (let i = 0; i < Math.min(words.length, MAX_UNPARSED_PARTS); i++) line.restricted.push(words.slice(i).join(' '));
  return line;
}

function judgeLine(command: string, depth: number): JudgedLine {
  const parsed = parseShellLine(command);
  if (!parsed) return judgeUnparsed(command, depth);
  const line: JudgedLine = { commands: [], restricted: [], opaque: parsed.opaque };
  for (const { written, words } of parsed.commands) {
    line.commands.push(written);
    line.restricted.push(written);
    if (words) judgeWords(words, line, depth);
  }
  return line;
}

/** Judged lines by their text: deny, ask and allow rules look at the same line in turn. Bounded. */
const CACHE_LIMIT = 256;
const judged = new Map<string, JudgedLine>();

function judge(command: string): JudgedLine {
  let line = judged.get(command);
  if (!line) {
    if (judged.size >= CACHE_LIMIT) judged.clear();
    line = judgeLine(command, 0);
    line.restricted = [...new Set(line.restricted)];
    judged.set(command, line);
  }
  return line;
}

/**
 * The simple commands of a shell line, by bash's grammar (`a && b | (c)` → a, b, c; also inside
 * `$(…)`, backticks, `<(…)`, control and function bodies), each as written and single-spaced: a
 * rule allowing `npm test` does not allow `npm test && rm -rf /`.
 */
export function splitShellCommands(command: string): string[] {
  return judge(command).commands;
}

/**
 * Every command a line might run, for deny and ask rules, which must not be dodged: each as written
 * and as spoken, without its wrappers, and the command lines given to a shell or `eval` as text.
 */
export function commandsToRestrict(command: string): string[] {
  return judge(command).restricted;
}

/**
 * Whether a line runs commands no rule can read from its text: `eval`, `source`, `sh -c`, a shell
 * on standard input, a command word known only when it runs, arithmetic, or text bash refuses.
 */
export function hidesCommands(command: string): boolean {
  return judge(command).opaque;
}

/**
 * Claude Code's Bash specifier: `npm test:*` matches `npm test` and `npm test …` (a prefix), a `*`
 * elsewhere matches any text, anything else must equal the command.
 */
export function bashSpecifierMatches(specifier: string, command: string): boolean {
  if (specifier.endsWith(':*')) {
    const prefix = specifier.slice(0, -2).trim();
    return command === prefix || command.startsWith(`${prefix} `);
  }
  if (!specifier.includes('*')) return command === specifier;
  const source = specifier
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's').test(command);
}
