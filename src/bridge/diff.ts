import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';

/** Lines of context around each change, as `diff -u` shows. */
const CONTEXT = 3;

/**
 * A minimal unified diff of two texts (jsdiff's Myers line diff), one hunk per group of nearby
 * changes, readable by people, agents and `git apply`. Empty when the texts are equal.
 */
export function unifiedDiff(before: string, after: string, path: string): string {
  if (before === after) return '';
  return createTwoFilesPatch(`a/${path}`, `b/${path}`, before, after, undefined, undefined, {
    context: CONTEXT,
    headerOptions: FILE_HEADERS_ONLY,
  });
}
