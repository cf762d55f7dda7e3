// The user-facing docs, checked against the code they describe: a doc that promises what the code does
// not do is a bug. Each test covers one class of claims that can be checked mechanically; the error
// catalogue's rows are checked in troubleshooting.test.ts, the quick start's commands in
// quick-start.e2e.test.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lexer, type Token, type Tokens } from 'marked';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, defaultConfig, envName } from '../src/config/index.js';
import { ErrorCodes } from '../src/core/index.js';
import { BatonMetrics, StoreMetrics } from '../src/observability/index.js';
import { promClient } from '../src/observability/prom.js';
import { replySchema } from '../src/model-server/script.js';
import { currentRunStatus } from '../src/orchestrator/index.js';
import { agentEntrySchema, makeWorkflowSchema, phaseSchema } from '../src/workflow/schema.js';
import { runCli } from './support/cli.js';
import { committedCopy } from './support/git-repo.js';
import { requireProgram } from './support/programs.js';
import { useTempStore } from './support/temp-store.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const docFiles = [
  join(root, 'README.md'),
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(root, 'docs', name)),
];

const lex = (file: string): Token[] => new Lexer().lex(readFileSync(file, 'utf8'));

/** Every token of a document, nested ones (list items, table cells, inline spans) included. */
function allTokens(tokens: Token[]): Token[] {
  return tokens.flatMap((token) => {
    const children: Token[] = [];
    if ('tokens' in token && Array.isArray(token.tokens)) children.push(...token.tokens);
    if (token.type === 'list') children.push(...(token as Tokens.List).items);
    if (token.type === 'table') {
      const table = token as Tokens.Table;
      for (const cell of [...table.header, ...table.rows.flat()]) children.push(...cell.tokens);
    }
    return [token, ...allTokens(children)];
  });
}

