import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadWorkflowWithMcp } from '../src/api/index.js';
import { defaultConfig, loadConfig, type BatonConfig } from '../src/config/index.js';
import { inputErrorCodes, isBatonError, maxEnvValueBytes, maxIdLength, maxTimerMs } from '../src/core/index.js';
import { resolveAgent, type Workflow } from '../src/workflow/index.js';

/**
 * Seeded fuzzing of workflow and config files through the real loaders (what `baton run` and
 * `baton config check` call): every file is either accepted with values of the right shape and range,
 * or refused with a coded input error. Never a stack trace (any other exception), never a hang.
 * Re-run a failure with BATON_FUZZ_SEED=<seed printed below>.
 */
const seed = Number(process.env.BATON_FUZZ_SEED ?? Date.now() % 2 ** 31);
const casesPerKind = 200;
console.log(`fuzz seed: ${seed} (BATON_FUZZ_SEED=${seed} to replay)`);

/** mulberry32: a small, well-known seeded PRNG. */
function prng(start: number): () => number {
  let a = start >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** Values a real file might hold, so that many mutated files are still valid and their values get checked. */
const plausibleValues: unknown[] = [
  1,
  2,
  3,
  5,
  16,
  100,
  1000,
  5000,
  60_000,
  600_000,
  3_600_000,
  'quick',
  'claude-sonnet-4-5',
  true,
  false,
];
const anyValue = (): unknown => structuredClone(random() < 0.5 ? pick(plausibleValues) : pick(hostileValues));

const hostileValues: unknown[] = [
  0,
  -1,
  1,
  0.5,
  2 ** 31,
  2 ** 31 - 1,
  2 ** 53,
  1e308,
  -1e308,
  '',
  ' ',
  'x',
  'a'.repeat(300),
  'x'.repeat(70_000),
  '0x10',
  '1e3',
  'NaN',
  'Infinity',
  '\u0000',
  'ü🙂',
  '../../etc/passwd',
  '${HOME}',
  true,
  false,
  null,
  [],
  {},
  [1, 'a'],
  { nested: { deeper: [null] } },
  'a-b_c',
  'A'.repeat(64),
  'A'.repeat(65),
];

const baseWorkflow = (): Record<string, unknown> => ({
  version: 1,
  name: 'fuzz',
  budgetUsd: 5,
  defaults: { timeoutMs: 60_000, maxTurns: 5, model: 'claude-sonnet-4-5' },
  mcpServers: { memory: { command: 'npx', args: ['-y', 'x'], env: { A: 'b' } } },
  context: { inherit: 'filtered', budgetTokens: 2000 },
  phases: [
    { id: 'scan', agents: [{ id: 'scanner', prompt: 'scan', env: { MODE: 'quick' }, mcpServers: ['memory'] }] },
    {
      id: 'report',
      dependsOn: ['scan'],
      when: { phase: 'scan', status: ['succeeded'] },
      aggregate: 'concat',
      agents: [{ id: 'writer', prompt: 'write {{index}}', count: 2, timeoutMs: 1000 }],
    },
  ],
});

/** Paths to every value inside a plain object. */
function paths(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

function mutate(data: Record<string, unknown>): void {
  const all = paths(data).filter((p) => p.length > 0);
  for (let n = 1 + Math.floor(random() * 2); n > 0; n--) {
    const path = pick(all);
    const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], data);
    if (parent === null || typeof parent !== 'object') continue;
    const key = path.at(-1)!;
    const action = random();
    const target = parent as Record<string | number, unknown>;
    if (action < 0.6) target[key] = anyValue();
    else if (action < 0.8) delete target[key];
    else target[`${String(key)}x`] = anyValue();
  }
}

const textAttacks: Array<(text: string) => string> = [
  (t) => t.slice(0, Math.floor(random() * t.length)),
  (t) => `${t}\nextra: &a [*a]\n`,
  (t) => `${t}\nbomb: &b ["x","x"]\nboom: [${Array(200).fill('*b').join(',')}]\n`,
  (t) => `${t}\nname: again\n`,
  (t) => `${t}\ndeep: ${'['.repeat(3000)}${']'.repeat(3000)}\n`,
  (t) => `${t}\nundefined: *nowhere\n`,
  (t) => t.replace(/ /g, '\t'),
  (t) => `${t}\n---\nsecond: document\n`,
  (t) => `${t}\nmerged: { <<: { a: 1 } }\n`,
];

function serialize(data: unknown, asJson: boolean): string {
  let text = asJson ? JSON.stringify(data, null, 2) : stringify(data);
  if (random() < 0.25) text = pick(textAttacks)(text);
  return text;
}

