import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { extname, join, posix, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { BatonError, ErrorCodes, redactShapes } from '../core/index.js';
import type { KnowledgeEntity, KnowledgeGraph, KnowledgeRelation } from './graph.js';
import { importResolver, isUrl, type ImportResolver } from './imports.js';

/** Folders that hold dependencies or build output, not the project's own code. Hidden folders are skipped too. */
const skippedDirs = new Set(['node_modules', 'dist', 'build', 'out', 'coverage']);
const sourceExtensions = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];
/** Bigger files are bundles or generated code: their imports say nothing about the project. */
const maxFileBytes = 1_000_000;
interface Binding {
  /** The specifier it was imported from. */
  specifier: string;
  /** The exported name, or undefined for a namespace import (`* as ns`). */
  imported?: string;
}

interface ImportRecord {
  specifier: string;
  names: string[];
  typeOnly: boolean;
  dynamic: boolean;
}

interface Declaration {
  name: string;
  declaration: string;
  exported: boolean;
  line: number;
}

/** What one file says about itself, before specifiers are resolved against the other files. */
interface ParsedFile {
  id: string;
  language: 'typescript' | 'javascript';
  lines: number;
  imports: ImportRecord[];
  declarations: Map<string, Declaration>;
  bindings: Map<string, Binding>;
  /** Exported name → local name, for `export { a as b }` and `export default a`. */
  localExports: Map<string, string>;
  /** `export { a as b } from` (b → a) and `export * from` (names undefined). */
  reexports: Array<{ specifier: string; names?: Map<string, string> }>;
  /** Calls of a name or `namespace.member`; `caller` is the top-level declaration, or undefined at top level. */
  calls: Array<{ caller?: string; callee: string; member?: string }>;
}

/** Every source file under `rootDir`, repo-relative with `/` separators. */
function listSourceFiles(rootDir: string, signal?: AbortSignal): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    signal?.throwIfAborted();
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!skippedDirs.has(entry.name)) walk(path);
      } else if (
        entry.isFile() &&
        sourceExtensions.includes(extname(entry.name)) &&
        !/\.d\.[mc]?ts$/.test(entry.name)
      ) {
        files.push(relative(rootDir, path).split(sep).join('/'));
      }
    }
  };
  walk(rootDir);
  return files.sort();
}

const hasModifier = (node: ts.Node, kind: ts.SyntaxKind): boolean =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
const stringLiteral = (node: ts.Node | undefined): string | undefined =>
  node && ts.isStringLiteralLike(node) ? node.text : undefined;

function bindingNames(name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  return name.elements.flatMap((e) => (ts.isOmittedExpression(e) ? [] : bindingNames(e.name)));
}

const declarationKinds: Array<[(n: ts.Node) => boolean, string]> = [
  [ts.isFunctionDeclaration, 'function'],
  [ts.isClassDeclaration, 'class'],
  [ts.isInterfaceDeclaration, 'interface'],
  [ts.isTypeAliasDeclaration, 'type'],
  [ts.isEnumDeclaration, 'enum'],
  [ts.isModuleDeclaration, 'namespace'],
];

const scriptKinds: Partial<Record<string, ts.ScriptKind>> = {
  '.tsx': ts.ScriptKind.TSX,
  '.jsx': ts.ScriptKind.JSX,
  '.js': ts.ScriptKind.JS,
  '.mjs': ts.ScriptKind.JS,
  '.cjs': ts.ScriptKind.JS,
};

/** Records a top-level declaration; a second one of the same name (an overload, a merged namespace) only adds `exported`. */
type Declare = (name: string, declaration: string, node: ts.Node, exported: boolean) => void;

function declarer(parsed: ParsedFile, source: ts.SourceFile): Declare {
  const line = (node: ts.Node): number => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  return (name, declaration, node, exported) => {
    if (!parsed.declarations.has(name))
      parsed.declarations.set(name, { name, declaration, exported, line: line(node) });
    else if (exported) parsed.declarations.get(name)!.exported = true;
  };
}

