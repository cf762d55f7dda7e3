import { closeSync, openSync, readSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, isScalar, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { BatonError, type ErrorCode } from './errors.js';
import { issueFix } from './issue-fix.js';

/** One problem found in a user's file, located as precisely as we can. */
export interface ValidationProblem {
  /** Dotted path of the offending field, e.g. `phases[1].agents[0].prompt`. */
  field: string;
  message: string;
  /** 1-based line in the source file, when the source is YAML/JSON text. */
  line?: number;
}

export function formatFieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(root)';
}

export function formatProblems(source: string, problems: ValidationProblem[]): string {
  const lines = problems.map((p) => {
    const where = p.line ? `${source}:${p.line}` : source;
    return `  - ${where}: ${p.field}: ${p.message}`;
  });
  return lines.join('\n');
}

type Issue = z.core.$ZodIssue;

const samePath = (a: readonly PropertyKey[], b: readonly PropertyKey[]): boolean =>
  a.length === b.length && a.every((key, i) => key === b[i]);

/** zod's "Invalid input: expected string, …" without its prefix: the field named before it already says where. */
const withoutPrefix = (message: string): string => message.replace(/^Invalid (input|option): /, '');

/**
 * The issues of a union, with paths from the root. zod reports only "Invalid input" for the union; the
 * branch the input was meant for says what to change: of the branches whose shape the input has, the
 * one with the fewest problems. Where no branch has its shape, what each expects is listed together.
 * A union given a message of its own keeps it.
 */
function unionIssues(issue: Issue): Issue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  // The schema's own words for the union (`z.union([...], { error })`) say it best.
  if (issue.message !== 'Invalid input') return [issue];
  const branches = issue.errors.map((branch) =>
    branch.flatMap((inner) => unionIssues({ ...inner, path: [...issue.path, ...inner.path] })),
  );
  const wrongShape = (branch: Issue[]): boolean =>
    branch.length === 1 && branch[0]!.code === 'invalid_type' && samePath(branch[0].path, issue.path);
  if (branches.every(wrongShape)) {
    const first = branches[0]![0]!;
    const expected = [...new Set(branches.map((branch) => (branch[0] as { expected?: string }).expected))];
    return [{ ...first, message: first.message.replace(/expected [a-z]+/, `expected ${expected.join(' or ')}`) }];
  }
  const closest = branches.filter((branch) => !wrongShape(branch)).reduce((a, b) => (b.length < a.length ? b : a));
  return closest.map((inner) => {
    if (inner.code !== 'invalid_value') return inner;
    // A tag such as `type:` takes the values of every branch, not only those of the branch chosen.
    const values = branches
      .flat()
      .flatMap((other) => (other.code === 'invalid_value' && samePath(other.path, inner.path) ? other.values : []));
    return { ...inner, message: `expected one of ${[...new Set(values)].map((v) => JSON.stringify(v)).join(', ')}` };
  });
}

/** The value at a schema path in the raw data, or undefined where the path leads nowhere. */
function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** Rewords zod's messages where a user would otherwise have to guess what to change. */
function zodProblems(
  error: z.ZodError,
  data: unknown,
  locate: (path: PropertyKey[]) => number | undefined,
): ValidationProblem[] {
  return error.issues.flatMap(unionIssues).flatMap((issue): ValidationProblem[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const path = [...issue.path, key];
        return {
          field: formatFieldPath(path),
          message: 'unknown field (a typo?); remove or rename it',
          line: locate(path),
        };
      });
    }
    if (issue.code === 'invalid_key') {
      // zod says only "Invalid key in record"; the key schema's own message says what a key must be.
      const reason = issue.issues[0]?.message ?? issue.message;
      return [{ field: formatFieldPath(issue.path), message: `invalid key: ${reason}`, line: locate(issue.path) }];
    }
    const missing = issue.code === 'invalid_type' && issue.message.endsWith('received undefined');
    // A missing `version:` (a literal) or enum field: say it is missing, and what to write there. Not
    // where the data holds a shorthand a schema expands (`aggregate: judgee` for `{ strategy: judgee }`).
    const parent = valueAt(data, issue.path.slice(0, -1));
    const missingValue =
      issue.code === 'invalid_value' &&
      valueAt(data, issue.path) === undefined &&
      (parent === undefined || typeof parent === 'object');
    const expected = missingValue ? issue.values.map((v) => JSON.stringify(v)).join(' or ') : '';
    return [
      {
        field: formatFieldPath(issue.path),
        message: missing
          ? `required field is missing (expected ${issue.expected})`
          : missingValue
            ? `required field is missing (expected ${expected})`
            : (issueFix(issue, valueAt(data, issue.path)) ?? withoutPrefix(issue.message)),
        line: locate(issue.path),
      },
    ];
  });
}

/**
 * Keys a JavaScript object cannot hold as data: `__proto__` is dropped by every map (or would reach the
 * prototype), and `constructor` and `prototype` shadow what code reads from an object. Refused where
 * found, with their path, rather than dropped without a word.
 */
