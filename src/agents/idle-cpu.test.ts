import { describe, expect, it } from 'vitest';
import { IdleCpuMeter, machineCpuTimes, type CpuTimes } from './idle-cpu.js';

describe('IdleCpuMeter', () => {
  it('says how many cores were idle between two readings, and repeats itself when asked again at once', () => {
    const readings: CpuTimes[] = [
      { idleMs: 0, totalMs: 0, cores: 2 },
      { idleMs: 300, totalMs: 1000, cores: 2 }, // 500 ms of two cores, 300 ms of them idle
      { idleMs: 310, totalMs: 1050, cores: 2 }, // 25 ms later: too short to tell
      { idleMs: 310, totalMs: 1450, cores: 2 }, // then 200 ms with both cores busy
    ];
    const meter = new IdleCpuMeter(() => readings.shift()!);
    expect(meter.idleCores()).toBeUndefined();
    expect(meter.idleCores()).toBeCloseTo(0.6);
    expect(meter.idleCores()).toBeCloseTo(0.6);
    expect(meter.idleCores()).toBeCloseTo((10 / 450) * 2);
  });

  it("reads this machine's counters", () => {
    const times = machineCpuTimes();
    expect(times.cores).toBeGreaterThan(0);
    expect(times.idleMs).toBeGreaterThan(0);
    expect(times.totalMs).toBeGreaterThan(times.idleMs);
  });
});
