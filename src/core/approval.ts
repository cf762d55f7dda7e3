/** Where a person's answer is awaited: an agent's tool call, or a phase gate before or after the phase. */
export type ApprovalKind = 'tool' | 'phase.before' | 'phase.after';

/** pending until a person answers or the deadline passes (expired). */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

/** Who answered, when, and what they said (the reason of a denial, an instruction with an approval). */
export interface ApprovalAnswer {
  /** user@host of the process that answered, or `baton` for a deadline. */
  by: string;
  at: number;
  message?: string;
}

/** A request for a person's decision, stored so that it outlives the process that waits for it. */
export interface ApprovalRecord {
  /** Derived from what is asked, so the same question asked again after a crash finds its answer. */
  id: string;
  kind: ApprovalKind;
  runId: string;
  phaseId?: string;
  agentId?: string;
  tool?: string;
  /** What the call does, with secrets redacted. */
  summary: string;
  /** The rule that asked (`default` when no rule matched). */
  rule?: string;
  requestedAt: number;
  deadline: number;
  onTimeout: 'deny' | 'fail';
  status: ApprovalStatus;
  answer?: ApprovalAnswer;
}

export interface ListApprovalsOptions {
  runId?: string;
  status?: ApprovalStatus;
}

/** An answer to store: only a pending request takes one (the first answer wins). */
export interface ApprovalDecision {
  id: string;
  status: Exclude<ApprovalStatus, 'pending'>;
  answer: ApprovalAnswer;
}
