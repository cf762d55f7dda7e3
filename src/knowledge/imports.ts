import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** Where an import leads: a file of the project, a package (or Node built-in), or nowhere known. */
export type ImportTarget = { file: string } | { module: string } | undefined;

/** Resolves one import of one project file. */
export type ImportResolver = (importer: string, specifier: string) => ImportTarget;

/** `https://host/x.js`: an import of a URL (Deno, browsers), a module of its own rather than a package. */
export const isUrl = (specifier: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(specifier);

/**
 * The package a bare specifier names: `@scope/pkg/sub` → `@scope/pkg`, `node:fs` → `node:fs`; a URL
 * is its own module.
 */
export function packageName(specifier: string): string {
  if (isUrl(specifier)) return specifier;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const isRelative = (specifier: string): boolean =>
  specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..';

/** Resolutions that never read a package's `exports`: a project on them still gets them followed. */
const withoutExports = new Set([ts.ModuleResolutionKind.Classic, ts.ModuleResolutionKind.Node10]);

/**
 * The compiler options imports are resolved with: the repository's own tsconfig.json (its `paths`,
 * `baseUrl`, module resolution), else a bundler's resolution (extensionless and directory imports,
 * package `exports`). JavaScript files are always resolved, as the graph reads them too.
 */
const bundlerResolution: ts.CompilerOptions = {
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
};

function resolutionOptions(root: string): ts.CompilerOptions {
  const configPath = join(root, 'tsconfig.json');
  const read = ts.sys.fileExists(configPath)
    ? ts.readConfigFile(configPath, (path) => ts.sys.readFile(path))
    : undefined;
  // An unreadable tsconfig still leaves a graph worth having: it is built as for a project without one.
  const options =
    read && !read.error ? ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configPath).options : {};
  const resolution = options.moduleResolution;
  const followsExports = resolution !== undefined && !withoutExports.has(resolution);
  return { ...options, ...(followsExports ? {} : bundlerResolution), allowJs: true, noEmit: true };
}

/** The file `ts.resolveModuleName` finds for a specifier under these options, if any. */
function moduleResolver(
  root: string,
  options: ts.CompilerOptions,
): (containing: string, specifier: string) => string | undefined {
  const cache = ts.createModuleResolutionCache(root, (name) => name, options);
  return (containing, specifier) => {
    const mode = ts.getImpliedNodeFormatForFile(containing, cache.getPackageJsonInfoCache(), ts.sys, options);
    return ts.resolveModuleName(specifier, containing, options, ts.sys, cache, undefined, mode).resolvedModule
      ?.resolvedFileName;
  };
}

/** Whether a specifier is one tsconfig `paths` maps (`~/*`, `@core/*`, or a key without `*`). */
function pathAliases(paths: ts.MapLike<string[]> | undefined): (specifier: string) => boolean {
  const patterns = Object.keys(paths ?? {}).map((key) => key.split('*'));
  return (specifier) =>
    patterns.some(([prefix = '', suffix]) =>
      suffix === undefined
        ? specifier === prefix
        : specifier.length >= prefix.length + suffix.length &&
          specifier.startsWith(prefix) &&
          specifier.endsWith(suffix),
    );
}

/**
 * Resolves imports as TypeScript does (`ts.resolveModuleName`: relative specifiers with their `.js`
 * → `.ts` mapping, tsconfig `paths`, package `exports`, workspace packages linked into node_modules).
 * A specifier that leads to one of `files` (repo-relative ids) is that file; any other bare
 * specifier is its package, except a `paths` alias that leads nowhere; anything else (a relative
 * import of a missing file) is undefined.
 */
export function importResolver(rootDir: string, files: ReadonlySet<string>): ImportResolver {
  const root = resolve(rootDir);
  const options = resolutionOptions(root);
  const resolveStrictly = moduleResolver(root, options);
  // Node16/NodeNext find an alias only with its extension (`~/core/index.js`); `~/core/index` still
  // means that file, as a bundler's resolution with the same `paths` and `baseUrl` finds.
  const resolveLeniently =
    options.moduleResolution === bundlerResolution.moduleResolution
      ? undefined
      : moduleResolver(root, { ...options, ...bundlerResolution });
  const isAlias = pathAliases(options.paths);
  const fileId = (path: string): string | undefined => {
    const id = relative(root, path).split(sep).join('/');
    return files.has(id) ? id : undefined;
  };
  return (importer, specifier) => {
    const containing = join(root, importer);
    const local = isRelative(specifier) || isAbsolute(specifier);
    const resolved =
      resolveStrictly(containing, specifier) ?? (local ? undefined : resolveLeniently?.(containing, specifier));
    const file = resolved && fileId(resolved);
    if (file) return { file };
    if (local || (resolved === undefined && isAlias(specifier))) return undefined;
    return { module: packageName(specifier) };
  };
}
