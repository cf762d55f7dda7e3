import { cpus } from 'node:os';

/** The machine's CPU time so far, all cores added up, in milliseconds. */
export interface CpuTimes {
  idleMs: number;
  totalMs: number;
  cores: number;
}

export function machineCpuTimes(): CpuTimes {
  const all = cpus();
  let idleMs = 0;
  let totalMs = 0;
  for (const { times } of all) {
    idleMs += times.idle;
    totalMs += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idleMs, totalMs, cores: all.length };
}

/** Below this much CPU time between two readings the counters are too coarse (10 ms ticks) to say anything. */
const MIN_WINDOW_MS_PER_CORE = 100;

/**
 * How many cores the machine left idle since it was last asked: the share of CPU time spent idle
 * between two readings of the kernel's counters (`os.cpus()`, /proc/stat on Linux), times the cores.
 * Asked again within ≈ 100 ms, it repeats its last answer. The first answer is undefined (nothing to
 * compare with yet). On a container limited by a CPU quota the counters are the host's.
 */
export class IdleCpuMeter {
  private last?: CpuTimes;
  private answer?: number;

  constructor(private readonly read: () => CpuTimes = machineCpuTimes) {}

  idleCores(): number | undefined {
    const now = this.read();
    const last = this.last;
    if (!last) {
      this.last = now;
      return undefined;
    }
    const total = now.totalMs - last.totalMs;
    if (total < MIN_WINDOW_MS_PER_CORE * now.cores) return this.answer;
    this.last = now;
    this.answer = ((now.idleMs - last.idleMs) / total) * now.cores;
    return this.answer;
  }
}
