import type { CatalogServer, McpCatalog } from './catalog.js';

/** What Baton knows about a common MCP server: how to recognise it and which tasks need it. */
interface ServerKind {
  kind: string;
  /** Matched against a catalog entry's command, args and url. */
  packages: RegExp;
  /** Phrases in a task that call for this kind; weight 2 means one match is enough to pick it. */
  keywords: Array<[phrase: string, weight: 1 | 2]>;
}

const knownKinds: ServerKind[] = [
  {
    kind: 'memory',
    packages: /server-memory|mcp-memory/,
    keywords: [
      ['remember', 2],
      ['memory', 2],
      ['recall', 2],
      ['knowledge graph', 2],
      ['what we learned', 2],
      ['observations', 1],
      ['entities', 1],
      ['notes', 1],
    ],
  },
  {
    kind: 'filesystem',
    packages: /server-filesystem/,
    keywords: [
      ['filesystem', 2],
      ['file system', 2],
      ['directory', 2],
      ['directories', 2],
      ['folder', 2],
      ['list files', 2],
      ['move the file', 2],
      ['copy the file', 2],
      ['files', 1],
      ['file', 1],
    ],
  },
  {
    kind: 'git',
    packages: /mcp-server-git\b|server-git\b/,
    keywords: [
      ['git', 2],
      ['commit', 2],
      ['commits', 2],
      ['branch', 2],
      ['diff', 2],
      ['git log', 2],
      ['blame', 2],
      ['rebase', 2],
      ['merge', 1],
      ['history', 1],
      ['checkout', 1],
      ['stash', 2],
    ],
  },
  {
    kind: 'github',
    packages: /server-github|github-mcp-server/,
    keywords: [
      ['github', 2],
      ['pull request', 2],
      ['pull requests', 2],
      ['pr', 2],
      ['issue', 2],
      ['issues', 2],
      ['gist', 2],
      ['release notes', 1],
      ['repository', 1],
      ['repo', 1],
      ['review comments', 2],
    ],
  },
  {
    kind: 'fetch',
    packages: /mcp-server-fetch|server-fetch/,
    keywords: [
      ['http://', 2],
      ['https://', 2],
      ['url', 2],
      ['fetch', 2],
      ['download', 2],
      ['web page', 2],
      ['webpage', 2],
      ['website', 2],
      ['online documentation', 2],
      ['api endpoint', 1],
    ],
  },
  {
    kind: 'postgres',
    packages: /server-postgres|postgres-mcp/,
    keywords: [
      ['postgres', 2],
      ['postgresql', 2],
      ['psql', 2],
      ['database', 2],
      ['sql', 2],
      ['table', 1],
      ['tables', 1],
      ['rows', 1],
      ['schema migration', 1],
    ],
  },
  {
    kind: 'sqlite',
    packages: /mcp-server-sqlite|server-sqlite/,
    keywords: [
      ['sqlite', 2],
      ['.db file', 2],
      ['database', 2],
      ['sql', 2],
      ['table', 1],
      ['tables', 1],
      ['rows', 1],
    ],
  },
  {
    kind: 'browser',
    packages: /server-puppeteer|@playwright\/mcp|playwright-mcp|puppeteer/,
    keywords: [
      ['browser', 2],
      ['screenshot', 2],
      ['click', 2],
      ['navigate to', 2],
      ['puppeteer', 2],
      ['playwright', 2],
      ['headless', 2],
      ['end-to-end test', 2],
      ['e2e', 2],
      ['web page', 1],
      ['ui', 1],
    ],
  },
  {
    kind: 'everything',
    packages: /server-everything/,
    keywords: [
      ['everything server', 2],
      ['echo', 2],
      ['sample tools', 2],
      ['mcp test', 2],
      ['test the mcp', 2],
    ],
  },
];

/** Why a server was chosen: one line per piece of evidence. */
export interface ServerRequirement {
  name: string;
  kind?: string;
  score: number;
  reasons: string[];
}

