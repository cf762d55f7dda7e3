/**
 * Path globs for subscriptions: `**` any number of path segments, `*` anything but `/`, `?` one
 * character but `/`. A pattern without `/` matches the last segment (`*.ts` matches `src/a.ts`).
 */
export function globToRegExp(pattern: string): RegExp {
  const basenameOnly = !pattern.includes('/');
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` also matches no directory at all, so `src/**/a.ts` matches `src/a.ts`.
      const slash = pattern[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(basenameOnly ? `(?:^|/)${source}$` : `^${source}$`);
}

/** A matcher for any of the globs. */
export function pathMatcher(globs: readonly string[]): (path: string) => boolean {
  const patterns = globs.map(globToRegExp);
  return (path) => patterns.some((p) => p.test(path));
}
