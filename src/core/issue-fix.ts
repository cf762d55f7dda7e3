import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

/** A value as the user wrote it, kept short: a scalar itself, anything else by what it is. */
function shown(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return typeof value;
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

const whatIsExpected: Record<string, string> = {
  int: 'a whole number (e.g. 2)',
  number: 'a number',
  string: 'text (a string)',
};

/** zod's "expected int, received number", as what to write instead of what was written. */
function typeFix(issue: Issue & { code: 'invalid_type' }, value: unknown): string | undefined {
  const wanted = whatIsExpected[issue.expected];
  // Only zod's own wording: a schema's message, or a union's combined one, already says it its way.
  if (!wanted || !/^Invalid input: expected \w+, received \w+$/.test(issue.message)) return undefined;
  return `must be ${wanted}, not ${shown(value)}`;
}

/** A length's unit, in the plural unless there is one. */
const count = (n: number | bigint, unit: string): string => `${n} ${unit}${Number(n) === 1 ? '' : 's'}`;

/** zod's "Too small: expected number to be >=400" (and too big), as the bound to keep to. */
function boundFix(issue: Issue & { code: 'too_small' | 'too_big' }, value: unknown): string | undefined {
  if (!/^Too (small|big): /.test(issue.message)) return undefined;
  const small = issue.code === 'too_small';
  const bound = small ? issue.minimum : issue.maximum;
  const exact = 'exact' in issue && issue.exact === true;
  const atLeast = exact
    ? 'exactly'
    : issue.inclusive
      ? small
        ? 'at least'
        : 'at most'
      : small
        ? 'more than'
        : 'less than';
  switch (issue.origin) {
    case 'number':
    case 'int':
      return `must be ${atLeast} ${bound}, not ${shown(value)}`;
    case 'string':
      if (small && Number(bound) === 1 && issue.inclusive) return 'must not be empty';
      return `must be ${atLeast} ${count(bound, 'character')} long`;
    case 'array':
      if (small && Number(bound) === 1 && issue.inclusive) return 'must list at least one item';
      return `must list ${atLeast} ${count(bound, 'item')}`;
    default:
      return undefined;
  }
}

/**
 * zod's default message for a value of the wrong type or out of bounds, said as the fix ("must not be
 * empty", "must be at least 400, not 200"); undefined where zod's message stands (or a schema's own).
 */
export function issueFix(issue: Issue, value: unknown): string | undefined {
  if (issue.code === 'invalid_type') return typeFix(issue, value);
  if (issue.code === 'too_small' || issue.code === 'too_big') return boundFix(issue, value);
  return undefined;
}