export interface RequirementAnalysis {
  /** Catalog servers the task needs, best first. */
  servers: ServerRequirement[];
  /** Known kinds of server the task calls for that the catalog does not have. */
  suggestions: Array<{ kind: string; reasons: string[] }>;
  /**
   * Servers of a project's `.mcp.json` the task matched: never chosen by the analysis, since a cloned
   * repository's file would run its commands on a word of the task; a workflow runs one by naming it.
   */
  projectOnly: ServerRequirement[];
}

/** Where a server is declared by the user (or is Baton's own), not by a project's `.mcp.json`. */
const chosenByAnalysis = new Set(['built-in', 'config', 'workflow']);

/** Word-boundary match, case-insensitive; phrases with punctuation match as written. */
function mentions(text: string, phrase: string): boolean {
  const escaped = phrase.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const start = /^\w/.test(phrase) ? '\\b' : '';
  const end = /\w$/.test(phrase) ? '\\b' : '';
  return new RegExp(`${start}${escaped}${end}`).test(text);
}

/** The known kind of a catalog server: by its package/command/url, else by its name. */
export function kindOf(server: CatalogServer): string | undefined {
  const { entry } = server;
  const launch = 'command' in entry ? [entry.command, ...(entry.args ?? [])].join(' ') : entry.url;
  const byPackage = knownKinds.find((k) => k.packages.test(launch));
  if (byPackage) return byPackage.kind;
  const name = server.name.toLowerCase();
  return knownKinds.find((k) => name === k.kind || name.split(/[-_.]/).includes(k.kind))?.kind;
}

function keywordReasons(text: string, kind: ServerKind): { score: number; reasons: string[] } {
  let score = 0;
  const reasons: string[] = [];
  for (const [phrase, weight] of kind.keywords) {
    if (!mentions(text, phrase)) continue;
    score += weight;
    reasons.push(`task mentions "${phrase}" (${kind.kind} ${weight === 2 ? 'keyword' : 'hint'})`);
  }
  return { score, reasons };
}

/** Enough evidence to give an agent a server: one keyword, or two weaker hints. */
const THRESHOLD = 2;

/**
 * Decides which MCP servers a task needs, from its text, each catalog entry's declared capabilities
 * and keywords, and Baton's knowledge of common servers. Deterministic and explained: the same task
 * and catalog always give the same servers, each with the reasons.
 */
export function analyzeRequirements(task: string, catalog: McpCatalog): RequirementAnalysis {
  const text = task.toLowerCase();
  const servers: ServerRequirement[] = [];
  const projectOnly: ServerRequirement[] = [];
  const coveredKinds = new Set<string>();

  for (const server of catalog.values()) {
    const kind = kindOf(server);
    if (kind) coveredKinds.add(kind);
    let score = 0;
    const reasons: string[] = [];
    if (mentions(text, server.name)) {
      score += 3;
      reasons.push(`task names the server "${server.name}"`);
    }
    for (const phrase of [...(server.entry.capabilities ?? []), ...(server.entry.keywords ?? [])]) {
      if (!mentions(text, phrase)) continue;
      score += 2;
      reasons.push(`task mentions "${phrase}" (declared by ${server.name})`);
    }
    const known = knownKinds.find((k) => k.kind === kind);
    if (known) {
      const found = keywordReasons(text, known);
      score += found.score;
      reasons.push(...found.reasons);
    }
    if (score < THRESHOLD) continue;
    (chosenByAnalysis.has(server.source) ? servers : projectOnly).push({
      name: server.name,
      ...(kind ? { kind } : {}),
      score,
      reasons,
    });
  }

  const suggestions = knownKinds
    .filter((k) => !coveredKinds.has(k.kind))
    .map((k) => ({ kind: k.kind, ...keywordReasons(text, k) }))
    .filter((s) => s.score >= THRESHOLD)
    .map(({ kind, reasons }) => ({ kind, reasons }));

  const best = (a: ServerRequirement, b: ServerRequirement): number =>
    b.score - a.score || a.name.localeCompare(b.name);
  return { servers: servers.sort(best), suggestions, projectOnly: projectOnly.sort(best) };
}
