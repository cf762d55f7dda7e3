/**
 * Operators that chain or pipe shell commands, and the brackets of subshells and command
 * substitutions: each side is a command of its own.
 */
const separators = ['&&', '||', ';', '|', '&', '\n', '$(', '(', ')', '`'];

/**
 * Grouping and control words that may start or end a command without being part of it: `{ a; }`,
 * `! a`, `if a; then b; fi`, `for x in y; do a; done`.
 */
const groupingWords = new Set(['{', '}', '!', 'if', 'then', 'elif', 'else', 'fi', 'do', 'done', 'while', 'until']);

/** One command's words with grouping words taken off its ends, single-spaced. */
function bareCommand(part: string): string {
  const words = part.split(' ').filter((w) => w !== '');
  while (words.length > 0 && groupingWords.has(words[0]!)) words.shift();
  while (words.length > 0 && groupingWords.has(words.at(-1)!)) words.pop();
  return words.join(' ');
}

/** Whether the `&` at `i` belongs to a redirection (`2>&1`, `<&3`, `&>file`), not a separator. */
function isRedirection(command: string, i: number, separator: string): boolean {
  return separator === '&' && (command[i - 1] === '>' || command[i - 1] === '<' || command[i + 1] === '>');
}

/**
 * Hand-written on purpose: rules need every command a line might run, split conservatively at every
 * operator and bracket, substitutions included. shell-quote's tokens do not nest `$(…)` or backticks,
 * and a full bash grammar (tree-sitter-bash) would be a native or WebAssembly dependency for this alone.
 *
 * Splits a shell command line into its simple commands (`a && b | (c)` → a, b, c), leaving quoted
 * text alone and spacing single, so that a rule allowing `npm test` does not allow
 * `npm test && rm -rf /`, and a rule denying `rm -rf` sees `(rm  -rf /)`.
 */
export function splitShellCommands(command: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') current += c + (command[++i] ?? '');
      else current += c;
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === '\\') {
      current += c + (command[++i] ?? '');
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    const separator = separators.find((s) => command.startsWith(s, i) && !isRedirection(command, i, s));
    if (separator) {
      parts.push(current);
      current = '';
      i += separator.length - 1;
    } else current += c === ' ' || c === '\t' ? ' ' : c;
  }
  parts.push(current);
  return parts.map(bareCommand).filter((p) => p !== '');
}

/** Words whose argument is itself a command line. */
const shells = ['sh', 'bash', 'zsh', 'dash', 'eval'];

/** Words that run the command after them: `timeout 5 rm …`, `sudo rm …`, `sh -c "rm …"`. */
const wrappers: Array<{ word: string; skip: RegExp }> = [
  { word: 'sudo', skip: /^-/ },
  { word: 'env', skip: /^(-|[A-Za-z_][A-Za-z0-9_]*=)/ },
  { word: 'timeout', skip: /^(-|\d)/ },
  { word: 'nice', skip: /^(-|\d)/ },
  ...['nohup', 'time', 'command', 'exec', 'xargs'].map((word) => ({ word, skip: /^-/ })),
  ...shells.map((word) => ({ word, skip: /^-/ })),
];

/**
 * A command with leading `NAME=value` assignments and wrapper words (and their options) taken off,
 * and whether what is left is a shell running a command line of its own (`sh -c "…"`, `eval "…"`).
 */
function unwrapped(command: string): { command: string; shell: boolean } {
  const words = command.split(' ');
  let shell = false;
  for (;;) {
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] ?? '')) {
      words.shift();
      continue;
    }
    const wrapper = wrappers.find((w) => w.word === words[0]);
    if (!wrapper || words.length === 1) return { command: words.join(' '), shell };
    shell ||= shells.includes(wrapper.word);
    words.shift();
    while (words.length > 1 && wrapper.skip.test(words[0]!)) words.shift();
  }
}

/**
 * Every command a line might run, for deny and ask rules, which must not be dodged: each without
 * the assignments and wrappers before it, plus the command lines given to a shell (`sh -c "rm …"`)
 * and the substitutions inside double quotes (`"$(rm …)"`).
 */
export function commandsToRestrict(command: string): string[] {
  const parts = splitShellCommands(command).map(unwrapped);
  const inner = parts.filter((p) => p.shell).flatMap((p) => splitShellCommands(p.command.replace(/["']/g, ' ')));
  const substituted = /\$\(|`/.test(command) ? splitShellCommands(command.replaceAll('"', ' ')) : [];
  const all = [...parts.map((p) => p.command), ...[...inner, ...substituted].map((p) => unwrapped(p).command)];
  return [...new Set([...splitShellCommands(command), ...all])];
}

/** Whether a command runs other commands where a rule cannot see them (`$(…)`, backticks, `eval`). */
export function hidesCommands(command: string): boolean {
  return /\$\(|`|<\(|>\(/.test(command) || /(^|\s)(eval|exec|source|\.)\s/.test(command);
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
