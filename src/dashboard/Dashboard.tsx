import { Box, Text, useInput } from 'ink';
import { useRef, useState } from 'react';
import { formatUsd } from '../core/index.js';
import type { DashboardSnapshot } from './snapshot.js';

const WIDTH = 10;

/** `■■■■■■■□□□`: a share (0..1) as a ten-cell bar, as in the roadmap's dashboard. */
export function bar(share: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, share)) * WIDTH);
  return '■'.repeat(filled) + '□'.repeat(WIDTH - filled);
}

const kb = (bytes: number): string => `${Math.round(bytes / 1000)}KB`;
const percent = (share: number | undefined): string => (share === undefined ? '—' : `${Math.round(share * 100)}%`);
const duration = (ms: number | undefined): string =>
  ms === undefined ? '—' : ms < 60_000 ? `${Math.round(ms / 1000)}s` : `${(ms / 60_000).toFixed(1)}m`;

const firstLine = (text: string): string => (text.split('\n')[0] ?? '').slice(0, 60);

/**
 * Requests waiting for a person. With `onAnswer` (an interactive terminal) ↑/↓ pick one, `a`
 * approves and `d` denies it.
 */
function Waiting({
  waiting,
  onAnswer,
}: {
  waiting: DashboardSnapshot['waiting'];
  onAnswer?: (id: string, approve: boolean) => void;
}) {
  const [, redraw] = useState(0);
  // A ref, not only state: keys typed quickly must act on the row picked by the key before them.
  const picked = useRef(0);
  const current = Math.min(picked.current, Math.max(0, waiting.length - 1));
  const pick = (index: number): void => {
    picked.current = Math.min(Math.max(0, index), waiting.length - 1);
    redraw((n) => n + 1);
  };
  useInput(
    (input, key) => {
      const at = Math.min(picked.current, waiting.length - 1);
      if (key.upArrow) pick(at - 1);
      else if (key.downArrow) pick(at + 1);
      else if ((input === 'a' || input === 'd') && waiting[at]) onAnswer?.(waiting[at].id, input === 'a');
    },
    { isActive: onAnswer !== undefined && waiting.length > 0 },
  );
  if (waiting.length === 0) return null;
  return (
    <Box flexDirection="column">
      <Text bold color="yellow">
        Waiting for you: {waiting.length}
      </Text>
      {waiting.map((w, i) => (
        <Text key={w.id} inverse={onAnswer !== undefined && i === current}>
          {onAnswer !== undefined && i === current ? '› ' : ''}
          {w.id} {w.who}: {firstLine(w.summary)}
        </Text>
      ))}
      <Text dimColor>{onAnswer ? '↑/↓ pick · a approve · d deny' : 'baton approve|deny <id>'}</Text>
    </Box>
  );
}

/**
 * Each MCP server's health over the run, as `baton status` shows it: the bar is the share of calls that
 * succeeded; then the breaker and p50, any crashes and restarts, the gateways that reported it, the last error.
 */
function McpHealth({ servers }: { servers: DashboardSnapshot['mcp'] }) {
  return (
    <Box flexDirection="column">
      <Text bold>MCP Servers:</Text>
      {servers.length === 0 ? <Text dimColor> none used yet</Text> : null}
      {servers.map((m) => (
        <Box key={m.name} flexDirection="column">
          <Text>
            {/* No calls yet: nothing has succeeded, so the bar stays empty. */}
            {bar(m.calls ? 1 - m.failures / m.calls : 0)} {m.name} {m.calls} call(s), {m.failures} failed
          </Text>
          <Box flexDirection="column" paddingLeft={2}>
            <Text dimColor>
              breaker {m.breaker}
              {m.p50Ms === undefined ? '' : ` · p50 ${m.p50Ms.toFixed(1)} ms`}
            </Text>
            {m.crashes || m.restarts ? (
              <Text color="yellow">
                {m.crashes} crash(es), {m.restarts} restart(s)
              </Text>
            ) : null}
            <Text dimColor>via {m.sources.join(', ')}</Text>
            {m.lastError ? <Text color="red">last error: {firstLine(m.lastError)}</Text> : null}
          </Box>
        </Box>
      ))}
    </Box>
  );
}

/** The roadmap's "Agent Orchestration" box, for one run. */
export function Dashboard({
  snapshot,
  onAnswer,
}: {
  snapshot: DashboardSnapshot;
  onAnswer?: (id: string, approve: boolean) => void;
}) {
  const s = snapshot;
  return (
    <Box flexDirection="column" borderStyle="single" width={48} paddingX={1}>
      <Text bold>Agent Orchestration</Text>
      <Text>
        {s.workflow} · {s.status}
      </Text>
      <Text dimColor>run {s.runId}</Text>
      <Box>
        <Box width={22}>
          <Text>Active: {s.active}</Text>
        </Box>
        <Text>Queue: {s.queued}</Text>
      </Box>
      <Box>
        <Box width={22}>
          <Text>Success: {percent(s.successRate)}</Text>
        </Box>
        <Text>Avg Time: {duration(s.avgDurationMs)}</Text>
      </Box>
      <Text>
        Done: {s.succeeded + s.failed}/{s.agents} ({s.failed} failed)
      </Text>
      {s.running.map((a) => (
        <Text key={a.agentId}>
          ▶ {a.agentId}: {a.tool ?? 'thinking'} ({duration(a.elapsedMs)})
        </Text>
      ))}
      <McpHealth servers={s.mcp} />
      {/* The store keeps no run's context_size_limit: the limit is the one this dashboard's config sets. */}
      <Text>
        Context Size: {kb(s.contextBytes)} / {kb(s.contextLimitBytes)} (your config)
      </Text>
      <Text>
        Token Usage: {s.tokens.toLocaleString('en-US')} · {formatUsd(s.costUsd)}
        {s.budgetUsd !== undefined ? ` / $${s.budgetUsd}` : ''}
      </Text>
      <Waiting waiting={s.waiting} {...(onAnswer ? { onAnswer } : {})} />
    </Box>
  );
}
