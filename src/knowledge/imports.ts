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
function resolutionOptions(root: string): ts.CompilerOptions {
  const fallback: ts.CompilerOptions = {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  };
  const configPath = join(root, 'tsconfig.json');
  const read = ts.sys.fileExists(configPath)
    ? ts.readConfigFile(configPath, (path) => ts.sys.readFile(path))
    : undefined;
  // An unreadable tsconfig still leaves a graph worth having: it is built as for a project without one.
  const options =
    read && !read.error ? ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configPath).options : {};
  const resolution = options.moduleResolution;
  const followsExports = resolution !== undefined && !withoutExports.has(resolution);
  return { ...options, ...(followsExports ? {} : fallback), allowJs: true, noEmit: true };
}

/**
 * Resolves imports as TypeScript does (`ts.resolveModuleName`: relative specifiers with their `.js`
 * → `.ts` mapping, tsconfig `paths`, package `exports`, workspace packages linked into node_modules).
 * A specifier that leads to one of `files` (repo-relative ids) is that file; any other bare
 * specifier is its package; anything else (a relative import of a missing file) is undefined.
 */
export function importResolver(rootDir: string, files: ReadonlySet<string>): ImportResolver {
  const root = resolve(rootDir);
  const options = resolutionOptions(root);
  const cache = ts.createModuleResolutionCache(root, (name) => name, options);
  const fileId = (path: string): string | undefined => {
    const id = relative(root, path).split(sep).join('/');
    return files.has(id) ? id : undefined;
  };
  return (importer, specifier) => {
    const containing = join(root, importer);
    const mode = ts.getImpliedNodeFormatForFile(containing, cache.getPackageJsonInfoCache(), ts.sys, options);
    const { resolvedModule } = ts.resolveModuleName(specifier, containing, options, ts.sys, cache, undefined, mode);
    const file = resolvedModule && fileId(resolvedModule.resolvedFileName);
    if (file) return { file };
    if (isRelative(specifier) || isAbsolute(specifier)) return undefined;
    return { module: packageName(specifier) };
  };
}
