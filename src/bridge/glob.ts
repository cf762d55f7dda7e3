import picomatch from 'picomatch';

/**
 * A matcher for any of the path globs (picomatch syntax: `**` any number of segments, `*` anything but
 * `/`, `?` one character but `/`, braces and classes). A glob without `/` matches the last segment, so
 * `*.ts` matches `/home/me/src/a.ts`; dotfiles match like any other file.
 */
export function pathMatcher(globs: readonly string[]): (path: string) => boolean {
  // picomatch's `basename` option applies to every pattern it is given, so it is set per glob.
  const matchers = globs.map((glob) => picomatch(glob, { dot: true, basename: !glob.includes('/') }));
  return (path) => matchers.some((matches) => matches(path));
}
