import { phaseOutputKey, type DynamicContextAccumulator } from '../context/index.js';
import { toErrorInfo } from '../core/index.js';
import type { AgentRole, PhaseOutput } from '../store/index.js';
import type { AgentEntry, PhaseSpec } from '../workflow/index.js';
import {
  concatResults,
  judgePrompt,
  mergeResults,
  reduceGroups,
  reducePrompt,
  voteResults,
  type AgentResultInput,
} from './aggregate.js';
import type { RunAgent } from './run-agent.js';
import { phaseStatusOf, type PhaseResult } from './run-context.js';
import { expandAgents, type AgentInstance } from './swarm.js';

/** Longest phase output text passed on to dependents as a context entry. */
const PHASE_OUTPUT_CONTEXT_CHARS = 4000;

/**
 * An agent phase: its agents (a swarm fans out) run, and their successful results are combined into
 * the phase's output by its aggregate strategy. A failed judge or reducer leaves the phase partial.
 */
export async function runAgentPhase(
  phase: PhaseSpec,
  generation: number | undefined,
  outputOf: (phaseId: string) => PhaseOutput | undefined,
  runAgent: RunAgent,
): Promise<PhaseResult> {
  let instances: AgentInstance[];
  try {
    instances = expandAgents(phase.agents, outputOf);
  } catch (error) {
    return { status: 'failed', error: toErrorInfo(error) }; // the phase fails, not the run
  }
  const finished = await Promise.all(
    instances.map((instance) => runAgent(instance, { phase, role: 'worker', generation })),
  );
  const statuses = finished.map((a) => a.status);
  const succeeded = finished
    .filter((a) => a.status === 'succeeded' && a.output)
    .map((a): AgentResultInput => ({ agentId: a.id, output: a.output! }));
  if (succeeded.length === 0) return { status: phaseStatusOf(statuses) };
  const output = await aggregate(phase, succeeded, (id, prompt, role) =>
    runAggregator(phase, generation, runAgent, { id, prompt, role }),
  );
  const aggregatorFailed = output === undefined && statuses.every((s) => s === 'succeeded');
  return { status: aggregatorFailed ? 'partial' : phaseStatusOf(statuses), ...(output ? { output } : {}) };
}

type Aggregator = (id: string, prompt: string, role: AgentRole) => Promise<AgentResultInput | undefined>;

/** Runs a judge or reducer agent, shaped like the phase's own agents; undefined when it failed. */
async function runAggregator(
  phase: PhaseSpec,
  generation: number | undefined,
  runAgent: RunAgent,
  agent: { id: string; prompt: string; role: AgentRole },
): Promise<AgentResultInput | undefined> {
  const template = phase.agents[0]!;
  const model = phase.aggregate?.model ?? template.model;
  const entry: AgentEntry = {
    id: agent.id,
    prompt: agent.prompt,
    ...(model ? { model } : {}),
    // The judge answers in the shape the phase's agents did, so dependents read one format.
    ...(template.outputSchema ? { outputSchema: template.outputSchema } : {}),
    mcpServers: [],
  };
  const record = await runAgent({ id: agent.id, entry, prompt: agent.prompt }, { phase, role: agent.role, generation });
  return record.status === 'succeeded' && record.output ? { agentId: record.id, output: record.output } : undefined;
}

/** Combines a phase's successful results into its output; undefined when its judge or reducer failed. */
async function aggregate(
  phase: PhaseSpec,
  results: AgentResultInput[],
  runAggregator: Aggregator,
): Promise<PhaseOutput | undefined> {
  const spec = phase.aggregate;
  // By the phase's agents, not by how many succeeded: a phase of two whose one failed keeps concat's
  // shape, so its dependents' dot paths stay what they were written for.
  const onePlainAgent = phase.agents.length === 1 && phase.agents[0]!.count === undefined && !phase.agents[0]!.foreach;
  if (!spec)
    return onePlainAgent && results.length === 1
      ? { strategy: 'single', ...results[0]!.output }
      : concatResults(results);
  if (spec.strategy === 'concat') return concatResults(results);
  if (spec.strategy === 'merge') return mergeResults(results);
  if (spec.strategy === 'vote') return voteResults(results, spec.field!);
  if (spec.strategy === 'judge') {
    const verdict = await runAggregator(`${phase.id}.judge`, judgePrompt(spec, phase.id, results), 'judge');
    return (
      verdict && {
        strategy: 'judge',
        ...verdict.output,
        details: { judge: verdict.agentId, candidates: results.map((r) => r.agentId) },
      }
    );
  }
  return reduce(phase, results, runAggregator);
}

/** reduce: folds `fanIn` results at a time, level by level, until one is left. */
async function reduce(
  phase: PhaseSpec,
  results: AgentResultInput[],
  runAggregator: Aggregator,
): Promise<PhaseOutput | undefined> {
  const spec = phase.aggregate!;
  let level = 0;
  let current = results;
  while (current.length > 1) {
    level++;
    const groups = reduceGroups(current, spec.fanIn);
    const folded = await Promise.all(
      groups.map(async (group, i) =>
        group.length === 1
          ? group[0]!
          : await runAggregator(`${phase.id}.reduce.${level}.${i}`, reducePrompt(spec, phase.id, group), 'reducer'),
      ),
    );
    if (folded.some((r) => r === undefined)) return undefined;
    current = folded as AgentResultInput[];
  }
  return { strategy: 'reduce', ...current[0]!.output, details: { levels: level, inputs: results.length } };
}

/** An aggregated output (not one agent's own) becomes a fact of its phase, for the phases after it. */
export async function passOnPhaseOutput(
  accumulator: DynamicContextAccumulator,
  phase: PhaseSpec,
  output: PhaseOutput,
): Promise<void> {
  if (output.strategy === 'single' || output.strategy === 'judge' || output.strategy === 'reduce') return; // the deciding agent's own facts carry it
  const text =
    output.text.length > PHASE_OUTPUT_CONTEXT_CHARS
      ? `${output.text.slice(0, PHASE_OUTPUT_CONTEXT_CHARS)}…`
      : output.text;
  await accumulator.upsertKeyed(
    phaseOutputKey(phase.id),
    () => ({
      // A vote's tally is what the phase decided; the other outputs are what its agents produced.
      type: output.strategy === 'vote' ? 'decision' : 'artifact',
      content: `Output of phase ${phase.id} (${output.strategy}):\n${text}`,
      tags: ['phase-output', output.strategy],
    }),
    { phaseId: phase.id },
  );
}
