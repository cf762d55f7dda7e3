import { BatonError, ErrorCodes } from '../core/index.js';
import type { ContextEntry } from '../store/index.js';
import { askOneTurn, type OneTurnAgentOptions } from './one-turn.js';

export interface RerankRequest {
  task: string;
  /** Candidates, best first by the deterministic ranking. */
  facts: ContextEntry[];
}

/** Picks, among candidate facts, the ones an agent needs: a second opinion on relevance. */
export interface Reranker {
  readonly name: string;
  /** The ids of the facts needed, most important first. */
  rerank(request: RerankRequest, signal?: AbortSignal): Promise<string[]>;
}

/** A line that is only a list of numbers ("2, 5, 7", "1-3 and 6", "**4, 1**"). */
const listLine = /^[\s*_`>#-]*\d+(?:\s*(?:[-–]|,|;|&|and)?\s*\d+)*[\s.*_`]*$/i;
/** A number standing alone, or a range of them: not part of a word or a name ("3-D Secure", "v2", "1.5"). */
const standalone = /(?<![\w.])(\d+)(?:\s*[-–]\s*(\d+))?(?![\w]|\.\d|-[a-z])/gi;

/**
 * The listed facts the answer names, in the order given, each once: the numbers of its last line that
 * is only a list, else of the whole answer (numbers standing alone, ranges expanded). Undefined when
 * it names none and does not say "none": unreadable, so the deterministic choice stands.
 */
export function pickedNumbers(answer: string, count: number): number[] | undefined {
  const list =
    answer
      .split('\n')
      .filter((line) => listLine.test(line.trim()))
      .at(-1) ?? answer;
  const numbers: number[] = [];
  for (const [, from, to] of list.matchAll(standalone)) {
    const [first, last] = [Number(from), Number(to ?? from)];
    for (let n = first; n <= Math.min(last, count); n++) if (n >= 1) numbers.push(n);
  }
  if (numbers.length === 0 && !/\bnone\b/i.test(answer)) return undefined;
  return [...new Set(numbers)];
}

/**
 * A real Claude Code agent (no tools, one turn) reads the task and the numbered candidates and names
 * the ones the agent needs. It sees meaning that words miss ("bank authentication" is 3-D Secure).
 */
export class AgentReranker implements Reranker {
  readonly name = 'agent';

  constructor(private readonly options: OneTurnAgentOptions) {}

  async rerank(request: RerankRequest, signal: AbortSignal = new AbortController().signal): Promise<string[]> {
    const prompt = [
      'Pick the facts from earlier agents that the next agent needs for its task.',
      `Task: ${request.task.replace(/\s+/g, ' ')}`,
      '',
      '<facts>',
      ...request.facts.map((f, i) => `${i + 1}. [${f.type}] ${f.content.replace(/\s+/g, ' ')}`),
      '</facts>',
      'Reply with the numbers of the facts it needs, most important first, separated by commas, or "none".',
    ].join('\n');
    const answer = await askOneTurn(this.options, 'rerank', prompt, signal);
    const picked = pickedNumbers(answer, request.facts.length);
    if (!picked)
      throw new BatonError(ErrorCodes.internal, `The re-ranker's answer names no fact: ${answer.slice(0, 200)}`);
    return picked.map((n) => request.facts[n - 1]!.id);
  }
}
