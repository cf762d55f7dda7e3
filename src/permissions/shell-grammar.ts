import { createRequire } from 'node:module';
import type sh from 'mvdan-sh';

/** One word of a simple command: its text as written and, when known before it runs, its value. */
export interface ShellWord {
  text: string;
  /** The word after quote removal; absent when only running it tells (`$X`, `$(…)`, a glob). */
  value?: string;
}

/** One simple command the line runs, wherever it sits (pipeline, list, subshell, `$(…)`, a body). */
export interface SimpleCommand {
  /** Assignments, words and redirections as written, single-spaced: what an allow rule must match. */
  written: string;
  /** The command's words (not for `declare …` or `[[ … ]]`, which are judged as written). */
  words?: ShellWord[];
}

export interface ParsedLine {
  commands: SimpleCommand[];
  /**
   * Whether it runs code no rule can read from its text: arithmetic (`$((…))`, `((…))`, `let`,
   * `for ((…))`) on anything but literal numbers, and indexed or indirect parameters (`${a[i]}`,
   * `${!x}`), where bash evaluates a variable's value as an expression that may hold `$(…)`.
   */
  opaque: boolean;
}

type Grammar = { syntax: typeof sh.syntax; parser: sh.Parser };
let grammar: Grammar | undefined;

/**
 * mvdan/sh (the parser behind shfmt) compiled to JavaScript, loaded on the first Bash rule to judge:
 * ~1.5 MB that `baton run` should not read at start-up. It is synchronous, so rules stay a plain
 * function, and strict, so text bash refuses is refused. Its WebAssembly successor sh-syntax (which
 * upstream now points to) parses asynchronously and returns every command as an empty `{ Pos, End }`;
 * web-tree-sitter with tree-sitter-bash loads asynchronously and repairs broken text into a tree.
 */
function loadGrammar(): Grammar {
  if (!grammar) {
    const { syntax } = createRequire(import.meta.url)('mvdan-sh') as typeof sh;
    grammar = { syntax, parser: syntax.NewParser() };
  }
  return grammar;
}

/** Node types whose words bash evaluates as an arithmetic expression. */
const arithmetic = new Set(['ArithmExp', 'ArithmCmd', 'LetClause', 'CStyleLoop']);

/** Commands judged as written, without words of their own. */
const clauses = new Set(['DeclClause', 'TestClause']);

