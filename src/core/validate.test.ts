import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BatonError, ErrorCodes } from './errors.js';
import { parseYamlWithSchema, readUserFile, validateData } from './validate.js';

const schema = z.record(z.string(), z.unknown());

function problemOf(text: string, source = 'file.yaml'): BatonError {
  try {
    parseYamlWithSchema(text, schema, { source, code: ErrorCodes.workflowInvalid, what: 'Workflow' });
  } catch (error) {
    if (error instanceof BatonError) return error;
    throw new Error(`not a BatonError: ${String(error)}`, { cause: error });
  }
  throw new Error('accepted');
}

const laughs = [
  'a: &a ["x","x","x","x","x","x","x","x","x"]',
  ...['b', 'c', 'd', 'e', 'f'].map((name, i) => {
    const prev = 'abcde'[i]!;
    return `${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`;
  }),
  `g: [${Array(9).fill('*f').join(',')}]`,
].join('\n');

describe('hostile YAML and JSON', () => {
  it.each([
    ['billion laughs', laughs, /file\.yaml:2: \(syntax\): Excessive alias count .* \[ALIAS_BOMB\]/],
    ['an undefined alias', 'a: 1\nb: *nope\n', /file\.yaml:2: \(syntax\): Unresolved alias.*nope \[BAD_ALIAS\]/],
    ['5,000-deep nesting', '['.repeat(5000) + ']'.repeat(5000), /file\.yaml:1: \(syntax\): .* \[RESOURCE_EXHAUSTION\]/],
    [
      '200-deep nesting',
      'a: ' + '['.repeat(200) + ']'.repeat(200),
      /\(syntax\): nested more than 64 levels deep \[TOO_DEEP\]/,
    ],
    ['a duplicate key', 'a: 1\nb: 2\na: 3\n', /file\.yaml:3: \(syntax\): Map keys must be unique \[DUPLICATE_KEY\]/],
    ['two documents', 'a: 1\n---\nb: 2\n', /\[MULTIPLE_DOCS\]/],
  ])('%s is a coded input error with its line', (_name, text, expected) => {
    const error = problemOf(text);
    expect(error.code).toBe(ErrorCodes.workflowInvalid);
    expect(error.message).toMatch(expected);
  });

  it('refuses merge keys (`<<`) with their line, also where a map would take one as a key', () => {
    const parse = (text: string) => () =>
      parseYamlWithSchema(text, schema, { source: 'f.yaml', code: ErrorCodes.configInvalid, what: 'Config' });
    expect(parse('a: &a { x: 1 }\nb: { <<: *a }\n')).toThrow(
      /f\.yaml:2: \(syntax\): merge keys \(<<\) are not supported/,
    );
    expect(parse('a: 1\nb:\n  c: 2\n  <<: { d: 3 }\n')).toThrow(/f\.yaml:4: .*\[MERGE_KEY\]/);
    // A value that reads "<<" is not a merge key.
    expect(() => parse('a: "<<"\n')()).not.toThrow(/MERGE_KEY/);
  });

  it('refuses a tag YAML does not know (it would be read as a plain string), keeping the standard ones', () => {
    const parse = (text: string) => () =>
      parseYamlWithSchema(text, schema, { source: 'f.yaml', code: ErrorCodes.configInvalid, what: 'Config' });
    expect(parse('a: 1\nb: !foo hi\n')).toThrow(/f\.yaml:2: \(syntax\): Unresolved tag: !foo \[TAG_RESOLVE_FAILED\]/);
    expect(parse('a: !!js/function "() => 1"\n')).toThrow(/f\.yaml:1: .*\[TAG_RESOLVE_FAILED\]/);
    expect(() => parse('a: !!str 12\n')()).not.toThrow(/TAG_RESOLVE_FAILED/);
  });

  it('holds .json files to JSON: a trailing comma is refused with its line', () => {
    const error = problemOf('{\n  "a": 1,\n}\n', 'baton.config.json');
    expect(error.message).toMatch(
      /Workflow is not valid JSON:\n {2}- baton\.config\.json:3: \(syntax\): .* \[JSON_SYNTAX\]/,
    );
  });

  it('refuses duplicate keys in JSON, which JSON.parse would silently accept', () => {
    expect(problemOf('{"a": 1, "a": 2}', 'x.json').message).toMatch(/\[DUPLICATE_KEY\]/);
  });
});