/** Calls, `import()` and `require()` anywhere inside a top-level statement, attributed to it. */
function visitCalls(parsed: ParsedFile, node: ts.Node, caller: string | undefined): void {
  if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
    const callee = node.expression;
    const firstArg = node.arguments?.[0];
    if (
      ts.isCallExpression(node) &&
      (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) &&
      stringLiteral(firstArg)
    ) {
      parsed.imports.push({ specifier: stringLiteral(firstArg)!, names: [], typeOnly: false, dynamic: true });
    } else if (ts.isIdentifier(callee)) {
      parsed.calls.push({ caller, callee: callee.text });
    } else if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression)) {
      parsed.calls.push({ caller, callee: callee.expression.text, member: callee.name.text });
    }
  } else if (
    (ts.isJsxOpeningElement(node) || ts.isJsxSelfClosingElement(node)) &&
    ts.isIdentifier(node.tagName) &&
    /^[A-Z]/.test(node.tagName.text)
  ) {
    // <Dashboard /> calls the Dashboard component.
    parsed.calls.push({ caller, callee: node.tagName.text });
  }
  ts.forEachChild(node, (child) => visitCalls(parsed, child, caller));
}

/** `import a, { b as c } from`, `import * as ns from`: the import and the local names it binds. */
function readImport(parsed: ParsedFile, statement: ts.ImportDeclaration): void {
  const specifier = stringLiteral(statement.moduleSpecifier)!;
  const clause = statement.importClause;
  const names: string[] = [];
  if (clause?.name) {
    names.push('default');
    parsed.bindings.set(clause.name.text, { specifier, imported: 'default' });
  }
  const named = clause?.namedBindings;
  if (named && ts.isNamespaceImport(named)) {
    names.push('*');
    parsed.bindings.set(named.name.text, { specifier });
  } else if (named) {
    for (const element of named.elements) {
      const imported = (element.propertyName ?? element.name).text;
      names.push(imported);
      parsed.bindings.set(element.name.text, { specifier, imported });
    }
  }
  const typeOnly =
    Boolean(clause?.isTypeOnly) ||
    (named !== undefined &&
      ts.isNamedImports(named) &&
      named.elements.length > 0 &&
      !clause?.name &&
      named.elements.every((e) => e.isTypeOnly));
  parsed.imports.push({ specifier, names, typeOnly, dynamic: false });
}

/** `export … from` (a re-export and an import) or `export { a as b }` (a local export). */
function readExport(parsed: ParsedFile, statement: ts.ExportDeclaration): void {
  const specifier = stringLiteral(statement.moduleSpecifier);
  const clause = statement.exportClause;
  if (specifier !== undefined) {
    const names =
      clause && ts.isNamedExports(clause)
        ? new Map(clause.elements.map((e) => [e.name.text, (e.propertyName ?? e.name).text]))
        : undefined;
    // `export * as ns from` exports a namespace, not a symbol: it is an import with nothing to resolve.
    if (!clause || names) parsed.reexports.push({ specifier, ...(names ? { names } : {}) });
    parsed.imports.push({
      specifier,
      names: names ? [...names.values()] : ['*'],
      typeOnly: statement.isTypeOnly,
      dynamic: false,
    });
  } else if (clause && ts.isNamedExports(clause)) {
    for (const e of clause.elements) parsed.localExports.set(e.name.text, (e.propertyName ?? e.name).text);
  }
}

/** A function, class, interface, type, enum or namespace (named, or `export default`); any other statement only has calls. */
function readDeclaration(parsed: ParsedFile, statement: ts.Statement, declare: Declare): void {
  const kind = declarationKinds.find(([is]) => is(statement))?.[1];
  const named = statement as ts.Node & { name?: ts.Node };
  if (!kind) {
    visitCalls(parsed, statement, undefined);
    return;
  }
  const isDefault = hasModifier(statement, ts.SyntaxKind.DefaultKeyword);
  const name = named.name && ts.isIdentifier(named.name) ? named.name.text : isDefault ? 'default' : undefined;
  if (name) {
    declare(name, kind, statement, hasModifier(statement, ts.SyntaxKind.ExportKeyword));
    if (isDefault && name !== 'default') parsed.localExports.set('default', name);
  }
  visitCalls(parsed, statement, name);
}

