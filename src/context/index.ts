export { DynamicContextAccumulator } from './accumulator.js';
export type {
  AccumulatorOptions,
  ContextSource,
  InheritMode,
  SelectedContext,
  SelectionRequest,
} from './accumulator.js';
export { contextBlockSchema, extractContext } from './extract.js';
export type { ContextDraft } from './extract.js';
export { buildAppendedSystemPrompt, renderContext } from './prompt.js';
export { defaultSelectionTuning } from './select.js';
export type { SelectionTuning } from './select.js';
export type { AgentPromptInput } from './prompt.js';
export { archiveSessions, expiryFrom, pruneSessions } from './sessions.js';
export { AgentReranker } from './rerank.js';
export type { Reranker, RerankRequest } from './rerank.js';
export type { OneTurnAgentOptions } from './one-turn.js';
export { AgentSummarizer, ExtractiveSummarizer } from './summarize.js';
export type { AgentSummarizerOptions, Summarizer, SummaryRequest } from './summarize.js';
export { countTokens, preloadTokenizer } from './tokens.js';
export { contextExportSchema, exportContext, importContext } from './transfer.js';
export type { ContextExport, ImportReport } from './transfer.js';
