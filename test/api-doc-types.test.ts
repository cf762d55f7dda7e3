import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marked, type Tokens } from 'marked';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'baton-api-doc-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every TypeScript block of docs/api.md, as a module of its own. */
const examples = marked
  .lexer(readFileSync(join(root, 'docs', 'api.md'), 'utf8'))
  .filter((token): token is Tokens.Code => token.type === 'code' && token.lang === 'ts')
  .map((token, index) => {
    const file = join(dir, `example-${index}.mts`);
    writeFileSync(file, `${token.text}\nexport {};\n`);
    return file;
  });

/** What tsc says about `files`, `baton` resolved to this checkout's entry point as the package's `types` is. */
function typeErrors(files: string[]): string[] {
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
    typeRoots: [join(root, 'node_modules', '@types')],
    paths: { baton: [join(root, 'src', 'index.ts')] },
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) =>
        `${d.file ? d.file.fileName.replace(dir, '') : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    );
}

describe('docs/api.md examples type-check as a strict TypeScript user would write them', () => {
  it('has examples', () => expect(examples.length).toBeGreaterThanOrEqual(3));

  it('every example, and narrowing an event on its type gives that event’s payload', () => {
    const narrowing = join(dir, 'narrowing.mts');
    writeFileSync(
      narrowing,
      [
        "import type { BatonEvent } from 'baton';",
        'export function agentOf(event: BatonEvent): string {',
        "  if (event.type === 'agent.finished') return event.payload.agentId;",
        "  if (event.type === 'run.finished') return event.payload.summary.status;",
        "  return '';",
        '}',
        '',
      ].join('\n'),
    );
    expect(typeErrors([...examples, narrowing])).toEqual([]);
  }, 120_000);
});
