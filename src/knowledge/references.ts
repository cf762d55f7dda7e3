import { isAbsolute, posix, relative, sep } from 'node:path';
import type { KnowledgeEntity, KnowledgeGraph } from './graph.js';
import { moduleId } from './repository.js';

/** `src/x.js` in an agent's words often means `src/x.ts` in a TypeScript project. */
const sourceVariants = (path: string): string[] => {
  const match = /\.(m|c)?jsx?$/.exec(path);
  if (!match) return [path];
  const stem = path.slice(0, match.index);
  const ts = match[1] ? `.${match[1]}ts` : match[0] === '.jsx' ? '.tsx' : '.ts';
  return [path, stem + ts, ...(ts === '.ts' ? [`${stem}.tsx`] : [])];
};

/** Strips what people put around a name: quotes, backticks, a leading `./`, a trailing period. */
export function cleanReference(text: string): string {
  return text
    .trim()
    .replace(/^[`'"“”‘’]+|[`'"“”‘’]+$/g, '')
    .replace(/[.,;:]+$/, '')
    .replace(/^\.\//, '')
    .trim();
}

/**
 * An absolute path inside the directory the graph was built from (what editors and the bridge send)
 * as the repo-relative id the graph knows it by; any other text as it is.
 */
export async function repoRelative(graph: KnowledgeGraph, text: string): Promise<string> {
  if (!isAbsolute(text)) return text;
  const root = await graph.buildRoot();
  const inside = root === undefined ? '' : relative(root, text);
  const outside = inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside);
  return outside ? text : inside.split(sep).join('/');
}

export const looksLikePath = (text: string): boolean => text.includes('/') || /\.[a-z]{1,4}$/i.test(text);

/**
 * The entities a name refers to: an exact id (a repo-relative path, `file#symbol`, `module:pkg`),
 * a path's tail (`core/errors.ts`, `errors.js`), or a symbol's or package's name. Several entities
 * when the name is ambiguous, none when nothing has it.
 */
export async function resolveReference(graph: KnowledgeGraph, reference: string): Promise<KnowledgeEntity[]> {
  const text = await repoRelative(graph, cleanReference(reference));
  if (!text) return [];
  const variants = sourceVariants(text);
  const exact = await graph.findEntities({ ids: [...variants, moduleId(text)] });
  if (exact.length > 0) {
    // The most literal reading wins: the text as given, then its .ts twin, then a package.
    const rank = (e: KnowledgeEntity): number => [...variants, moduleId(text)].indexOf(e.id);
    return [exact.sort((a, b) => rank(a) - rank(b))[0]!];
  }
  if (looksLikePath(text)) {
    const names = [...new Set(variants.map((v) => posix.basename(v)))];
    const files = await graph.findEntities({ names, kinds: ['file'] });
    const tails = variants.map((v) => `/${v}`);
    const matching = files.filter((f) => tails.some((t) => f.id.endsWith(t)));
    if (matching.length > 0) return matching;
  }
  return graph.findEntities({ names: [text], kinds: ['symbol', 'module'], limit: 20 });
}

/** Extensions that make a word a file name in an agent's prose ("e.g." and "v1.2" are not files). */
const fileExtensions = new Set([
  'ts',
  'tsx',
  'mts',
  'cts',
  'js',
  'jsx',
  'mjs',
  'cjs',
  'json',
  'md',
  'yaml',
  'yml',
  'toml',
  'sql',
  'sh',
  'py',
  'go',
  'rs',
  'java',
  'rb',
  'c',
  'h',
  'cpp',
  'css',
  'scss',
  'html',
]);

/**
 * Paths (`src/x.ts`, `docs/a.md`, `jobs/export.ts`) and `backticked` names in a text: what a
 * decision or finding is about, before they are looked up in the graph.
 */
export function mentions(text: string): string[] {
  const found = new Set<string>();
  for (const word of text.split(/[\s,;()[\]{}<>"'“”‘’`]+/)) {
    const candidate = cleanReference(word);
    const ext = posix.extname(candidate).slice(1).toLowerCase();
    if (fileExtensions.has(ext) && /[a-z_]/i.test(posix.basename(candidate, `.${ext}`))) found.add(candidate);
  }
  for (const m of text.matchAll(/`([^`\s]{2,200})`/g)) found.add(cleanReference(m[1]!));
  return [...found].filter(Boolean);
}

/** Looks up many mentions, once each: the entity each one names when it names exactly one. */
export class ReferenceCache {
  private readonly known = new Map<string, KnowledgeEntity | undefined>();

  constructor(private readonly graph: KnowledgeGraph) {}

  async unique(reference: string): Promise<KnowledgeEntity | undefined> {
    if (!this.known.has(reference)) {
      const found = await resolveReference(this.graph, reference);
      this.known.set(reference, found.length === 1 ? found[0] : undefined);
    }
    return this.known.get(reference);
  }

  /** Forget a reference, after an entity it could name was added. */
  forget(reference: string): void {
    this.known.delete(reference);
  }
}
