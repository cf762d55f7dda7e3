import type { BatonConfig } from '../config/index.js';
import { BatonError, ErrorCodes, systemClock, type ApprovalRecord, type Clock, type ErrorInfo } from '../core/index.js';
import { mergePermissions } from '../permissions/index.js';
import type { PhaseOutput, PhaseStatus, Store } from '../store/index.js';
import type { PhaseSpec, Workflow } from '../workflow/index.js';
import { ApprovalDesk } from './gate.js';
import { approvalId } from './requests.js';

/** Longest piece of an output shown to whoever decides a gate. */
const PREVIEW_CHARS = 600;

const preview = (text: string): string => (text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text);

export interface PhaseGateOptions {
  store: Store;
  runId: string;
  workflow: Workflow;
  config: BatonConfig;
  /**
   * The run's kill switch: a cancelled run stops waiting; a gate nobody answered in time with
   * `onTimeout: fail` pulls it.
   */
  stop: { signal: AbortSignal; abort(reason: BatonError): void };
  /** A resumed run's end before: a gate denied or expired by then is asked about again. */
  askAgainBefore?: () => number | undefined;
  clock?: Clock;
}

/** A phase result as the gates see it. */
export interface GatedResult {
  status: PhaseStatus;
  output?: PhaseOutput;
  error?: ErrorInfo;
}

/**
 * Phase gates (`approval: { before, after, message }`): a person approves before a phase starts,
 * seeing what its dependencies produced, or before its output is passed on. A gate nobody answers in
 * time follows the phase's `onTimeout`, as a tool call does: `deny` refuses it as a denial would (the
 * run goes on without the phase), `fail` fails the phase and stops the run, as `fail` stops an agent.
 */
export class PhaseGates {
  private readonly desk: ApprovalDesk;
  private readonly clock: Clock;

  constructor(private readonly options: PhaseGateOptions) {
    this.clock = options.clock ?? systemClock;
    this.desk = new ApprovalDesk({
      store: options.store,
      clock: this.clock,
      ...(options.config.approval_webhook_url !== undefined ? { webhookUrl: options.config.approval_webhook_url } : {}),
    });
  }

  /** Waits at a `before` gate; returns why the phase must not run, or undefined to go ahead. */
  async before(
    phase: PhaseSpec,
    outputs: ReadonlyMap<string, PhaseOutput>,
  ): Promise<{ status: 'skipped' | 'cancelled' | 'failed'; error: ErrorInfo } | undefined> {
    if (!phase.approval?.before) return undefined;
    const shown = (phase.dependsOn ?? [])
      .map((id) => `${id}: ${preview(outputs.get(id)?.text ?? '(no output)')}`)
      .join('\n');
    const answered = await this.ask(phase, 'phase.before', `Start phase ${phase.id}?${shown ? `\n${shown}` : ''}`);
    return this.outcome(answered, phase, 'skipped');
  }

  /** Holds a phase's output at an `after` gate; a refused output fails the phase and is not passed on. */
  async after<R extends GatedResult>(phase: PhaseSpec, result: R): Promise<R | GatedResult> {
    if (!phase.approval?.after || !result.output) return result;
    const answered = await this.ask(
      phase,
      'phase.after',
      `Pass on the output of phase ${phase.id} (${result.status})?\n${preview(result.output.text)}`,
    );
    return this.outcome(answered, phase, 'failed') ?? result;
  }

  /** What a gate's answer means for its phase: undefined when approved, else `refused` (or cancelled, or failed). */
  private outcome<S extends 'skipped' | 'failed'>(
    answered: ApprovalRecord,
    phase: PhaseSpec,
    refused: S,
  ): { status: S | 'cancelled' | 'failed'; error: ErrorInfo } | undefined {
    const error = this.refusal(answered, phase);
    if (!error) return undefined;
    if (error.code === ErrorCodes.cancelled) return { status: 'cancelled', error };
    return { status: this.failsRun(answered) ? 'failed' : refused, error };
  }

  private ask(phase: PhaseSpec, kind: 'phase.before' | 'phase.after', summary: string): Promise<ApprovalRecord> {
    const { runId, workflow, config } = this.options;
    // The phase's own permissions are the most specific level, as for its agents' calls.
    const policy = mergePermissions([config.permissions, workflow.defaults?.permissions, phase.permissions]);
    return this.desk.ask(
      {
        id: approvalId(runId, kind, phase.id),
        kind,
        runId,
        phaseId: phase.id,
        summary: phase.approval?.message ? `${phase.approval.message}\n${summary}` : summary,
        onTimeout: policy.onTimeout,
        timeoutMs: policy.approvalTimeoutMs,
      },
      this.options.stop.signal,
      this.options.askAgainBefore?.(),
    );
  }

  /** Whether a gate that expired stops the run (`onTimeout: fail`); it does so at once. */
  private failsRun(answered: ApprovalRecord): boolean {
    if (answered.status !== 'expired' || answered.onTimeout !== 'fail') return false;
    const message = `nobody approved phase ${answered.phaseId} before its deadline, and onTimeout: fail stops the run`;
    this.options.stop.abort(new BatonError(ErrorCodes.approvalTimeout, message));
    return true;
  }

  /** Why a gate did not open, or undefined when it was approved. */
  private refusal(answered: ApprovalRecord, phase: PhaseSpec): ErrorInfo | undefined {
    if (answered.status === 'approved') return undefined;
    if (answered.status === 'pending') return { code: ErrorCodes.cancelled, message: 'the run stopped at the gate' };
    const said = answered.answer?.message ? `: ${answered.answer.message}` : '';
    if (answered.status === 'denied')
      return { code: ErrorCodes.approvalDenied, message: `${answered.answer?.by} denied phase ${phase.id}${said}` };
    return {
      code: ErrorCodes.approvalTimeout,
      message: `nobody approved phase ${phase.id} before its deadline`,
    };
  }
}
