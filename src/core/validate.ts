import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { z } from 'zod';
import { BatonError, type ErrorCode } from './errors.js';

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

/** Rewords zod's messages where a user would otherwise have to guess what to change. */
function zodProblems(error: z.ZodError, locate: (path: PropertyKey[]) => number | undefined): ValidationProblem[] {
  return error.issues.flatMap((issue): ValidationProblem[] => {
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
    const missing = issue.code === 'invalid_type' && issue.message.endsWith('received undefined');
    return [
      {
        field: formatFieldPath(issue.path),
        message: missing ? `required field is missing (expected ${issue.expected})` : issue.message,
        line: locate(issue.path),
      },
    ];
  });
}

/**
 * Validates plain data (already parsed) against a schema; throws a BatonError with every problem
 * named by field. Used for data that did not come from a file (env overrides, CLI flags).
 */
export function validateData<S extends z.ZodType>(
  schema: S,
  data: unknown,
  options: { source: string; code: ErrorCode; what: string },
): z.output<S> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const problems = zodProblems(parsed.error, () => undefined);
  throw new BatonError(options.code, `${options.what} is invalid:\n${formatProblems(options.source, problems)}`);
}

/**
 * Parses YAML (a superset of JSON) and validates it, reporting each problem with its field path and
 * the line it is on, so a user can jump straight to it.
 */
export function parseYamlWithSchema<S extends z.ZodType>(
  text: string,
  schema: S,
  options: { source: string; code: ErrorCode; what: string },
): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => ({
      field: '(syntax)',
      // The line is reported separately; drop the library's own "at line N, column M:" suffix.
      message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
      line: e.linePos?.[0]?.line,
    }));
    throw new BatonError(
      options.code,
      `${options.what} is not valid YAML:\n${formatProblems(options.source, problems)}`,
    );
  }
  const data: unknown = doc.toJS();
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;

  const locate = (path: PropertyKey[]): number | undefined => {
    // Walk up the path until a node exists (a missing field is reported at its parent).
    for (let depth = path.length; depth >= 0; depth--) {
      const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const problems = zodProblems(parsed.error, locate);
  throw new BatonError(options.code, `${options.what} is invalid:\n${formatProblems(options.source, problems)}`);
}

/** Reads a file for parseYamlWithSchema, turning "no such file" into a clear input error. */
export function readUserFile(path: string, options: { code: ErrorCode; what: string }): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new BatonError(options.code, `${options.what} ${path} ${reason}.`, { cause });
  }
}
