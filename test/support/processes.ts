import { readdirSync, readFileSync } from 'node:fs';

/**
 * Agent processes (claude, and whatever it started) of a test: they carry Baton's agent environment
 * (CLAUDE_CODE_MAX_RETRIES) besides the test's `marker`; Baton's own processes and their helpers
 * (tsx's esbuild service when the CLI runs from source) do not.
 */
export function agentProcessesWithEnv(marker: string): number[] {
  const agents = new Set(processesWithEnv('CLAUDE_CODE_MAX_RETRIES='));
  return processesWithEnv(marker).filter((pid) => agents.has(pid));
}

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

/**
 * MCP server processes Baton started for a test (they carry BATON_MCP_SERVER=<name> besides the test's
 * `marker`); `server` narrows them to one server's.
 */
export function mcpServerProcessesWithEnv(marker: string, server?: string): number[] {
  const ours = new Set(processesWithEnv(marker));
  // Each variable of /proc/<pid>/environ ends with a NUL, so a whole name matches and no longer one.
  return processesWithEnv(server === undefined ? 'BATON_MCP_SERVER=' : `BATON_MCP_SERVER=${server}\0`).filter((pid) =>
    ours.has(pid),
  );
}