/** The rows of the first table after the heading `heading` whose first column is `column`, keyed by that column's text. */
function tableAfter(file: string, heading: string, column: string): Map<string, Tokens.TableCell[]> {
  const tokens = lex(join(root, file));
  const at = tokens.findIndex((t) => t.type === 'heading' && (t as Tokens.Heading).text === heading);
  const table = tokens
    .slice(at + 1)
    .find((t): t is Tokens.Table => t.type === 'table' && (t as Tokens.Table).header[0]?.text === column);
  if (at < 0 || !table) throw new Error(`${file}: no table under "${heading}"`);
  return new Map(table.rows.map((row) => [row[0]!.text.replace(/`/g, ''), row]));
}

/** The code spans of a table cell, in order. */
const codeSpans = (cell: Tokens.TableCell): string[] =>
  allTokens(cell.tokens)
    .filter((t): t is Tokens.Codespan => t.type === 'codespan')
    .map((t) => t.text);

describe('docs/configuration.md', () => {
  const rows = tableAfter('docs/configuration.md', 'Keys', 'Key');
  const defaults = defaultConfig() as Record<string, unknown>;

  it('has one row per config key, and none for a key that does not exist', () => {
    expect([...rows.keys()].sort()).toEqual(Object.keys(configSchema.shape).sort());
  });

  it("names each key's real environment variable and default", () => {
    for (const [key, row] of rows) {
      expect(codeSpans(row[3]!)[0], key).toBe(envName(key as keyof typeof configSchema.shape));
      const value = defaults[key];
      const shown = codeSpans(row[2]!)[0];
      if (value === undefined) expect(shown, `${key} has no default`).toBeUndefined();
      else expect(shown, key).toBe(typeof value === 'string' ? value : JSON.stringify(value));
    }
  });
});

describe('docs/workflow-format.md', () => {
  const fieldsOf = (heading: string): string[] =>
    [...tableAfter('docs/workflow-format.md', heading, 'Field').keys()].sort();

  it('lists exactly the fields the workflow schema accepts, at each level', () => {
    expect(fieldsOf('Top level')).toEqual(Object.keys(makeWorkflowSchema().shape).sort());
    expect(fieldsOf('Phase')).toEqual(Object.keys(phaseSchema.shape).sort());
    expect(fieldsOf('Agent')).toEqual(Object.keys(agentEntrySchema.shape).sort());
  });
});

describe('docs/model-server.md', () => {
  it('lists exactly the reply fields a script accepts', () => {
    const rows = tableAfter('docs/model-server.md', 'Script format', 'Field');
    // A row names its field first: `toolUse: { name, input, id? }`, `drop: before-response | mid-stream`.
    const fields = [...rows.keys()].map((text) => text.split(/[:\s]/)[0]!);
    expect(fields.sort()).toEqual(Object.keys(replySchema.shape).sort());
  });
});

describe('docs/observability.md', () => {
  const temp = useTempStore('baton-docs-metrics-');

  it('has a row for every metric Baton registers, with its type and every label it carries', () => {
    const rows = tableAfter('docs/observability.md', 'Where metrics live', 'Metric');
    const prom = promClient();
    const processMetrics = new prom.Registry();
    prom.collectDefaultMetrics({ register: processMetrics, prefix: 'baton_' });
    const processNames = new Set(processMetrics.getMetricsAsArray().map((metric) => metric.name));
    // prom-client's process metrics share one row, which names a few of them.
    const [processRow] = [...rows.values()].filter((row) => row[1]!.text.includes('prom-client'));
    expect(codeSpans(processRow![0]!).filter((name) => !processNames.has(name))).toEqual([]);

    const registries = [new BatonMetrics().registry, new StoreMetrics(temp.store, currentRunStatus).registry];
    const own = registries
      .flatMap((registry) => registry.getMetricsAsArray())
      .filter((metric) => !processNames.has(metric.name));
    for (const metric of own) {
      const row = rows.get(metric.name);
      expect(row, `a row for ${metric.name}`).toBeDefined();
      expect(row![1]!.text, metric.name).toBe(String(metric.type));
      const documented = new Set(codeSpans(row![2]!));
      const labels = (metric as unknown as { labelNames: string[] }).labelNames;
      expect(
        labels.filter((label) => !documented.has(label)),
        `labels of ${metric.name}`,
      ).toEqual([]);
    }
    const registered = new Set(own.map((metric) => metric.name));
    expect([...rows.keys()].filter((name) => /^baton_\w+$/.test(name) && !registered.has(name))).toEqual([]);
  });
});

/** TypeScript files under `dir`; tests left out unless `withTests`. */
function sourceFiles(dir: string, withTests = false): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path, withTests);
    const isTest = /\.test\.ts$|\.contract\.ts$/.test(entry.name);
    return entry.name.endsWith('.ts') && (withTests || !isTest) ? [path] : [];
  });
}

/** The audit actions src/ records: literals given to `….record(…)` or as an `action:`, by the TypeScript parser. */
function recordedAuditActions(): Set<string> {
  const actions = new Set<string>();
  const literalsIn = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) && /^[a-z]+\.[a-z_]+$/.test(node.text)) actions.add(node.text);
    ts.forEachChild(node, literalsIn);
  };
  for (const file of sourceFiles(join(root, 'src'))) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      const isRecord =
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        node.expression.name.text === 'record';
      if (isRecord && node.arguments[0]) literalsIn(node.arguments[0]);
      if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && node.name.text === 'action')
        literalsIn(node.initializer);
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return actions;
}

describe('docs/observability.md, audit trail', () => {
  it('lists every action Baton records, and no other', () => {
    const rows = tableAfter('docs/observability.md', 'Audit trail', 'Action');
    const documented = [...rows.values()].flatMap((row) => codeSpans(row[0]!));
    const recorded = recordedAuditActions();
    expect(recorded.size).toBeGreaterThan(10);
    expect(documented.sort()).toEqual([...recorded].sort());
  });
});

/** The keys of the interface `name` in `file` (an event map), by the TypeScript parser. */
function interfaceKeys(file: string, name: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const map = source.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name,
  );
  if (!map) throw new Error(`${file}: no interface ${name}`);
  return map.members.flatMap((m) => (m.name && ts.isStringLiteral(m.name) ? [m.name.text] : []));
}

describe('docs/architecture.md, events', () => {
  it('names every event a run and the MCP manager publish, and no other', () => {
    const tokens = lex(join(root, 'docs/architecture.md'));
    const at = tokens.findIndex((t) => t.type === 'heading' && (t as Tokens.Heading).text === 'Events');
    const end = tokens.findIndex((t, i) => i > at && t.type === 'heading');
    const named = new Set(
      allTokens(tokens.slice(at + 1, end))
        .filter((t): t is Tokens.Codespan => t.type === 'codespan' && /^[a-z]+(\.[a-z_]+)+$/.test(t.text))
        .map((t) => t.text),
    );
    const published = [
      ...interfaceKeys('src/orchestrator/events.ts', 'RunEventMap'),
      ...interfaceKeys('src/mcp/manager.ts', 'McpEventMap'),
    ];
    expect(published.length).toBeGreaterThan(20);
    expect([...named].sort()).toEqual(published.sort());
  });
});

describe('BATON_* names in README.md and docs/', () => {
  it('are error codes of the catalogue, config variables, or variables the code reads or sets', () => {
    const known = new Set<string>([
      ...Object.values(ErrorCodes),
      ...Object.keys(configSchema.shape).map((key) => envName(key as keyof typeof configSchema.shape)),
    ]);
    const code = [...sourceFiles(join(root, 'src'), true), ...sourceFiles(join(root, 'test'), true)]
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const named = new Set(docFiles.flatMap((file) => readFileSync(file, 'utf8').match(/\bBATON_[A-Z0-9_]+\b/g) ?? []));
    expect(named.size).toBeGreaterThan(50);
    expect(
      [...named].filter((name) => !known.has(name) && !new RegExp(`(env\\.|['"\`])${name}\\b`).test(code)),
    ).toEqual([]);
  });
});

describe('links and scripts in README.md and docs/', () => {
  it('every relative link names a file that exists, and a heading in it when it has an anchor', () => {
    const slug = (text: string): string =>
      text
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/ /g, '-');
    const broken: string[] = [];
    for (const file of docFiles) {
      for (const link of allTokens(lex(file)).filter((t): t is Tokens.Link => t.type === 'link')) {
        if (/^[a-z]+:/.test(link.href)) continue;
        const [path, anchor] = link.href.split('#');
        const target = path ? resolve(dirname(file), path) : file;
        if (!existsSync(target)) broken.push(`${file}: ${link.href}`);
        else if (anchor && !target.endsWith('/')) {
          const headings = lex(target).filter((t): t is Tokens.Heading => t.type === 'heading');
          if (!headings.some((h) => slug(h.text.replace(/`/g, '')) === anchor)) broken.push(`${file}: ${link.href}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('every `npm run <script>` names a script of package.json', () => {
    const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: object }).scripts;
    const named = docFiles.flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/npm run ([a-z][\w:-]*)/g)].map((m) => m[1]!),
    );
    expect(named.length).toBeGreaterThan(3);
    expect(named.filter((name) => !(name in scripts))).toEqual([]);
  });
});

/**
 * The words of a shell command line from `start` up to its end or the first unquoted `|`, `&`, `;`,
 * `)`, backquote or comment: just enough shell to read the `baton …` commands the docs show.
 */
function commandWords(line: string, start: number): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const char of line.slice(start)) {
    if (quote) {
      if (char === quote) quote = undefined;
      else word += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      word ??= '';
    } else if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if ('|&;)`'.includes(char) || (char === '#' && word === undefined)) break;
    else word = (word ?? '') + char;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** `baton …` commands in the docs' shell and plain code blocks and in inline code that starts with `baton `/`npx baton `. */
function documentedCommands(): Array<{ where: string; words: string[] }> {
  const found: Array<{ where: string; words: string[] }> = [];
  for (const file of docFiles) {
    for (const token of allTokens(lex(file))) {
      const lines =
        token.type === 'code' && ['sh', 'bash', 'shell', 'console', ''].includes((token as Tokens.Code).lang ?? '')
          ? (token as Tokens.Code).text.split('\n')
          : token.type === 'codespan' && /^(npx )?baton [a-z]/.test((token as Tokens.Codespan).text)
            ? [(token as Tokens.Codespan).text]
            : [];
      for (const line of lines) {
        for (const match of line.matchAll(/(?:^|[\s(])baton (?=[a-z-])/g)) {
          found.push({
            where: `${file.slice(root.length)}: ${line.trim()}`,
            words: commandWords(line, match.index + match[0].length),
          });
        }
      }
    }
  }
  return found;
}

describe('`baton …` commands in README.md and docs/', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-docs-cli-'));
  const script = join(dir, 'baton.bash');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    // The completion script is generated from the commander program itself: bash, running it, says
    // which subcommands and options exist after any command path.
    const generated = await runCli(['completion', 'bash'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    expect(generated.code, generated.stderr).toBe(0);
    writeFileSync(script, generated.stdout);
  }, 60_000);

  // commander's `isDefault` subcommands, which completion does not tell: `baton bridge --port 0` is `bridge serve`.
  const defaultSubcommands: Record<string, string> = { bridge: 'serve' };
  const offered = new Map<string, Set<string>>();
  function offeredAfter(path: string[]): Set<string> {
    const key = path.join(' ');
    if (!offered.has(key)) {
      const words = ['baton', ...path, ''].map((w) => `'${w}'`).join(' ');
      const program = `source '${script}'; COMP_WORDS=(${words}); COMP_CWORD=${path.length + 1}; _baton_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
      offered.set(
        key,
        new Set(execFileSync('bash', ['-c', program], { encoding: 'utf8' }).split('\n').filter(Boolean)),
      );
    }
    return offered.get(key)!;
  }

  it('name real commands, and only options those commands have', () => {
    const commands = documentedCommands();
    expect(commands.length).toBeGreaterThan(50);
    const wrong: string[] = [];
    for (const { where, words } of commands) {
      const path: string[] = [];
      // `[--since 7d]`, `[--by model|workflow]`: the optional parts a synopsis shows are checked too.
      for (const word of words.map((w) => w.replace(/^[[(]+|[\])]+$/g, ''))) {
        const here = offeredAfter(path);
        if (word.startsWith('--')) {
          const flag = word.split('=')[0]!;
          const viaDefault = defaultSubcommands[path.join(' ')];
          if (!here.has(flag) && !(viaDefault && offeredAfter([...path, viaDefault]).has(flag)))
            wrong.push(`${where}: no option ${word}`);
        } else if (path.length === 0 && !word.startsWith('-')) {
          if (!here.has(word)) wrong.push(`${where}: no command ${word}`);
          path.push(word);
        } else if (here.has(word) && !word.startsWith('-')) path.push(word);
      }
    }
    expect(wrong).toEqual([]);
  });
});

/** Every workflow file under examples/: a YAML file with `phases`, by the YAML parser. */
function exampleWorkflows(dir = join(root, 'examples')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return exampleWorkflows(path);
    if (!entry.name.endsWith('.yaml')) return [];
    const data: unknown = parseYaml(readFileSync(path, 'utf8'));
    return typeof data === 'object' && data !== null && 'phases' in data ? [path] : [];
  });
}

/** Examples with a worktree phase: `baton plan` reads their repository with git, as `baton run` does. */
const usesWorktree = (file: string): boolean => /workspace: worktree/.test(readFileSync(file, 'utf8'));
const hasGit = exampleWorkflows().some(usesWorktree) && requireProgram('git');

/** `baton plan` of each file, in its own directory, accepts it. */
async function planEach(files: string[], where: (file: string) => string = (file) => file): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-docs-examples-'));
  try {
    for (const file of files) {
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dataDir };
      const path = where(file);
      const planned = await runCli(['plan', path, '--json', '--data-dir', dataDir], { env, cwd: dirname(path) });
      expect(planned.code, `${file}: ${planned.stderr}`).toBe(0);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('examples/', () => {
  it('every example workflow validates: `baton plan` accepts it in its own directory', async () => {
    const workflows = exampleWorkflows();
    expect(workflows.length).toBeGreaterThan(8);
    await planEach(workflows.filter((file) => !usesWorktree(file)));
  }, 300_000);

  it.runIf(hasGit)(
    'and a worktree example, copied into a repository of its own (as a user has it)',
    async () => {
      const roots: string[] = [];
      try {
        await planEach(exampleWorkflows().filter(usesWorktree), (file) => {
          const { root, path } = committedCopy(dirname(file));
          roots.push(root);
          return join(path, basename(file));
        });
      } finally {
        for (const root of roots) rmSync(root, { recursive: true, force: true });
      }
    },
    300_000,
  );
});
