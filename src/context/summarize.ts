import type { ContextEntry, ContextEntryType } from '../store/index.js';
import { askOneTurn, type OneTurnAgentOptions } from './one-turn.js';
import { stableOrder } from './select.js';
import { isEmptyFact, termsOf } from './terms.js';

export interface SummaryRequest {
  /** What is being summarised, for the summary's heading: "phase research", "the run". */
  scope: string;
  entries: ContextEntry[];
  /** The summary should fit in this many bytes. */
  maxBytes: number;
  /** The tasks of the agents that will read it: what they ask about is kept first. */
  laterTasks?: string[];
  /** The entries relevant to one of `laterTasks` (ranked as `filtered` ranks them). */
  askedAbout?: ReadonlySet<string>;
}

/** Turns many context entries into one shorter text. */
export interface Summarizer {
  readonly name: string;
  summarize(request: SummaryRequest, signal?: AbortSignal): Promise<string>;
}

/** Which facts matter most when space is short: what was decided and learned before bookkeeping. */
const typePriority: ContextEntryType[] = ['decision', 'error', 'finding', 'file_changed', 'artifact', 'summary'];

/** Bookkeeping rather than knowledge: kept only when there is room after everything else. */
const trivia = new Set<ContextEntryType>(['file_changed', 'artifact', 'summary']);

/** Ties by phase, agent and each agent's own order of saving. */
const sameEveryRun = stableOrder([]);

/** How much a fact says: its distinct content words. Trivia ("File changed: none") says least. */
const substance = (entry: ContextEntry): number => termsOf(entry.content).size;

/**
 * Deterministic, model-free summaries: the first sentence of each entry — the decisions, errors and
 * findings later tasks ask about first, then the other ones, the most substantial of each first,
 * trivia last and empty facts never — until the size is reached. The fallback when no summarizer
 * agent is available or it fails.
 */
export class ExtractiveSummarizer implements Summarizer {
  readonly name = 'extractive';

  async summarize(request: SummaryRequest): Promise<string> {
    const rank = (e: ContextEntry): number => (trivia.has(e.type) ? 2 : request.askedAbout?.has(e.id) ? 0 : 1);
    const ordered = request.entries
      .filter((e) => !isEmptyFact(e.content))
      .sort(
        (a, b) =>
          rank(a) - rank(b) ||
          typePriority.indexOf(a.type) - typePriority.indexOf(b.type) ||
          substance(b) - substance(a) ||
          // Not by time or id: which agent finished first, and session ids, change from run to run.
          sameEveryRun(a, b),
      );
    const lines = [`Summary of ${request.scope} (${request.entries.length} entries):`];
    let bytes = Buffer.byteLength(lines[0]!);
    for (const entry of ordered) {
      // A fact a reader asks about is kept whole where it fits: its later sentences may be the answer.
      const whole = request.askedAbout?.has(entry.id) && entry.content.length <= MAX_WHOLE_CHARS;
      const asked = whole ? [entry.content.replace(/\s+/g, ' ')] : [];
      const line = [...asked, firstSentenceOf(entry.content)]
        .map((text) => `- [${entry.type}] ${text}`)
        .find((text) => bytes + Buffer.byteLength(text) + 1 <= request.maxBytes);
      if (line === undefined) continue; // a shorter fact further down may still fit
      lines.push(line);
      bytes += Buffer.byteLength(line) + 1;
    }
    return lines.join('\n');
  }
}

/** The longest a fact asked about is kept whole; a longer one gives its first sentence. */
const MAX_WHOLE_CHARS = 600;
const firstSentenceOf = (content: string): string => (content.split(/(?<=[.!?])\s/)[0] ?? content).slice(0, 240);

export type AgentSummarizerOptions = OneTurnAgentOptions;

/** How much of the later tasks a summarizer agent's prompt shows. */
const MAX_TASKS_SHOWN = 20;
const MAX_TASK_CHARS = 300;

/** Summaries written by a real Claude Code agent (no tools, one turn). */
export class AgentSummarizer implements Summarizer {
  readonly name = 'agent';

  constructor(private readonly options: AgentSummarizerOptions) {}

  async summarize(request: SummaryRequest, signal: AbortSignal = new AbortController().signal): Promise<string> {
    const facts = request.entries.map((e) => `- [${e.type}] ${e.content}`).join('\n');
    const tasks = (request.laterTasks ?? []).slice(0, MAX_TASKS_SHOWN).map((t) => `- ${t.slice(0, MAX_TASK_CHARS)}`);
    const prompt = [
      `Summarize the context of ${request.scope} for the agents that come next, in at most ${request.maxBytes} bytes.`,
      'Keep every decision, error and finding a later agent could ask about, decisions first; merge repeated facts; put trivia (file lists, routine notes) last and drop empty ones ("none").',
      ...(tasks.length > 0
        ? ['The agents that come next will work on:', ...tasks, 'Keep first what these tasks need.']
        : []),
      'Reply with the summary only.',
      '',
      '<facts>',
      facts,
      '</facts>',
    ].join('\n');
    return askOneTurn(this.options, 'summary', prompt, signal);
  }
}