function readStatement(parsed: ParsedFile, statement: ts.Statement, declare: Declare): void {
  if (ts.isImportDeclaration(statement)) {
    readImport(parsed, statement);
  } else if (ts.isExportDeclaration(statement)) {
    readExport(parsed, statement);
  } else if (ts.isExportAssignment(statement)) {
    if (ts.isIdentifier(statement.expression)) parsed.localExports.set('default', statement.expression.text);
    else declare('default', 'value', statement, true);
    visitCalls(parsed, statement.expression, 'default');
  } else if (ts.isImportEqualsDeclaration(statement) && ts.isExternalModuleReference(statement.moduleReference)) {
    const specifier = stringLiteral(statement.moduleReference.expression);
    if (specifier !== undefined) {
      parsed.imports.push({ specifier, names: ['*'], typeOnly: statement.isTypeOnly, dynamic: false });
      parsed.bindings.set(statement.name.text, { specifier });
    }
  } else if (ts.isVariableStatement(statement)) {
    const exported = hasModifier(statement, ts.SyntaxKind.ExportKeyword);
    for (const d of statement.declarationList.declarations) {
      const names = bindingNames(d.name);
      for (const name of names) declare(name, 'variable', d, exported);
      if (d.initializer) visitCalls(parsed, d.initializer, names.length === 1 ? names[0] : undefined);
    }
  } else {
    readDeclaration(parsed, statement, declare);
  }
}

/** Reads one file with the TypeScript parser (syntax only: no type checking, so broken files still parse). */
function parseFile(id: string, text: string): ParsedFile {
  const ext = extname(id);
  const source = ts.createSourceFile(id, text, ts.ScriptTarget.Latest, true, scriptKinds[ext] ?? ts.ScriptKind.TS);
  const parsed: ParsedFile = {
    id,
    language: ['.js', '.jsx', '.mjs', '.cjs'].includes(ext) ? 'javascript' : 'typescript',
    lines: source.getLineStarts().length,
    imports: [],
    declarations: new Map(),
    bindings: new Map(),
    localExports: new Map(),
    reexports: [],
    calls: [],
  };
  const declare = declarer(parsed, source);
  for (const statement of source.statements) readStatement(parsed, statement, declare);
  for (const local of parsed.localExports.values()) {
    const declaration = parsed.declarations.get(local);
    if (declaration) declaration.exported = true;
  }
  return parsed;
}

/** Entity ids: files are their repo-relative path, symbols `<file>#<name>`, packages `module:<name>`. */
export const symbolId = (file: string, name: string): string => `${file}#${name}`;
export const moduleId = (name: string): string => `module:${name}`;

/** Follows re-exports (`export … from`, `export *`) to the file that declares an exported name. */
class ExportResolver {
  private readonly memo = new Map<string, string | undefined>();

  constructor(
    private readonly files: ReadonlyMap<string, ParsedFile>,
    private readonly target: (importer: string, specifier: string) => string | undefined,
  ) {}

  /** The symbol id that `name`, exported by `fileId`, is declared as. */
  exported(fileId: string, name: string, seen = new Set<string>()): string | undefined {
    const key = `${fileId}\u0000${name}`;
    if (this.memo.has(key)) return this.memo.get(key);
    if (seen.has(key)) return undefined;
    seen.add(key);
    const found = this.lookup(fileId, name, seen);
    this.memo.set(key, found);
    return found;
  }

