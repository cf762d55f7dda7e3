import { TypedEmitter, type ErrorInfo } from '../core/index.js';
import type { AgentStatus, PhaseStatus, RunStatus } from '../store/index.js';
import type { RunSummary } from './summary.js';

/** Everything a run tells its subscribers (CLI progress, dashboards, metrics, audit). */
export interface RunEventMap extends Record<string, unknown> {
  'run.started': { runId: string; workflowName: string; agents: number };
  'phase.started': { runId: string; phaseId: string };
  'agent.started': { runId: string; phaseId: string; agentId: string; sessionId: string; inherited: { entries: number; tokens: number } };
  'agent.mcp': { runId: string; agentId: string; servers: string[]; missing: Array<{ name: string; error: ErrorInfo }> };
  'context.added': { runId: string; agentId: string; entries: number; tokens: number };
  'context.corrupt': { runId: string; agentId: string; entryIds: string[] };
  'agent.attempt': { runId: string; agentId: string; attempt: number; resumed: boolean };
  'agent.finished': {
    runId: string;
    phaseId: string;
    agentId: string;
    status: AgentStatus;
    durationMs: number;
    attempts: number;
    costUsd: number;
    error?: ErrorInfo;
  };
  'phase.finished': { runId: string; phaseId: string; status: PhaseStatus };
  'run.finished': { runId: string; status: RunStatus; summary: RunSummary };
}

export class RunEvents extends TypedEmitter<RunEventMap> {}