/** Bash's quote removal: a backslash keeps the next character (in double quotes only `$`, `` ` ``, `"`, `\`). */
function unescaped(text: string, inDoubleQuotes: boolean): string {
  const escape = inDoubleQuotes ? /\\([$`"\\\n])/g : /\\([\s\S])/g;
  return text.replace(escape, (_, c: string) => (c === '\n' ? '' : c));
}

/** The single-character escapes of bash's `$'…'` quoting. */
const ansiCEscapes: Record<string, string> = {
  a: '\x07',
  b: '\b',
  e: '\x1b',
  E: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '?': '?',
};

/** The text of a `$'…'` word (`$'rm'`, `$'\x72m'`); undefined for escapes it does not know (`\c`). */
function ansiCDecoded(text: string): string | undefined {
  let unknown = false;
  const decoded = text.replace(
    /\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}|[\s\S])/g,
    (_, e: string) => {
      const code = /^[xuU]./.test(e) ? parseInt(e.slice(1), 16) : /^[0-7]/.test(e) ? parseInt(e, 8) : undefined;
      if (code !== undefined && code <= 0x10ffff) return String.fromCodePoint(code);
      unknown ||= code !== undefined || ansiCEscapes[e] === undefined;
      return ansiCEscapes[e] ?? '';
    },
  );
  return unknown ? undefined : decoded;
}

/** Characters that make an unquoted word expand to other words (globs, braces). */
const expanding = /[*?[{]/;

function partValue(part: sh.Node, syntax: typeof sh.syntax): string | undefined {
  const type = syntax.NodeType(part);
  if (type === 'Lit') {
    const { Value } = part as sh.Lit;
    return expanding.test(Value) ? undefined : unescaped(Value, false);
  }
  if (type === 'SglQuoted') {
    const { Value, Dollar } = part as sh.SglQuoted;
    return Dollar ? ansiCDecoded(Value) : Value;
  }
  if (type !== 'DblQuoted' || (part as sh.DblQuoted).Dollar) return undefined;
  const inner = (part as sh.DblQuoted).Parts;
  if (!inner.every((p) => syntax.NodeType(p) === 'Lit')) return undefined;
  return inner.map((p) => unescaped((p as sh.Lit).Value, true)).join('');
}

/** A word's value when it is known before the line runs: literal text and quotes only. */
function wordValue(word: sh.Word, syntax: typeof sh.syntax): string | undefined {
  let value = '';
  for (const part of word.Parts) {
    const text = partValue(part, syntax);
    if (text === undefined) return undefined;
    value += text;
  }
  return value;
}

/** A number or `@`/`*` written as is, which bash takes as it stands where it evaluates an expression. */
const literalIndex = /^(\d+|@|\*)$/;

/** Whether an index or offset (`${a[0]}`, `${x:0:7}`, `${a[@]}`) is absent or written as a literal. */
function isLiteral(expr: sh.Node | null, syntax: typeof sh.syntax): boolean {
  if (!expr) return true;
  if (syntax.NodeType(expr) !== 'Word') return false;
  const { Parts } = expr as sh.Word;
  return Parts.every((p) => syntax.NodeType(p) === 'Lit' && literalIndex.test((p as sh.Lit).Value));
}

/** Whether a parameter or assignment has bash evaluate a variable's value (`${a[i]}`, `${!x}`, `a[i]=…`). */
function evaluatesVariable(node: sh.Node, type: string, syntax: typeof sh.syntax): boolean {
  if (type === 'Assign') return !isLiteral((node as sh.Assign).Index, syntax);
  if (type !== 'ParamExp') return false;
  const { Excl, Index, Slice } = node as sh.ParamExp;
  return (
    Excl ||
    !isLiteral(Index, syntax) ||
    (Slice !== null && !(isLiteral(Slice.Offset, syntax) && isLiteral(Slice.Length, syntax)))
  );
}

/** Inside arithmetic, anything but a literal number may be a variable whose value bash evaluates. */
function evaluatesInArithmetic(node: sh.Node, type: string): boolean {
  return type === 'Lit' ? !/^\d+$/.test((node as sh.Lit).Value) : type === 'ParamExp' || type.endsWith('Subst');
}

/**
 * The simple command one statement runs. Assignments alone (`PATH=/tmp/x`) and redirections
 * alone (`> file`) are commands too: they change what later commands do.
 */
function statementCommand(
  stmt: sh.Stmt,
  syntax: typeof sh.syntax,
  text: (node: sh.Node) => string,
): SimpleCommand | undefined {
  const redirections = stmt.Redirs.filter((r): r is sh.Redirect => r !== null);
  const type = stmt.Cmd ? syntax.NodeType(stmt.Cmd) : '';
  if (clauses.has(type)) return { written: [stmt.Cmd, ...redirections].map(text).join(' ') };
  if (type !== '' && type !== 'CallExpr') return undefined;
  const call = stmt.Cmd as sh.CallExpr | null;
  const args = call?.Args.filter((w): w is sh.Word => w !== null) ?? [];
  const pieces = [...(call?.Assigns.filter((a): a is sh.Assign => a !== null) ?? []), ...args, ...redirections];
  if (pieces.length === 0) return undefined;
  pieces.sort((a, b) => a.Pos().Offset() - b.Pos().Offset());
  const written = pieces.map(text).join(' ');
  if (args.length === 0) return { written };
  const words = args.map((w): ShellWord => {
    const value = wordValue(w, syntax);
    return value === undefined ? { text: text(w) } : { text: text(w), value };
  });
  return { written, words };
}

/**
 * How deep the syntax tree is walked (a node per level: `a && b && …` adds two per command). The
 * walk recurses, and overflowing the stack inside it took minutes; deeper lines are not judged.
 */
const MAX_TREE_DEPTH = 500;

/** Longer lines are not parsed: the parser takes seconds on ~100 KB, which would stall every agent. */
const MAX_LINE_BYTES = 32 * 1024;

/** Every simple command of a parsed file, in source order; undefined when the tree is too deep. */
function commandsOf(file: sh.File, source: Buffer, syntax: typeof sh.syntax): ParsedLine | undefined {
  // Positions are byte offsets into the UTF-8 text.
  const text = (node: sh.Node): string => source.subarray(node.Pos().Offset(), node.End().Offset()).toString();
  const line: ParsedLine = { commands: [], opaque: false };
  let depth = 0;
  let tooDeep = false;
  // The depth of the outermost arithmetic being walked (`$((…))`, `((…))`, `let`, `for ((…))`), or 0.
  let arithmeticAt = 0;
  // The walk calls back with each node before its children and with null after them.
  syntax.Walk(file, (node) => {
    if (!node) {
      if (depth === arithmeticAt) arithmeticAt = 0;
      return --depth >= 0;
    }
    if (++depth > MAX_TREE_DEPTH || tooDeep) {
      tooDeep = true;
      depth--;
      return false;
    }
    const type = syntax.NodeType(node);
    if (arithmeticAt === 0 && arithmetic.has(type)) arithmeticAt = depth;
    if (evaluatesVariable(node, type, syntax) || (arithmeticAt > 0 && evaluatesInArithmetic(node, type)))
      line.opaque = true;
    const command = type === 'Stmt' ? statementCommand(node as sh.Stmt, syntax, text) : undefined;
    if (command) line.commands.push(command);
    return true;
  });
  return tooDeep ? undefined : line;
}

/**
 * Parses a shell command line with bash's grammar into every simple command it runs, or returns
 * undefined when bash would not accept it, or when it is too long or nests too deeply to judge
 * quickly (an agent's line must neither crash nor stall the orchestrator).
 */
export function parseShellLine(command: string): ParsedLine | undefined {
  const source = Buffer.from(command);
  if (source.length > MAX_LINE_BYTES) return undefined;
  const { syntax, parser } = loadGrammar();
  try {
    return commandsOf(parser.Parse(command, ''), source, syntax);
  } catch (error) {
    // A parser that overflowed the stack mid-way is not trusted with the next line.
    if (error instanceof RangeError && grammar) grammar.parser = syntax.NewParser();
    return undefined;
  }
}