  /** The symbol id a name used inside `fileId` refers to: declared there, or imported. */
  local(fileId: string, name: string, member?: string, seen = new Set<string>()): string | undefined {
    const file = this.files.get(fileId);
    if (!file) return undefined;
    if (member === undefined && file.declarations.has(name)) return symbolId(fileId, name);
    const binding = file.bindings.get(name);
    const from = binding && this.target(fileId, binding.specifier);
    if (!binding || !from) return undefined;
    if (binding.imported === undefined) return member === undefined ? undefined : this.exported(from, member, seen);
    return member === undefined ? this.exported(from, binding.imported, seen) : undefined;
  }

  private lookup(fileId: string, name: string, seen: Set<string>): string | undefined {
    const file = this.files.get(fileId);
    if (!file) return undefined;
    const local = file.localExports.get(name);
    if (local !== undefined) return this.local(fileId, local, undefined, seen);
    const declared = file.declarations.get(name);
    if (declared?.exported) return symbolId(fileId, name);
    for (const reexport of file.reexports) {
      const from = this.target(fileId, reexport.specifier);
      if (!from) continue;
      if (reexport.names) {
        const original = reexport.names.get(name);
        if (original !== undefined) return this.exported(from, original, seen);
      } else if (name !== 'default') {
        const found = this.exported(from, name, seen);
        if (found) return found;
      }
    }
    return undefined;
  }
}

export interface RepositoryGraph {
  entities: KnowledgeEntity[];
  relations: KnowledgeRelation[];
  files: number;
  symbols: number;
}

function assertDirectory(root: string): void {
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir)
    throw new BatonError(
      ErrorCodes.knowledgeInvalid,
      `dir: ${root} is not a directory; give the root of the repository to build the knowledge graph from.`,
    );
}

/** Every source file under `root` that is small enough to be the project's own code, parsed. */
function parseSourceFiles(root: string, signal?: AbortSignal): Map<string, ParsedFile> {
  const parsed = new Map<string, ParsedFile>();
  for (const id of listSourceFiles(root, signal)) {
    signal?.throwIfAborted();
    const path = join(root, id);
    if (statSync(path).size > maxFileBytes) continue;
    parsed.set(id, parseFile(id, readFileSync(path, 'utf8')));
  }
  return parsed;
}

type ImportProperties = { names: string[]; typeOnly: boolean; dynamic: boolean };

/** Relations keyed by from, kind and to: the first of a key is kept, except that imports merge. */
function addRelation(relations: Map<string, KnowledgeRelation>, relation: KnowledgeRelation): void {
  const key = `${relation.from}\u0000${relation.kind}\u0000${relation.to}`;
  const existing = relations.get(key);
  if (!existing || relation.kind !== 'imports') {
    if (!existing) relations.set(key, relation);
    return;
  }
  // Two imports of one file (a value import and a type import): one relation, all the names.
  const a = existing.properties as ImportProperties;
  const b = relation.properties as ImportProperties;
  existing.properties = {
    ...a,
    names: [...new Set([...a.names, ...b.names])],
    typeOnly: a.typeOnly && b.typeOnly,
    dynamic: a.dynamic && b.dynamic,
  };
}

/** The file and each of its top-level symbols. */
function fileEntities(file: ParsedFile): KnowledgeEntity[] {
  return [
    {
      id: file.id,
      kind: 'file',
      name: posix.basename(file.id),
      properties: { source: 'repository', language: file.language, lines: file.lines },
    },
    ...[...file.declarations.values()].map((d): KnowledgeEntity => ({
      id: symbolId(file.id, d.name),
      kind: 'symbol',
      name: d.name,
      properties: {
        source: 'repository',
        file: file.id,
        declaration: d.declaration,
        exported: d.exported,
        line: d.line,
      },
    })),
  ];
}

/** How a repository's files are related: imports resolved, exports followed, and secrets taken out of what is stored. */
interface Relating {
  resolveImport: ImportResolver;
  exports: ExportResolver;
  redact: (text: string) => string;
}

