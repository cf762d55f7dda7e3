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

/** Numbers in the answer that name a listed fact, in the order given, each once. */
function pickedNumbers(answer: string, count: number): number[] {
  const numbers = (answer.match(/\d+/g) ?? []).map(Number).filter((n) => n >= 1 && n <= count);
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
    return pickedNumbers(answer, request.facts.length).map((n) => request.facts[n - 1]!.id);
  }
}