describe('keys that name an object prototype', () => {
  const strict = z.object({ env: z.record(z.string(), z.string()), tags: z.array(z.string()).optional() }).strict();
  const check = (data: unknown) => {
    try {
      validateData(strict, data, { source: 'workflow w', code: ErrorCodes.workflowInvalid, what: 'Workflow' });
    } catch (error) {
      if (error instanceof BatonError) return error.message;
    }
    return 'accepted';
  };

  it.each(['__proto__', 'constructor', 'prototype'])(
    'refuses %s in a map of a file, naming its path and line',
    (key) => {
      for (const [text, source] of [
        [`env:\n  A: x\n  ${key}: y\n`, 'wf.yaml'],
        [`{"env": {"A": "x",\n "${key}": "y"}}`, 'wf.json'],
      ] as const) {
        const message = problemOf(text, source).message;
        expect(message).toContain(`${source}:${source.endsWith('json') ? 2 : 3}: env.${key}: `);
        expect(message).toContain('rename it');
      }
    },
  );

  it('refuses one given in code (an own key), naming its path and no line', () => {
    const env = JSON.parse('{"A": "x", "__proto__": "y"}') as Record<string, string>;
    const message = check({ env });
    expect(message).toContain('- workflow w: env.__proto__: ');
    expect(check({ env: { A: 'x' } })).toBe('accepted');
  });
});

describe('reading a file the user names', () => {
  const options = { code: ErrorCodes.workflowInvalid, what: 'Workflow' };

  it('refuses a device that never ends at the size limit, instead of reading it into memory', () => {
    for (const endless of ['/dev/zero', '/dev/urandom'])
      expect(() => readUserFile(endless, options)).toThrow(`Workflow ${endless} is larger than 10485760 bytes.`);
  });

  it('reads a regular file, and says when there is none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-read-'));
    writeFileSync(join(dir, 'wf.yaml'), 'version: 1\n');
    expect(readUserFile(join(dir, 'wf.yaml'), options)).toBe('version: 1\n');
    rmSync(dir, { recursive: true });
    expect(() => readUserFile('/no/such/file.yaml', options)).toThrow('Workflow /no/such/file.yaml does not exist.');
  });
});

describe("zod's default messages, said as the fix", () => {
  const bounded = z.object({
    name: z.string().min(1),
    label: z.string().max(3),
    retries: z.number().int().min(0),
    status: z.number().min(400).max(599),
    ratio: z.number().positive(),
    tags: z.array(z.string()).min(1),
    note: z.string().min(1, { message: 'a note needs words' }).optional(),
  });
  const problems = (data: unknown): string => {
    try {
      validateData(bounded, data, { source: 'test', code: ErrorCodes.configInvalid, what: 'Test' });
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('accepted');
  };
  const valid = { name: 'n', label: 'ab', retries: 2, status: 404, ratio: 0.5, tags: ['t'] };

  it.each([
    [{ name: '' }, 'name: must not be empty'],
    [{ label: 'abcd' }, 'label: must be at most 3 characters long'],
    [{ retries: 1.5 }, 'retries: must be a whole number (e.g. 2), not 1.5'],
    [{ retries: -1 }, 'retries: must be at least 0, not -1'],
    [{ retries: '2' }, 'retries: must be a number, not "2"'],
    [{ status: 200 }, 'status: must be at least 400, not 200'],
    [{ status: 700 }, 'status: must be at most 599, not 700'],
    [{ ratio: 0 }, 'ratio: must be more than 0, not 0'],
    [{ tags: [] }, 'tags: must list at least one item'],
    [{ name: 5 }, 'name: must be text (a string), not 5'],
    [{ name: ['x'] }, 'name: must be text (a string), not a list'],
  ])('%j: the field and what to write', (change, says) => {
    const message = problems({ ...valid, ...change });
    expect(message).toContain(`- test: ${says}`);
    expect(message).not.toMatch(/Too (small|big)|expected (int|number|string)/);
  });

  it("keeps a schema's own message", () => {
    expect(problems({ ...valid, note: '' })).toContain('- test: note: a note needs words');
  });
});