/** What the file defines, imports (noting the packages in `modules`) and calls, in that order. */
function relateFile(
  file: ParsedFile,
  { resolveImport, exports, redact }: Relating,
  relations: Map<string, KnowledgeRelation>,
  modules: Set<string>,
): void {
  for (const d of file.declarations.values())
    addRelation(relations, { from: file.id, to: symbolId(file.id, d.name), kind: 'defines' });
  for (const i of file.imports) {
    const found = resolveImport(file.id, i.specifier);
    // A specifier can carry a credential (`https://user:password@host/x.js`): the graph keeps none.
    const module = found && 'module' in found ? redact(found.module) : undefined;
    if (module !== undefined) modules.add(module);
    const to = found && 'file' in found ? found.file : module !== undefined ? moduleId(module) : undefined;
    if (to)
      addRelation(relations, {
        from: file.id,
        to,
        kind: 'imports',
        properties: { specifier: redact(i.specifier), names: i.names, typeOnly: i.typeOnly, dynamic: i.dynamic },
      });
  }
  for (const call of file.calls) {
    const callee = exports.local(file.id, call.callee, call.member);
    const caller =
      call.caller !== undefined && file.declarations.has(call.caller) ? symbolId(file.id, call.caller) : file.id;
    if (callee && callee !== caller) addRelation(relations, { from: caller, to: callee, kind: 'calls' });
  }
}

export interface RepositoryOptions {
  signal?: AbortSignal;
  /** Takes secrets out of import specifiers before they are stored; by default, secret-shaped text. */
  redact?: (text: string) => string;
}

/** Reads a project's source files into entities and relations (nothing is written anywhere). */
export function readRepository(rootDir: string, options: RepositoryOptions = {}): RepositoryGraph {
  const root = resolve(rootDir);
  assertDirectory(root);
  const parsed = parseSourceFiles(root, options.signal);
  const resolveImport = importResolver(root, new Set(parsed.keys()));
  const target = (importer: string, specifier: string): string | undefined => {
    const found = resolveImport(importer, specifier);
    return found && 'file' in found ? found.file : undefined;
  };
  const exports = new ExportResolver(parsed, target);

  const entities: KnowledgeEntity[] = [];
  const relations = new Map<string, KnowledgeRelation>();
  const modules = new Set<string>();
  let symbols = 0;
  for (const file of parsed.values()) {
    for (const entity of fileEntities(file)) entities.push(entity);
    symbols += file.declarations.size;
    relateFile(file, { resolveImport, exports, redact: options.redact ?? redactShapes }, relations, modules);
  }
  for (const name of [...modules].sort())
    entities.push({
      id: moduleId(name),
      kind: 'module',
      name,
      properties: { source: 'repository', builtin: isBuiltin(name), ...(isUrl(name) ? { url: true } : {}) },
    });
  return { entities, relations: [...relations.values()], files: parsed.size, symbols };
}

/**
 * Builds (or rebuilds) the code part of the graph from a repository: files, their top-level
 * symbols, the packages they use, and imports, defines and calls between them. Entities an earlier
 * build made that are gone now are removed; what agents said (decisions, findings) is kept.
 */
export async function buildFromRepository(
  graph: KnowledgeGraph,
  rootDir: string,
  options: RepositoryOptions = {},
): Promise<{ files: number; symbols: number; relations: number }> {
  const built = readRepository(rootDir, options);
  await graph.setBuildRoot(resolve(rootDir));
  const ids = new Set(built.entities.map((e) => e.id));
  const previous = await graph.findEntities({ kinds: ['file', 'symbol', 'module'] });
  await graph.removeEntities(
    previous.filter((e) => e.properties.source === 'repository' && !ids.has(e.id)).map((e) => e.id),
  );
  await graph.removeRelations({
    from: built.entities.filter((e) => e.kind !== 'module').map((e) => e.id),
    kinds: ['imports', 'defines', 'calls'],
  });
  await graph.upsertEntities(built.entities);
  const relations = await graph.upsertRelations(built.relations);
  return { files: built.files, symbols: built.symbols, relations };
}
