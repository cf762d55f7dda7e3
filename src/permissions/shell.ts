/** Operators that chain or pipe shell commands: each side is a command of its own. */
const separators = ['&&', '||', ';', '|', '&', '\n'];

/**
 * Splits a shell command line into its simple commands (`a && b | c` → a, b, c), leaving quoted
 * text alone, so that a rule allowing `npm test` does not allow `npm test && rm -rf /`.
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
    const separator = separators.find((s) => command.startsWith(s, i));
    if (separator) {
      parts.push(current);
      current = '';
      i += separator.length - 1;
    } else current += c;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
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
