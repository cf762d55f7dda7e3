import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lexer, type Tokens } from 'marked';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/core/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The codes in the first column of docs/troubleshooting.md's tables whose first header is "Code". */
function documentedCodes(): string[] {
  const tokens = new Lexer().lex(readFileSync(join(root, 'docs/troubleshooting.md'), 'utf8'));
  return tokens
    .filter((t): t is Tokens.Table => t.type === 'table' && (t as Tokens.Table).header[0]?.text === 'Code')
    .flatMap((table) =>
      table.rows.map((row) => row[0]!.tokens.map((cell): string => ('text' in cell ? String(cell.text) : '')).join('')),
    );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    const isCode = /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$|\.contract\.ts$/.test(entry.name);
    return isCode && !path.endsWith(join('core', 'errors.ts')) ? [path] : [];
  });
}

/** The catalogue keys used as `ErrorCodes.<key>` in src/ (outside the catalogue and tests), by the TypeScript parser. */
function raisedKeys(): Set<string> {
  const keys = new Set<string>();
  for (const file of sourceFiles(join(root, 'src'))) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isPropertyAccessExpression(node) && node.expression.getText(source) === 'ErrorCodes')
        keys.add(node.name.text);
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return keys;
}

describe('docs/troubleshooting.md tells the truth', () => {
  it('has exactly one row per error code of the catalogue', () => {
    const documented = documentedCodes();
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual(Object.values(ErrorCodes).sort());
  });

  it('lists only codes that can occur: each is raised somewhere in src/', () => {
    const raised = raisedKeys();
    const never = Object.entries(ErrorCodes)
      .filter(([key]) => !raised.has(key))
      .map(([, code]) => code);
    expect(never).toEqual([]);
  });
});
