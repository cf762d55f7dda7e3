/**
 * Options as a program reads them, for deny and ask rules: `Bash(rm -rf:*)` must also refuse
 * `rm -fr x`, `rm -r -f x`, `rm x -Rf`, `rm --recursive --force x` and `rm --rec --for x`, which a prefix of the text
 * does not see. Short options bundled in one word are separate options, in any order, anywhere
 * before `--`. Which long option or capital letter means the same as a short one is each program's
 * own (written in its manual, in no library): listed here for the programs deny rules name most.
 */
const sameOptions: Record<string, Record<string, string>> = {
  rm: { '-R': '-r', '--recursive': '-r', '--force': '-f', '--dir': '-d' },
  cp: { '-R': '-r', '--recursive': '-r', '--force': '-f' },
  mv: { '--force': '-f' },
  chmod: { '--recursive': '-R' },
  chown: { '--recursive': '-R' },
  chgrp: { '--recursive': '-R' },
  git: { '--force': '-f' },
};

/**
 * Options a program takes before its subcommand (`git -C repo push`, `docker -H host rm`), from
 * each one's manual: those taking the next word as their value, and every other word starting with
 * `-` is an option alone. Deny and ask rules name the subcommand right after the program.
 */
const globalOptionsWithValue: Record<string, ReadonlySet<string>> = {
  git: new Set(['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--super-prefix', '--config-env']),
  docker: new Set(['-H', '--host', '-c', '--context', '--config', '-l', '--log-level']),
  kubectl: new Set(['-n', '--namespace', '--context', '--kubeconfig', '-s', '--server', '--cluster', '--user']),
  npm: new Set(['-C', '--prefix', '-w', '--workspace', '--userconfig', '--registry']),
};

/**
 * The command without the options its program takes before its subcommand (`git -C repo -c a=b
 * push` → `git push`), or undefined when it has none or its program is not listed.
 */
export function withoutGlobalOptions(words: readonly string[]): string[] | undefined {
  const withValue = globalOptionsWithValue[words[0] ?? ''];
  if (!withValue) return undefined;
  let i = 1;
  while (i < words.length && words[i]!.startsWith('-') && words[i] !== '--') i += withValue.has(words[i]!) ? 2 : 1;
  if (words[i] === '--') i++;
  return i === 1 || i >= words.length ? undefined : [words[0]!, ...words.slice(i)];
}

interface ReadCommand {
  operands: string[];
  options: Set<string>;
}

function readCommand(words: readonly string[]): ReadCommand {
  const aliases = sameOptions[words[0] ?? ''] ?? {};
  const read: ReadCommand = { operands: [], options: new Set() };
  let optionsEnded = false;
  for (const word of words.slice(1)) {
    if (optionsEnded || !word.startsWith('-') || word === '-') read.operands.push(word);
    else if (word === '--') optionsEnded = true;
    else if (word.startsWith('--')) {
      const name = word.split('=')[0]!;
      read.options.add(aliases[name] ?? name);
      // GNU getopt and git take a long option's unambiguous start (`rm --rec --for`): for a deny or
      // ask rule, any start of a long name listed counts as that option (too much refused, never too little).
      if (name.length > 2 && !(name in aliases))
        for (const [long, short] of Object.entries(aliases)) if (long.startsWith(name)) read.options.add(short);
    } else if (/^-[A-Za-z]+$/.test(word)) {
      for (const letter of word.slice(1)) read.options.add(aliases[`-${letter}`] ?? `-${letter}`);
    } else read.operands.push(word); // `-5`, `-n3`: a value, not letters to take apart
  }
  return read;
}

/** Whether `inner` appears in `outer` in order (not necessarily side by side). */
function inOrder(inner: readonly string[], outer: readonly string[]): boolean {
  let at = 0;
  for (const word of outer) if (word === inner[at]) at++;
  return at === inner.length;
}

/**
 * Whether a deny or ask rule's Bash specifier that names options (`rm -rf:*`, `git push --force:*`,
 * `rm -rf /`) covers a command that gives them differently: the same program, every option the rule
 * names (bundled or apart, in any order, by its long name), and the rule's other words — in order,
 * with other words between them for a `:*` rule (`git -C repo push --force`), exactly for a rule
 * without one. More options than the rule names still match: `rm -rfv /` is `rm -rf /` and more.
 */
export function optionsCoverCommand(specifier: string, command: string): boolean {
  const prefix = specifier.endsWith(':*');
  const ruleWords = (prefix ? specifier.slice(0, -2) : specifier).trim().split(/\s+/);
  if (specifier.slice(0, prefix ? -2 : undefined).includes('*')) return false;
  if (!ruleWords.slice(1).some((word) => word.startsWith('-'))) return false;
  const words = command.trim().split(/\s+/);
  if (words[0] !== ruleWords[0]) return false;
  const rule = readCommand(ruleWords);
  const given = readCommand(words);
  if (![...rule.options].every((option) => given.options.has(option))) return false;
  return prefix
    ? inOrder(rule.operands, given.operands)
    : rule.operands.length === given.operands.length && inOrder(rule.operands, given.operands);
}
