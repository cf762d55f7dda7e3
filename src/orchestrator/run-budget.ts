import { BatonError, ErrorCodes } from '../core/index.js';
import type { RunEvents } from './events.js';
import type { RunStop } from './run-stop.js';

export interface RunBudgetOptions {
  runId: string;
  /** Whose daily token budget `budgetTokens` is what is left of (for the message). */
  tenant: () => string;
  /** USD the run may spend; undefined for no limit. */
  budgetUsd?: number;
  /** Tokens (input + output) the run may use; undefined for no limit. */
  budgetTokens?: number;
  events: RunEvents;
  stop: RunStop;
}

/**
 * What a run has spent against its budgets. Spend is reported as it happens (per attempt, or per
 * agent from a remote worker); the run warns at 80 % of its USD budget and stops at 100 % of either.
 */
export class RunBudget {
  private spentUsd = 0;
  private spentTokens = 0;
  private warned = false;

  constructor(private readonly options: RunBudgetOptions) {}

  /** True when the run has a USD budget (agents are then capped by what is left of it). */
  get limited(): boolean {
    return this.options.budgetUsd !== undefined;
  }

  /** What is left of the USD budget (never quite 0, so an agent can still be started and stopped), or undefined. */
  remainingUsd(): number | undefined {
    const { budgetUsd } = this.options;
    return budgetUsd === undefined ? undefined : Math.max(0.0001, budgetUsd - this.spentUsd);
  }

  spend(costUsd: number, tokens: number): void {
    this.spentUsd += costUsd;
    this.spentTokens += tokens;
    const { budgetUsd, budgetTokens, runId, events, stop } = this.options;
    if (budgetUsd !== undefined && !this.warned && this.spentUsd >= 0.8 * budgetUsd) {
      this.warned = true;
      events.emit('budget.warning', { runId, spentUsd: this.spentUsd, budgetUsd });
    }
    if (stop.stopped) return;
    if (budgetUsd !== undefined && this.spentUsd >= budgetUsd) {
      events.emit('budget.exceeded', { runId, spentUsd: this.spentUsd, budgetUsd });
      stop.abort(
        new BatonError(
          ErrorCodes.runBudgetExceeded,
          `the run spent $${this.spentUsd.toFixed(4)} of its $${budgetUsd.toFixed(4)} budget and was stopped`,
        ),
      );
    } else if (budgetTokens !== undefined && this.spentTokens >= budgetTokens) {
      stop.abort(
        new BatonError(
          ErrorCodes.runBudgetExceeded,
          `the run used ${this.spentTokens} tokens, all that was left of tenant ${this.options.tenant()}'s daily token budget, and was stopped`,
        ),
      );
    }
  }
}
