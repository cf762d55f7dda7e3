import { z } from 'zod';
import { BatonError, parseYamlWithSchema, readUserFile } from '../src/core/index.js';
import { BenchInputError } from './input-error.js';
import type { BenchWorkflow } from './context-workflows.js';

const name = z.string().trim().min(1);

/** `BenchWorkflow`, with what a workflow of one's own may leave out given its default. */
const workflowFile = z.array(
  z.object({
    name,
    description: z.string().default(''),
    results: z.array(z.object({ agent: name, phase: name, text: z.string() })).min(1),
    phaseOutputs: z.array(name).default([]),
    superseded: z.record(name, name).default({}),
    duplicates: z.array(z.array(name).min(2)).default([]),
    children: z
      .array(
        z.object({
          id: name,
          phase: name,
          inherits: z.array(name).min(1),
          task: name,
          role: name.optional(),
          needs: z.array(name).min(1),
        }),
      )
      .min(1),
  }),
);

/**
 * The workflows of `BENCH_CONTEXT_WORKFLOWS`: a JSON array of `BenchWorkflow`, read and checked field by
 * field as Baton reads a workflow (each problem with its path and line).
 */
export function readWorkflowFile(path: string): BenchWorkflow[] {
  const options = { code: 'BATON_CONFIG_INVALID', what: 'BENCH_CONTEXT_WORKFLOWS file', source: path } as const;
  try {
    return parseYamlWithSchema(readUserFile(path, options), workflowFile, options);
  } catch (error) {
    if (error instanceof BatonError) throw new BenchInputError(`${error.message} (see docs/context.md)`);
    throw error;
  }
}

/**
 * Every fact id a workflow names (`needs`, `superseded`, `duplicates`) must be one of the facts its
 * results gave: an unknown id would count as a miss, or never as superseded, without a word.
 * `factsOf` is how many facts each agent's result gave, in the order `extractContext` found them.
 */
export function checkFactIds(workflow: BenchWorkflow, factsOf: Map<string, number>): void {
  const named = [
    ...workflow.children.flatMap((child) => child.needs.map((id) => ({ id, where: `child "${child.id}" needs` }))),
    ...Object.entries(workflow.superseded).flatMap(([old, replacement]) =>
      [old, replacement].map((id) => ({ id, where: 'superseded names' })),
    ),
    ...workflow.duplicates.flat().map((id) => ({ id, where: 'duplicates name' })),
  ];
  for (const { id, where } of named) {
    const [, agent, n] = /^(.+)\.(\d+)$/.exec(id) ?? [];
    const count = agent === undefined ? undefined : factsOf.get(agent);
    if (count !== undefined && Number(n) >= 1 && Number(n) <= count) continue;
    const known =
      count === undefined
        ? `no result is from an agent "${agent ?? id}"; fact ids are <agent>.<n>`
        : `agent "${agent}" gave ${count} facts (${agent}.1 to ${agent}.${count}): n counts, from 1, its marked lines (Finding:, Decision:, File changed:, …) with something after the colon`;
    throw new BenchInputError(`workflow "${workflow.name}": ${where} "${id}", which is no fact: ${known}`);
  }
}
