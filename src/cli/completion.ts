import type { CommandUnknownOpts as Command } from '@commander-js/extra-typings';
import { BatonError, ErrorCodes } from '../core/index.js';

/**
 * Shell completion scripts generated from the commander program itself, so they list exactly the
 * commands and options the CLI has (commander has no completion of its own).
 */
export const completionShells = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof completionShells)[number];

/** One command path (`''` for `baton` itself) with what may follow it. */
interface CompletionNode {
  path: string;
  subcommands: Array<{ name: string; description: string }>;
  options: Array<{ flag: string; description: string }>;
}

function nodesOf(command: Command, path = ''): CompletionNode[] {
  const visible = command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  const node: CompletionNode = {
    path,
    subcommands: visible.map((c) => ({ name: c.name(), description: c.description() })),
    options: [
      ...command.options.filter((o) => o.long && !o.hidden).map((o) => ({ flag: o.long!, description: o.description })),
      { flag: '--help', description: 'display help for command' },
    ],
  };
  return [node, ...visible.flatMap((c) => nodesOf(c, path ? `${path} ${c.name()}` : c.name()))];
}

/** Quotes for a single-quoted shell string (bash, zsh and fish alike accept '…'\''…'). */
const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
const fishQuote = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function bash(nodes: CompletionNode[]): string {
  const paths = nodes.filter((n) => n.path).map((n) => quote(n.path));
  const cases = nodes.map(
    (n) =>
      `    ${quote(n.path)}) words=${quote([...n.subcommands.map((s) => s.name), ...n.options.map((o) => o.flag)].join(' '))} ;;`,
  );
  return `# baton completion for bash: source <(baton completion bash)
_baton_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" word words="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    [[ "$word" == -* ]] && continue
    case "\${path:+$path }$word" in
      ${paths.join('|')}) path="\${path:+$path }$word" ;;
    esac
  done
  case "$path" in
${cases.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _baton_complete baton
`;
}

function zsh(nodes: CompletionNode[]): string {
  const item = (name: string, description: string): string => quote(`${name.replace(/:/g, '\\:')}:${description}`);
  const cases = nodes.map(
    (n) =>
      `    (${quote(n.path)}) items=(${[...n.subcommands.map((s) => item(s.name, s.description)), ...n.options.map((o) => item(o.flag, o.description))].join(' ')}) ;;`,
  );
  return `#compdef baton
# baton completion for zsh: source <(baton completion zsh)
_baton() {
  local path_so_far="" word
  local -a items
  for word in \${words[2,CURRENT-1]}; do
    [[ $word == -* ]] && continue
    case "\${path_so_far:+$path_so_far }$word" in
      (${nodes
        .filter((n) => n.path)
        .map((n) => quote(n.path))
        .join('|')}) path_so_far="\${path_so_far:+$path_so_far }$word" ;;
    esac
  done
  case "$path_so_far" in
${cases.join('\n')}
  esac
  _describe -t commands baton items
  _files
}
compdef _baton baton
`;
}

function fish(nodes: CompletionNode[]): string {
  const paths = nodes.filter((n) => n.path).map((n) => fishQuote(n.path));
  const lines = nodes.flatMap((n) => {
    const when = `-n ${fishQuote(`test "$(__baton_path)" = ${fishQuote(n.path)}`)}`;
    return [
      ...n.subcommands.map(
        (s) => `complete -c baton -f ${when} -a ${fishQuote(s.name)} -d ${fishQuote(s.description)}`,
      ),
      ...n.options.map((o) => `complete -c baton ${when} -l ${o.flag.slice(2)} -d ${fishQuote(o.description)}`),
    ];
  });
  return `# baton completion for fish: baton completion fish | source
function __baton_path
  set -l path
  for word in (commandline -opc)[2..-1]
    string match -q -- '-*' $word; and continue
    set -l candidate (string join ' ' $path $word)
    contains -- $candidate ${paths.join(' ')}; and set path $path $word
  end
  string join ' ' $path
end
${lines.join('\n')}
`;
}

/** The completion script of `shell` for `program`. */
export function completionScript(shell: string, program: Command): string {
  const nodes = nodesOf(program);
  if (shell === 'bash') return bash(nodes);
  if (shell === 'zsh') return zsh(nodes);
  if (shell === 'fish') return fish(nodes);
  throw new BatonError(
    ErrorCodes.usage,
    `No completion for "${shell}"; choose one of: ${completionShells.join(', ')}.`,
  );
}
