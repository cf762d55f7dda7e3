import { readFileSync } from 'node:fs';
import { listProcesses } from '../../src/core/index.js';

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
  // Zombies hold no resources and are reaped by their parent.
  return listProcesses()
    .filter(({ pid, state }) => {
      try {
        return state !== 'Z' && readFileSync(`/proc/${pid}/environ`, 'utf8').includes(marker);
      } catch {
        return false; // the process exited while we looked
      }
    })
    .map(({ pid }) => pid);
}

/** The server name Baton marked a live process with (`BATON_MCP_SERVER`), if it has one. */
export function mcpServerOf(pid: number): string | undefined {
  try {
    const marker = readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .find((v) => v.startsWith('BATON_MCP_SERVER='));
    return marker?.slice('BATON_MCP_SERVER='.length);
  } catch {
    return undefined; // it exited while we looked
  }
}

/**
 * MCP server processes Baton started for a test, still alive: they carry BATON_MCP_SERVER=<name>
 * besides the test's `marker` (e.g. its temp HOME), and so does whatever a server started;
 * `server` narrows them to one server's.
 */
export function mcpServerProcessesWithEnv(marker: string, server?: string): number[] {
  const ours = new Set(processesWithEnv(marker));
  // Each variable of /proc/<pid>/environ ends with a NUL, so a whole name matches and no longer one.
  return processesWithEnv(server === undefined ? 'BATON_MCP_SERVER=' : `BATON_MCP_SERVER=${server}\0`).filter((pid) =>
    ours.has(pid),
  );
}
