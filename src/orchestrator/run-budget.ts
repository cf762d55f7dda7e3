import { BatonError, ErrorCodes, formatUsd } from '../core/index.js';
import type { RunEvents } from './events.js';
import type { RunStop } from './run-stop.js';

export interface RunBudgetOptions {
  runId: string;
  /** Whose daily token budget `tenantLeftTokens` is what is left of (for the message). */
  tenant: () => string;
  /** The workflow's `budgetUsd`: what the whole run may spend, over all its orchestrators; undefined for no limit. */
  runBudgetUsd?: number;
  /** What is left of the tenant's daily USD budget as this orchestrator starts; undefined for no limit. */
  tenantLeftUsd?: number;
  /** What is left of the tenant's daily token budget (input + output) as this orchestrator starts. */
  tenantLeftTokens?: number;
  events: RunEvents;
  stop: RunStop;
}

/**
 * What a run has spent against its budgets. Spend is reported as it happens (per attempt, or per
 * agent from a remote worker); the run warns at 80 % of either budget (USD, tokens) and stops at 100 % of either.
 * A resumed run starts from what it spent before (`spentBefore`), so its budget covers the whole run.
 */
export class RunBudget {
  private spentUsd = 0;
  private spentTokens = 0;
  /** Spent by the run's earlier orchestrators: the tenant's remainder, read now, no longer includes it. */
  private earlier = { usd: 0, tokens: 0 };
  /** The budgets the run was warned about (80 %), each once. */
  private readonly warned = new Set<'usd' | 'tokens'>();

  constructor(private readonly options: RunBudgetOptions) {}

  /** Counts what the run spent before this orchestrator took it over (`--resume`). */
  spentBefore(usd: number, tokens: number): void {
    this.earlier = { usd, tokens };
    this.spentUsd += usd;
    this.spentTokens += tokens;
  }

  /** The USD the whole run may spend: the lower of its own budget and the tenant's; undefined for none. */
  private get budgetUsd(): number | undefined {
    const { runBudgetUsd, tenantLeftUsd } = this.options;
    const caps = [runBudgetUsd, tenantLeftUsd === undefined ? undefined : this.earlier.usd + tenantLeftUsd];
    const defined = caps.filter((c): c is number => c !== undefined);
    return defined.length > 0 ? Math.min(...defined) : undefined;
  }

  private get budgetTokens(): number | undefined {
    const { tenantLeftTokens } = this.options;
    return tenantLeftTokens === undefined ? undefined : this.earlier.tokens + tenantLeftTokens;
  }

  /** True when the run has a USD budget (agents are then capped by what is left of it). */
  get limited(): boolean {
    return this.budgetUsd !== undefined;
  }

  /** What is left of the USD budget (never quite 0, so an agent can still be started and stopped), or undefined. */
  remainingUsd(): number | undefined {
    const { budgetUsd } = this;
    return budgetUsd === undefined ? undefined : Math.max(0.0001, budgetUsd - this.spentUsd);
  }

  spend(costUsd: number, tokens: number): void {
    this.spentUsd += costUsd;
    this.spentTokens += tokens;
    const { budgetUsd, budgetTokens } = this;
    const { runId, events, stop } = this.options;
    const spent = { runId, spentUsd: this.spentUsd, spentTokens: this.spentTokens };
    if (budgetUsd !== undefined && this.firstPast(0.8, 'usd', this.spentUsd, budgetUsd))
      events.emit('budget.warning', { ...spent, limit: 'usd', budgetUsd });
    if (budgetTokens !== undefined && this.firstPast(0.8, 'tokens', this.spentTokens, budgetTokens))
      events.emit('budget.warning', { ...spent, limit: 'tokens', budgetTokens });
    if (stop.stopped) return;
    if (budgetUsd !== undefined && this.spentUsd >= budgetUsd) {
      events.emit('budget.exceeded', { ...spent, limit: 'usd', budgetUsd });
      stop.abort(
        new BatonError(
          ErrorCodes.runBudgetExceeded,
          `the run spent ${formatUsd(this.spentUsd)} of its ${formatUsd(budgetUsd)} budget and was stopped`,
        ),
      );
    } else if (budgetTokens !== undefined && this.spentTokens >= budgetTokens) {
      events.emit('budget.exceeded', { ...spent, limit: 'tokens', budgetTokens });
      stop.abort(
        new BatonError(
          ErrorCodes.runBudgetExceeded,
          `the run used ${this.spentTokens} tokens, all that was left of tenant ${this.options.tenant()}'s daily token budget, and was stopped`,
        ),
      );
    }
  }

  /** True the first time `spent` reaches `share` of `budget` (each limit warns once). */
  private firstPast(share: number, limit: 'usd' | 'tokens', spent: number, budget: number): boolean {
    if (this.warned.has(limit) || spent < share * budget) return false;
    this.warned.add(limit);
    return true;
  }
}