const prototypeKeys = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * What keeps data from being plain data, by path: prototype keys, and (data built in code, which no
 * parser has checked) a cycle or nesting past `maxNestingDepth`, which would overflow the stack of
 * whatever walks it next. `fatal` problems must stop validation before the schema walks the data.
 */
function plainDataProblems(data: unknown): { problems: PathProblem[]; fatal: boolean } {
  const problems: PathProblem[] = [];
  let fatal = false;
  const enclosing = new Set<object>();
  const done = new Set<object>();
  const visitValue = (value: unknown, path: PropertyKey[]): void => {
    if (value === null || typeof value !== 'object' || done.has(value)) return;
    const problem = enclosing.has(value)
      ? 'refers back to an object that holds it (a cycle); give plain data'
      : path.length > maxNestingDepth
        ? `nested more than ${maxNestingDepth} levels deep`
        : undefined;
    if (problem) {
      fatal = true;
      problems.push({ path, message: problem });
      return;
    }
    enclosing.add(value);
    for (const key of Object.keys(value)) {
      const at = [...path, Array.isArray(value) ? Number(key) : key];
      if (!Array.isArray(value) && prototypeKeys.has(key))
        problems.push({ path: at, message: `"${key}" cannot be a key (it names an object's prototype); rename it` });
      else visitValue((value as Record<string, unknown>)[key], at);
    }
    enclosing.delete(value);
    done.add(value);
  };
  visitValue(data, []);
  return { problems, fatal };
}

/**
 * Validates plain data (already parsed) against a schema; throws a BatonError with every problem
 * named by field. Used for data that did not come from a file (env overrides, CLI flags).
 */
export function validateData<S extends z.ZodType>(schema: S, data: unknown, options: ParseOptions): z.output<S> {
  return validated(schema, data, options, () => undefined);
}

/** The schema's output, or a BatonError listing every problem: the schema's, the keys it would drop, `alsoCheck`'s. */
function validated<S extends z.ZodType>(
  schema: S,
  data: unknown,
  options: ParseOptions,
  locate: (path: PropertyKey[]) => number | undefined,
): z.output<S> {
  const plain = plainDataProblems(data);
  const parsed = plain.fatal ? undefined : schema.safeParse(data);
  if (parsed?.success && plain.problems.length === 0) return parsed.data;
  const problems = parsed && !parsed.success ? zodProblems(parsed.error, data, locate) : [];
  const seen = new Set(problems.map((p) => `${p.field}\0${p.message}`));
  const extras = [...plain.problems, ...(parsed && !parsed.success ? (options.alsoCheck?.(data) ?? []) : [])];
  for (const extra of extras) {
    const field = formatFieldPath(extra.path);
    if (seen.has(`${field}\0${extra.message}`)) continue;
    seen.add(`${field}\0${extra.message}`);
    problems.push({ field, message: extra.message, line: locate(extra.path) });
  }
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  throw new BatonError(options.code, `${options.what} is invalid:\n${formatProblems(options.source, problems)}`);
}

/** A problem a caller's own check found, by path (located like a schema problem). */
export interface PathProblem {
  path: PropertyKey[];
  message: string;
}

export interface ParseOptions {
  source: string;
  code: ErrorCode;
  what: string;
  /**
   * Checks run on the raw data when the schema refuses it, so that problems a schema refinement would
   * find only on valid data (references between fields) are reported in the same pass.
   */
  alsoCheck?: (data: unknown) => PathProblem[];
}

/** Deeper than any workflow or config needs; far below where a parser or validator would overflow its stack. */
const maxNestingDepth = 64;
/** Aliases one document may expand: anchors are for sharing a few blocks, not for "billion laughs". */
const maxAliasCount = 100;

function syntaxError(options: ParseOptions, problems: ValidationProblem[]): BatonError {
  return new BatonError(
    options.code,
    `${options.what} is not valid ${isJsonSource(options.source) ? 'JSON' : 'YAML'}:\n${formatProblems(options.source, problems)}`,
  );
}

const isJsonSource = (source: string): boolean => source.toLowerCase().endsWith('.json');

/** JSON files are held to JSON (no trailing commas, comments or single quotes), which YAML would accept. */
function checkStrictJson(text: string, lineCounter: LineCounter, options: ParseOptions): void {
  try {
    JSON.parse(text);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const position = /position (\d+)/.exec(message)?.[1];
    const line = position === undefined ? undefined : lineCounter.linePos(Number(position)).line;
    throw syntaxError(options, [
      { field: '(syntax)', message: `${message.replace(/ in JSON.*$/, '')} [JSON_SYNTAX]`, line },
    ]);
  }
}

