import type { Store } from '../store/index.js';

/**
 * Where a phase's worktrees start: the integration head of the nearest merged phase among `ancestors`
 * (the phases it depends on, nearest last), or undefined for the repository's HEAD.
 */
export async function integrationHead(store: Store, runId: string, ancestors: string[]): Promise<string | undefined> {
  if (ancestors.length === 0) return undefined;
  const reports = await store.listMergeReports(runId);
  for (const phaseId of [...ancestors].reverse()) {
    const report = reports.find((r) => r.phaseId === phaseId && r.createdBranch);
    if (report) return report.head;
  }
  return undefined;
}
