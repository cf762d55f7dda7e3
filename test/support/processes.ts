import { readdirSync, readFileSync } from 'node:fs';

/** Pids of live processes whose environment contains `marker` (e.g. a test's temp HOME). */
export function processesWithEnv(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (status.split(' ')[2] === 'Z') continue; // zombies hold no resources and are reaped by their parent
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}