const dir = mkdtempSync(join(tmpdir(), 'baton-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Tally {
  accepted: number;
  refused: number;
  crashes: string[];
  wrongShape: string[];
}

function classify(tally: Tally, label: string, load: () => void): void {
  try {
    load();
    tally.accepted++;
  } catch (error) {
    if (isBatonError(error) && inputErrorCodes.has(error.code)) tally.refused++;
    else tally.crashes.push(`${label}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}

const isInt = (n: unknown, min: number, max: number): boolean =>
  typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
const isId = (id: unknown): boolean =>
  typeof id === 'string' && id.length <= maxIdLength && /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(id);

/** Shape and range checks written apart from the schema: what the rest of Baton relies on. */
function workflowShapeProblems(workflow: Workflow, dirOfFile: string): string[] {
  const problems: string[] = [];
  if (workflow.version !== 1 || typeof workflow.name !== 'string' || workflow.name.trim() === '')
    problems.push('header');
  for (const phase of workflow.phases) {
    if (!isId(phase.id)) problems.push(`phase id ${String(phase.id)}`);
    for (const entry of phase.agents) {
      const agent = resolveAgent(workflow, phase, entry, dirOfFile);
      if (!isId(agent.id)) problems.push(`agent id ${String(agent.id)}`);
      if (typeof agent.prompt !== 'string' || agent.prompt.trim() === '') problems.push(`${agent.id}.prompt`);
      if (agent.timeoutMs !== undefined && !isInt(agent.timeoutMs, 1, maxTimerMs))
        problems.push(`${agent.id}.timeoutMs`);
      if (agent.maxTurns !== undefined && !isInt(agent.maxTurns, 1, 10_000)) problems.push(`${agent.id}.maxTurns`);
      for (const [name, value] of Object.entries(agent.env)) {
        if (
          typeof value !== 'string' ||
          value.includes('\0') ||
          Buffer.byteLength(value) > maxEnvValueBytes ||
          name.includes('=')
        )
          problems.push(`${agent.id}.env.${name}`);
      }
    }
  }
  return problems;
}

function configShapeProblems(config: BatonConfig): string[] {
  const defaults = defaultConfig() as Record<string, unknown>;
  return Object.entries(config).flatMap(([key, value]) => {
    const expected = defaults[key];
    // The one key that is a number or a word: `auto` (its default) or a pool size.
    if (key === 'session_pool_size')
      return value === 'auto' || isInt(value, 0, 64) ? [] : [`${key}: ${JSON.stringify(value)}`];
    if (expected !== undefined && typeof value !== typeof expected) return [`${key}: ${typeof value}`];
    if (key.endsWith('_ms') && !isInt(value, 0, maxTimerMs) && key !== 'session_ttl_ms')
      return [`${key}: ${JSON.stringify(value)}`];
    if (typeof value === 'number' && !Number.isFinite(value)) return [`${key}: ${value}`];
    return [];
  });
}

describe(`fuzzed files through the real loaders (seed ${seed})`, () => {
  it(`${casesPerKind} workflows: accepted with the right shape, or refused with a coded input error`, () => {
    const tally: Tally = { accepted: 0, refused: 0, crashes: [], wrongShape: [] };
    for (let i = 0; i < casesPerKind; i++) {
      const data = baseWorkflow();
      if (i > 0) mutate(data);
      const asJson = random() < 0.3;
      const path = join(dir, `wf-${i}.${asJson ? 'json' : 'yaml'}`);
      writeFileSync(path, serialize(data, asJson));
      classify(tally, path, () => {
        const loaded = loadWorkflowWithMcp(path, defaultConfig());
        const problems = workflowShapeProblems(loaded.workflow, loaded.dir);
        if (problems.length) tally.wrongShape.push(`${path}: ${problems.join(', ')}`);
      });
    }
    console.log(`workflows: ${tally.accepted} accepted, ${tally.refused} refused`);
    expect(tally.crashes).toEqual([]);
    expect(tally.wrongShape).toEqual([]);
    expect(tally.accepted).toBeGreaterThan(0);
    expect(tally.refused).toBeGreaterThan(casesPerKind / 4);
  });

  it(`${casesPerKind} configs (files and BATON_* variables): accepted in range, or refused with a coded input error`, () => {
    const tally: Tally = { accepted: 0, refused: 0, crashes: [], wrongShape: [] };
    const keys = Object.keys(defaultConfig());
    for (let i = 0; i < casesPerKind; i++) {
      const data: Record<string, unknown> = { parallel_limit: 4, agent_timeout_ms: 60_000, mcp_servers: {} };
      for (let n = 1 + Math.floor(random() * 2); n > 0; n--) data[pick(keys)] = anyValue();
      const asJson = random() < 0.4;
      const cwd = mkdtempSync(join(dir, 'cfg-'));
      writeFileSync(join(cwd, asJson ? 'baton.config.json' : 'baton.config.yaml'), serialize(data, asJson));
      const env = random() < 0.5 ? { [`BATON_${pick(keys).toUpperCase()}`]: String(anyValue()) } : {};
      classify(tally, `${cwd} ${JSON.stringify(env).slice(0, 80)}`, () => {
        const { config } = loadConfig({ cwd, env });
        const problems = configShapeProblems(config);
        if (problems.length) tally.wrongShape.push(`${cwd}: ${problems.join(', ')}`);
      });
    }
    console.log(`configs: ${tally.accepted} accepted, ${tally.refused} refused`);
    expect(tally.crashes).toEqual([]);
    expect(tally.wrongShape).toEqual([]);
    expect(tally.accepted).toBeGreaterThan(0);
    expect(tally.refused).toBeGreaterThan(casesPerKind / 4);
  });
});
