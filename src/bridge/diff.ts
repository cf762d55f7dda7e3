/** Lines of context around the changed region, as `diff -u` shows. */
const CONTEXT = 3;

/**
 * A unified diff of two texts as one hunk: the region between their common first and last lines.
 * Not minimal for scattered edits (it spans them), but exact, cheap, and readable by people, agents
 * and `git apply`. Empty when the texts are equal.
 */
export function unifiedDiff(before: string, after: string, path: string): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < a.length - prefix &&
    suffix < b.length - prefix &&
    a[a.length - 1 - suffix] === b[b.length - 1 - suffix]
  )
    suffix++;

  const start = Math.max(0, prefix - CONTEXT);
  const aEnd = Math.min(a.length, a.length - suffix + CONTEXT);
  const bEnd = Math.min(b.length, b.length - suffix + CONTEXT);
  const lines = [
    ...a.slice(start, prefix).map((l) => ` ${l}`),
    ...a.slice(prefix, a.length - suffix).map((l) => `-${l}`),
    ...b.slice(prefix, b.length - suffix).map((l) => `+${l}`),
    ...a.slice(a.length - suffix, aEnd).map((l) => ` ${l}`),
  ];
  const range = (from: number, to: number) => `${to - from === 0 ? from : from + 1},${to - from}`;
  return (
    [`--- a/${path}`, `+++ b/${path}`, `@@ -${range(start, aEnd)} +${range(start, bEnd)} @@`, ...lines].join('\n') +
    '\n'
  );
}

/** Lines without their terminators; a final newline does not make an extra empty line. */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