/** The line of the alias named `name` (the first alias when no name is given), to point at an alias problem. */
function aliasLine(doc: Document.Parsed, lineCounter: LineCounter, name: string | undefined): number | undefined {
  let line: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (name !== undefined && node.source !== name) return undefined;
      if (node.range) line = lineCounter.linePos(node.range[0]).line;
      return visit.BREAK;
    },
  });
  return line;
}

/** The line of the first merge key (`<<`) in the document, where a map (an env, a server list) would take it as a key. */
function mergeKeyLine(doc: Document.Parsed, lineCounter: LineCounter): number | undefined {
  let line: number | undefined;
  visit(doc, {
    Pair(_key, pair) {
      if (!isScalar(pair.key) || pair.key.value !== '<<') return undefined;
      line = pair.key.range ? lineCounter.linePos(pair.key.range[0]).line : 0;
      return visit.BREAK;
    },
  });
  return line;
}

function nestingDepth(data: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[data, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    deepest = Math.max(deepest, depth);
    if (deepest > maxNestingDepth) return deepest;
    if (value !== null && typeof value === 'object') {
      for (const child of Object.values(value)) stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

/** YAML text to plain data, every syntax or resource problem a BatonError with its line and the library's code. */
function parseToData(
  text: string,
  options: ParseOptions,
): { doc: Document.Parsed; lineCounter: LineCounter; data: unknown } {
  const lineCounter = new LineCounter();
  // `merge: false`: merge keys never expand (no merge-key bombs); mergeKeyLine refuses them below.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, merge: false });
  // An unknown tag (`!foo`, `!!js/function`) would be read as a plain string: refused as the error it is.
  const unresolvedTags = doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED');
  if (doc.errors.length > 0 || unresolvedTags.length > 0) {
    const problems = [...doc.errors, ...unresolvedTags].map((e) => ({
      field: '(syntax)',
      // The line is reported separately; drop the library's own "at line N, column M:" suffix.
      message: `${(e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '')} [${e.code}]`,
      line: e.linePos?.[0]?.line,
    }));
    throw syntaxError(options, problems);
  }
  if (isJsonSource(options.source)) checkStrictJson(text, lineCounter, options);
  const mergeKey = mergeKeyLine(doc, lineCounter);
  if (mergeKey !== undefined)
    throw syntaxError(options, [
      {
        field: '(syntax)',
        message: 'merge keys (<<) are not supported; write the keys out [MERGE_KEY]',
        line: mergeKey || undefined,
      },
    ]);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount });
  } catch (cause) {
    // Undefined aliases and alias bombs surface only while building the data.
    const message = cause instanceof Error ? cause.message : String(cause);
    const code = message.startsWith('Excessive alias count') ? 'ALIAS_BOMB' : 'BAD_ALIAS';
    const line = aliasLine(doc, lineCounter, /: (\S+)$/.exec(message)?.[1]);
    throw syntaxError(options, [{ field: '(syntax)', message: `${message} [${code}]`, line }]);
  }
  if (nestingDepth(data) > maxNestingDepth) {
    throw syntaxError(options, [
      { field: '(syntax)', message: `nested more than ${maxNestingDepth} levels deep [TOO_DEEP]` },
    ]);
  }
  return { doc, lineCounter, data };
}

/**
 * Parses YAML (a superset of JSON) and validates it, reporting each problem with its field path and
 * the line it is on, so a user can jump straight to it.
 */
export function parseYamlWithSchema<S extends z.ZodType>(text: string, schema: S, options: ParseOptions): z.output<S> {
  const { doc, lineCounter, data } = parseToData(text, options);
  const locate = (path: PropertyKey[]): number | undefined => {
    // Walk up the path until a node exists (a missing field is reported at its parent).
    for (let depth = path.length; depth >= 0; depth--) {
      const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return validated(schema, data, options, locate);
}

/** Far beyond any workflow, config or script; a larger file is a mistake, not something to parse. */
const maxUserFileBytes = 10 * 1024 * 1024;

/**
 * A file's text, read up to `limit` bytes: the limit holds while reading, so a device or a pipe that
 * never ends (`/dev/zero`, `/dev/urandom`) is refused at the limit instead of filling memory, which a
 * size from stat (0 for them) could not tell. `<(command)` and other pipes are still read.
 */
function readAtMost(path: string, limit: number, tooLarge: () => never): string {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      total += read;
      if (total > limit) tooLarge();
      chunks.push(chunk.subarray(0, read));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Reads a file for parseYamlWithSchema, turning "no such file" into a clear input error. */
export function readUserFile(path: string, options: { code: ErrorCode; what: string; limitBytes?: number }): string {
  const limit = options.limitBytes ?? maxUserFileBytes;
  try {
    return readAtMost(path, limit, () => {
      throw new BatonError(options.code, `${options.what} ${path} is larger than ${limit} bytes.`);
    });
  } catch (cause) {
    if (cause instanceof BatonError) throw cause;
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new BatonError(options.code, `${options.what} ${path} ${reason}.`, { cause });
  }
}
