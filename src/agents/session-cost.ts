import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import { addUsage, emptyUsage, listPriceUsd, type Usage } from '../core/index.js';

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

/** A model response as Claude Code's transcript records it (once per content block, the last with the most tokens). */
const transcriptResponse = z.object({
  type: z.literal('assistant'),
  timestamp: z.string(),
  message: z.object({
    id: z.string(),
    model: z.string().optional(),
    usage: z.object({
      input_tokens: z.number().nullish(),
      output_tokens: z.number().nullish(),
      cache_read_input_tokens: z.number().nullish(),
      cache_creation_input_tokens: z.number().nullish(),
    }),
  }),
});

/**
 * What the model responses this session's transcript recorded from `sinceMs` on used, priced at list
 * price: for an attempt whose process died with its orchestrator, nothing else is left of its spend. A
 * response cut off before Claude Code recorded it is not there, so this is a lower estimate.
 */
export async function transcriptSpendSince(
  sessionId: string,
  cwd: string,
  env: Record<string, string | undefined>,
  sinceMs: number,
): Promise<{ usage: Usage; costUsd: number }> {
  const path = await transcriptPath(sessionId, cwd, env);
  const lines = path ? (await readFile(path, 'utf8').catch(() => '')).split('\n') : [];
  const responses = new Map<string, { model?: string; usage: Usage }>();
  for (const line of lines) {
    if (!line.includes('"assistant"')) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue; // a line cut short by the killed process
    }
    const entry = transcriptResponse.safeParse(parsed);
    if (!entry.success || Date.parse(entry.data.timestamp) < sinceMs) continue;
    const { id, model, usage } = entry.data.message;
    responses.set(id, {
      ...(model ? { model } : {}),
      usage: {
        inputTokens: usage.input_tokens ?? 0,
        outputTokens: usage.output_tokens ?? 0,
        cacheReadTokens: usage.cache_read_input_tokens ?? 0,
        cacheCreationTokens: usage.cache_creation_input_tokens ?? 0,
      },
    });
  }
  const all = [...responses.values()];
  return {
    usage: all.reduce((sum, r) => addUsage(sum, r.usage), emptyUsage()),
    costUsd: all.reduce((sum, r) => sum + listPriceUsd(r.model, r.usage), 0),
  };
}
