/** What an agent waiting for a slot says about itself. */
export interface SlotRequest {
  tenant: string;
  /** Higher goes first. */
  priority: number;
  /** Aborting it takes the agent out of the queue (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

export interface AgentSchedulerOptions {
  /** Most agents running at once, over every run that shares this scheduler. */
  limit: number;
  /** Most agents of one tenant running at once; tenants not listed are bounded by `limit` only. */
  tenantLimits?: Record<string, number>;
}

interface Waiter {
  request: SlotRequest;
  seq: number;
  grant: (release: () => void) => void;
}

/**
 * The queue agents wait in for a slot: at most `limit` run at once (a global semaphore, not per
 * phase), waiting agents start by priority then age, and a tenant over its own limit waits while
 * others go ahead. One scheduler can be shared by several runs in a process.
 */
export class AgentScheduler {
  private running = 0;
  private readonly runningByTenant = new Map<string, number>();
  /** Kept sorted: priority descending, then arrival. */
  private readonly queue: Waiter[] = [];
  private seq = 0;

  constructor(private readonly options: AgentSchedulerOptions) {}

  /** Agents waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Agents holding a slot. */
  get active(): number {
    return this.running;
  }

  /** Whether an agent asking now would start at once. */
  hasFreeSlot(tenant: string): boolean {
    return this.queue.length === 0 && this.fits(tenant);
  }

  async run<T>(request: SlotRequest, work: () => Promise<T>): Promise<T> {
    const release = await this.acquire(request);
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Resolves with a release function once the agent may start. */
  acquire(request: SlotRequest): Promise<() => void> {
    const { signal } = request;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        request,
        seq: this.seq++,
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = (): void => {
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        if (signal) reject(abortReason(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.splice(this.insertionPoint(waiter), 0, waiter);
      this.pump();
    });
  }

  private insertionPoint(waiter: Waiter): number {
    let low = 0;
    let high = this.queue.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.queue[mid]!.request.priority >= waiter.request.priority) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private fits(tenant: string): boolean {
    const tenantLimit = this.options.tenantLimits?.[tenant];
    return (
      this.running < this.options.limit &&
      (tenantLimit === undefined || (this.runningByTenant.get(tenant) ?? 0) < tenantLimit)
    );
  }

  private pump(): void {
    for (let i = 0; i < this.queue.length && this.running < this.options.limit;) {
      const waiter = this.queue[i]!;
      const { tenant } = waiter.request;
      if (!this.fits(tenant)) {
        i++; // this tenant is at its limit: the next waiter of another tenant may go
        continue;
      }
      this.queue.splice(i, 1);
      this.running++;
      this.runningByTenant.set(tenant, (this.runningByTenant.get(tenant) ?? 0) + 1);
      let released = false;
      waiter.grant(() => {
        if (released) return;
        released = true;
        this.running--;
        this.runningByTenant.set(tenant, (this.runningByTenant.get(tenant) ?? 1) - 1);
        this.pump();
      });
    }
  }
}

/** Why a wait was aborted, as an Error (the run aborts with a BatonError; anything else is wrapped). */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(String(reason));
}
