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
   * `for ((…))`) and indexed or indirect parameters (`${a[i]}`, `${!x}`), where bash evaluates a
   * variable's value as an expression that may hold `$(…)`.
   */
  opaque: boolean;
}

type Grammar = { syntax: typeof sh.syntax; parser: sh.Parser };
let grammar: Grammar | undefined;

/**
 * mvdan/sh (the parser behind shfmt) compiled to JavaScript, loaded on the first Bash rule to judge:
 * ~1.5 MB that `baton run` should not read at start-up. It is synchronous, so rules stay a plain
 * function; its WebAssembly successor sh-syntax parses asynchronously and returns every command as
 * an empty `{ Pos, End }`, and tree-sitter-bash tolerates errors where refusing is safer.
 */
function loadGrammar(): Grammar {
  if (!grammar) {
    const { syntax } = createRequire(import.meta.url)('mvdan-sh') as typeof sh;
    grammar = { syntax, parser: syntax.NewParser() };
  }
  return grammar;
}

/** Node types that make bash evaluate text as an arithmetic expression, which may run commands. */
const evaluating = new Set(['ArithmExp', 'ArithmCmd', 'LetClause', 'CStyleLoop']);

/** Commands judged as written, without words of their own. */
const clauses = new Set(['DeclClause', 'TestClause']);

/** Bash's quote removal: a backslash keeps the next character (in double quotes only `$`, `` ` ``, `"`, `\`). */
function unescaped(text: string, inDoubleQuotes: boolean): string {
  const escape = inDoubleQuotes ? /\\([$`"\\\n])/g : /\\([\s\S])/g;
  return text.replace(escape, (_, c: string) => (c === '\n' ? '' : c));
}

/** Characters that make an unquoted word expand to other words (globs, braces). */
const expanding = /[*?[{]/;

function partValue(part: sh.Node, syntax: typeof sh.syntax): string | undefined {
  const type = syntax.NodeType(part);
  if (type === 'Lit') {
    const { Value } = part as sh.Lit;
    return expanding.test(Value) ? undefined : unescaped(Value, false);
  }
  if (type === 'SglQuoted' && !(part as sh.SglQuoted).Dollar) return (part as sh.SglQuoted).Value;
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

/** Whether a node makes bash evaluate a value as an expression (see `ParsedLine.opaque`). */
function isEvaluating(node: sh.Node, type: string): boolean {
  if (evaluating.has(type)) return true;
  if (type === 'ParamExp') {
    const param = node as sh.ParamExp;
    return param.Excl || param.Index !== null || param.Slice !== null;
  }
  return type === 'Assign' && (node as sh.Assign).Index !== null;
}

/**
 * Parses a shell command line with bash's grammar into every simple command it runs, or returns
 * undefined when bash would not accept it.
 */
export function parseShellLine(command: string): ParsedLine | undefined {
  const { syntax, parser } = loadGrammar();
  let file: sh.File;
  try {
    file = parser.Parse(command, '');
  } catch {
    return undefined;
  }
  // Positions are byte offsets into the UTF-8 text.
  const source = Buffer.from(command);
  const text = (node: sh.Node): string => source.subarray(node.Pos().Offset(), node.End().Offset()).toString();
  const line: ParsedLine = { commands: [], opaque: false };
  syntax.Walk(file, (node) => {
    if (!node) return true;
    const type = syntax.NodeType(node);
    if (isEvaluating(node, type)) line.opaque = true;
    if (type !== 'Stmt') return true;
    const { Cmd, Redirs } = node as sh.Stmt;
    const redirections = Redirs.filter((r): r is sh.Redirect => r !== null);
    const cmdType = Cmd ? syntax.NodeType(Cmd) : '';
    if (Cmd && clauses.has(cmdType)) line.commands.push({ written: [Cmd, ...redirections].map(text).join(' ') });
    if (cmdType !== 'CallExpr') return true;
    const call = Cmd as sh.CallExpr;
    const args = call.Args.filter((w): w is sh.Word => w !== null);
    if (args.length === 0) return true;
    const pieces = [...call.Assigns.filter((a): a is sh.Assign => a !== null), ...args, ...redirections];
    pieces.sort((a, b) => a.Pos().Offset() - b.Pos().Offset());
    const words = args.map((w): ShellWord => {
      const value = wordValue(w, syntax);
      return value === undefined ? { text: text(w) } : { text: text(w), value };
    });
    line.commands.push({ written: pieces.map(text).join(' '), words });
    return true;
  });
  return line;
}
