import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';

/** Where Claude Code keeps this session's transcript, if it has one. */
async function transcriptPath(
  sessionId: string,
  cwd: string,
  env: Record<string, string | undefined>,
): Promise<string | undefined> {
  const configDir = env.CLAUDE_CONFIG_DIR ?? join(env.HOME ?? homedir(), '.claude');
  const projects = join(configDir, 'projects');
  // Claude Code names a project's folder after its cwd; look there first, then in every folder.
  const likely = join(projects, cwd.replace(/[^a-zA-Z0-9]/g, '-'), `${sessionId}.jsonl`);
  if (existsSync(likely)) return likely;
  try {
    const folders = await readdir(projects);
    return folders.map((folder) => join(projects, folder, `${sessionId}.jsonl`)).find((path) => existsSync(path));
  } catch {
    return undefined;
  }
}

/** Whether Claude Code has a transcript of this session, i.e. whether it can be resumed. */
export async function sessionTranscriptExists(
  sessionId: string,
  cwd: string,
  env: Record<string, string | undefined>,
): Promise<boolean> {
  return (await transcriptPath(sessionId, cwd, env)) !== undefined;
}

const costState = z.object({ type: z.literal('cost-state'), sessionId: z.string(), totalCostUSD: z.number() });

/**
 * The cost Claude Code will restore when it resumes (or forks) this session: the last `cost-state`
 * line of its transcript, 0 without one. A resumed process reports that amount again in its
 * `total_cost_usd`, so Baton takes it off to count each attempt's spend once.
 */
export async function restoredSessionCostUsd(
  sessionId: string,
  cwd: string,
  env: Record<string, string | undefined>,
): Promise<number> {
  const path = await transcriptPath(sessionId, cwd, env);
  if (!path) return 0;
  const lines = (await readFile(path, 'utf8').catch(() => '')).split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i]!.includes('"cost-state"')) continue;
    try {
      const state = costState.safeParse(JSON.parse(lines[i]!));
      if (state.success && state.data.sessionId === sessionId) return state.data.totalCostUSD;
    } catch {
      // A line cut short by a killed process: look further back.
    }
  }
  return 0;
}

/**
 * What this process spent itself. `usage` counts this process's turns only, while `modelUsage` and
 * `total_cost_usd` start from what Claude Code restored; only when they show a restore is it taken off.
 */
export function ownCostUsd(result: SDKResultMessage, restoredUsd: number): number {
  const own = result.usage.input_tokens + result.usage.output_tokens;
  const session = Object.values(result.modelUsage ?? {}).reduce((n, m) => n + m.inputTokens + m.outputTokens, 0);
  const restored = session > own ? restoredUsd : 0;
  return Math.max(0, result.total_cost_usd - restored);
}
