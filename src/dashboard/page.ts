import { formatUsd } from '../core/index.js';

/**
 * The web dashboard: one self-contained page (no build step, no external assets — it works offline).
 * Everything it shows is set through textContent, so agent output can never inject markup.
 */
export function dashboardPage(tenant: string | undefined): string {
  // A tenant's name is letters, digits, "-" and "_" (checked where it enters), so it needs no escaping.
  const viewer = tenant === undefined ? 'all tenants' : `tenant ${tenant}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Baton</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: 10px 20px; font-weight: 600; }
  header small { font-weight: 400; opacity: .7; margin-left: 8px; }
  main { display: grid; grid-template-columns: 1.3fr 1fr; gap: 16px; padding: 16px 20px; }
  section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 12px 14px; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: #5b6475; margin: 0 0 8px; }
  table { width: 100%; border-collapse: collapse; }
  td, th { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eef0f3; font-variant-numeric: tabular-nums; }
  tr[data-run-id] { cursor: pointer; }
  tr[data-run-id]:hover { background: #f0f4ff; }
  .status { font-weight: 600; }
  .succeeded { color: #1a7f37; } .failed, .partial { color: #cf222e; } .running, .pending, .queued { color: #9a6700; } .cancelled, .skipped { color: #6e7781; } .interrupted { color: #bc4c00; }
  #detail, #approvals { grid-column: 1 / -1; }
  .approval { border-top: 1px solid #eef0f3; padding: 8px 0; }
  .approval pre { white-space: pre-wrap; background: #fff8e5; padding: 6px 8px; border-radius: 4px; margin: 4px 0; }
  .approval input { width: 40%; margin-right: 6px; } .approval button { margin-right: 6px; }
  .agent, .merge, .mcp { border-top: 1px solid #eef0f3; padding: 8px 0; }
  .agent pre { white-space: pre-wrap; background: #f6f8fa; padding: 6px 8px; border-radius: 4px; margin: 4px 0; max-height: 160px; overflow: auto; }
  .bar { fill: #4f6bed; } .axis { font-size: 11px; fill: #5b6475; }
  .muted { color: #6e7781; }
  .attempt-error { color: #cf222e; }
  .tools td { font-size: 12px; max-width: 420px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
</style>
</head>
<body>
<header>Baton <small id="viewer">${viewer}</small><small id="live">connecting…</small></header>
<main>
  <section id="approvals"><h2>Waiting for you</h2><div id="waiting"><p class="muted">Nothing waits for you.</p></div></section>
  <section><h2>Runs</h2>
    <table><thead><tr><th>Workflow</th><th>Status</th><th>Agents</th><th>Tokens</th><th>Cost</th><th>Started</th></tr></thead><tbody id="runs"></tbody></table>
  </section>
  <section><h2>Cost per run (USD)</h2><svg id="chart" width="100%" height="170" role="img" aria-label="cost per run"></svg>
  </section>
  <section id="detail"><h2>Run</h2><p class="muted">Pick a run to see its MCP servers and its agents: prompts, results, usage and errors.</p></section>
</main>
<script>
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
// The one money format of every command, its source embedded (it is self-contained).
const usd = ${formatUsd.toString()};
// A cost part of which Baton estimated (attempts cut off before Claude Code reported theirs) reads ~$….
const cost = (c) => (c.estimatedCostUsd ? '~' : '') + usd(c.costUsd);
let selected = null;

async function answer(id, verdict, message) {
  const response = await fetch('/api/approvals/' + encodeURIComponent(id) + '/' + verdict, {
    // The dashboard's cookie (set by its login URL) authorises the action; the server checks the Origin.
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(message ? { message } : {}),
  });
  if (!response.ok) alert('Not answered: ' + (await response.json()).error.message);
  await refreshApprovals();
}

async function refreshApprovals() {
  const waiting = await fetch('/api/approvals').then((r) => r.json());
  const box = document.getElementById('waiting');
  if (!waiting.length) { box.replaceChildren(el('p', 'Nothing waits for you.', 'muted')); return; }
  box.replaceChildren(...waiting.map((request) => {
    const item = el('div', undefined, 'approval');
    item.dataset.approvalId = request.id;
    const who = request.agentId ? 'agent ' + request.agentId : 'phase ' + request.phaseId;
    const message = el('input'); message.placeholder = 'message for the agent (optional)'; message.className = 'message';
    const approve = el('button', 'Approve', 'approve'); approve.onclick = () => answer(request.id, 'approve', message.value);
    const deny = el('button', 'Deny', 'deny'); deny.onclick = () => answer(request.id, 'deny', message.value);
    item.append(el('strong', who), el('span', ' · run ' + request.runId.slice(0, 8) + (request.rule ? ' · rule ' + request.rule : '') + ' · deadline ' + new Date(request.deadline).toLocaleTimeString(), 'muted'),
      el('pre', request.summary, 'summary'), message, approve, deny);
    return item;
  }));
}

async function refresh() {
  const runs = await fetch('/api/runs').then((r) => r.json());
  const body = document.getElementById('runs');
  body.replaceChildren(...runs.map((run) => {
    const tr = el('tr');
    tr.dataset.runId = run.runId;
    tr.append(el('td', run.workflow), el('td', run.status, 'status ' + run.status), el('td', run.totals.succeeded + '/' + run.totals.agents),
      el('td', String(run.totals.inputTokens + run.totals.outputTokens)), el('td', cost(run.totals)), el('td', new Date(run.createdAt).toLocaleTimeString()));
    tr.onclick = () => { selected = run.runId; showRun(); };
    return tr;
  }));
  drawChart(runs.slice(0, 10).reverse());
  await refreshApprovals();
  if (selected) await showRun();
}

function drawChart(runs) {
  const svg = document.getElementById('chart');
  const width = svg.clientWidth || 400, height = 150, max = Math.max(0.0001, ...runs.map((r) => r.totals.costUsd));
  const ns = 'http://www.w3.org/2000/svg', barWidth = runs.length ? width / runs.length : 0;
  svg.replaceChildren(...runs.flatMap((run, i) => {
    const h = Math.max(1, (run.totals.costUsd / max) * (height - 20));
    const rect = document.createElementNS(ns, 'rect');
    Object.entries({ x: i * barWidth + 4, y: height - h, width: Math.max(2, barWidth - 8), height: h, class: 'bar' }).forEach(([k, v]) => rect.setAttribute(k, v));
    const title = document.createElementNS(ns, 'title'); title.textContent = run.workflow + ': ' + usd(run.totals.costUsd); rect.append(title);
    const label = document.createElementNS(ns, 'text');
    Object.entries({ x: i * barWidth + 4, y: height + 14, class: 'axis' }).forEach(([k, v]) => label.setAttribute(k, v));
    label.textContent = usd(run.totals.costUsd);
    return [rect, label];
  }));
  svg.setAttribute('height', String(height + 20));
}

async function showRun() {
  const response = await fetch('/api/runs/' + encodeURIComponent(selected));
  if (!response.ok) return;
  const run = await response.json();
  const detail = document.getElementById('detail');
  const head = el('h2', 'Run ' + run.runId + ' · ' + run.workflow);
  head.style.textTransform = 'none';
  const status = el('p'); status.append(el('span', run.status, 'status ' + run.status), el('span', ' · ' + run.totals.succeeded + '/' + run.totals.agents + ' agents · ' + tokens(run.totals) + ' · ' + cost(run.totals), 'muted'));
  detail.replaceChildren(head, status, mcpBox(run.mcpHealth), ...run.phases.filter((p) => p.merge).map((p) => mergeBox(p.merge)), ...run.agents.map((a) => {
    const box = el('div', undefined, 'agent');
    box.dataset.agentId = a.id;
    box.append(el('strong', a.id), el('span', ' (' + a.phaseId + ') ', 'muted'), el('span', a.status, 'status ' + a.status),
      el('span', ' · ' + tokens(a.usage) + ' · ' + cost(a) + ' · ' + (a.durationMs / 1000).toFixed(1) + 's · ' + a.attempts.length + ' attempt(s)', 'muted usage'),
      el('div', 'Prompt', 'muted'), el('pre', a.prompt, 'prompt'));
    if (a.now) box.append(nowLine(a.now));
    if (a.attempts.length) box.append(el('div', 'Attempts', 'muted'), attemptsTable(a.attempts));
    if (a.toolCalls.length) {
      const calls = el('table', undefined, 'tools');
      calls.append(...a.toolCalls.map((c) => {
        const tr = el('tr');
        tr.append(el('td', c.attempt + '.' + c.seq, 'muted'), el('td', 'turn ' + c.turn, 'muted'), el('td', c.name),
          el('td', c.status, 'status ' + (c.status === 'ok' ? 'succeeded' : c.status === 'error' ? 'failed' : c.status)),
          el('td', c.durationMs === undefined ? '…' : (c.durationMs / 1000).toFixed(2) + 's'), el('td', c.inputPreview, 'muted'));
        return tr;
      }));
      box.append(el('div', 'Tool calls', 'muted'), calls);
    }
    if (a.result !== null) box.append(el('div', 'Result', 'muted'), el('pre', a.result, 'result'));
    if (a.error) box.append(el('div', 'Error', 'muted'), el('pre', a.error.code + ': ' + a.error.message, 'error'));
    return box;
  }));
}

const tokens = (u) => u.inputTokens + ' in / ' + u.outputTokens + ' out tokens (cache ' + u.cacheReadTokens + ' read, ' + u.cacheCreationTokens + ' written)';

// What a running agent does now. The page is only redrawn when the store changes, which a long tool call
// does not do, so the line counts up on its own from when the page learnt the elapsed time.
function nowLine(now) {
  const line = el('div', undefined, 'now');
  line.dataset.tool = now.tool ?? 'thinking';
  line.dataset.since = String(Date.now() - now.elapsedMs);
  tickNow(line);
  return line;
}
function tickNow(line) {
  line.textContent = 'Now: ' + line.dataset.tool + ' (' + Math.round((Date.now() - Number(line.dataset.since)) / 1000) + 's)';
}
setInterval(() => document.querySelectorAll('#detail .now').forEach(tickNow), 1000);

// Every attempt of an agent: a retry's reason (a rate limit, an overload) stays visible after it succeeded.
function attemptsTable(attempts) {
  const table = el('table', undefined, 'attempts');
  table.append(...attempts.map((t) => {
    const tr = el('tr');
    tr.dataset.attempt = String(t.attempt);
    tr.append(el('td', 'attempt ' + t.attempt + (t.resumed ? ' (resumed)' : ''), 'muted'), el('td', t.status, 'status ' + t.status),
      el('td', cost(t)), el('td', t.error ? t.error.code + ': ' + t.error.message : '', 'attempt-error'));
    return tr;
  }));
  return table;
}

// The run's MCP servers as baton status shows them: each added up over the orchestrator and every worker.
function mcpBox(health) {
  const box = el('div', undefined, 'mcp');
  if (!health.length) { box.append(el('span', 'No MCP server health recorded for this run.', 'muted')); return box; }
  const table = el('table');
  table.append(...health.map((h) => {
    const tr = el('tr');
    tr.dataset.server = h.name;
    tr.append(el('td', h.name, 'server'), el('td', h.scope, 'muted'), el('td', 'breaker ' + h.breaker, 'breaker status ' + (h.breaker === 'closed' ? 'succeeded' : 'failed')),
      el('td', h.calls + ' call(s), ' + h.failures + ' failed', 'calls'), el('td', h.p50Ms === undefined ? '' : 'p50 ' + h.p50Ms.toFixed(1) + ' ms', 'p50'),
      el('td', h.crashes + ' crash(es), ' + h.restarts + ' restart(s)', 'crashes'), el('td', h.sources.join(', '), 'sources muted'),
      el('td', h.lastError ?? '', 'last-error'));
    return tr;
  }));
  box.append(el('div', 'MCP servers', 'muted'), table);
  return box;
}

// A merged worktree phase: its integration branch and head, and what became of each agent's branch.
function mergeBox(m) {
  const box = el('div', undefined, 'merge');
  box.dataset.phaseId = m.phaseId;
  box.append(el('strong', 'Merge of ' + m.phaseId), el('span', ' ' + m.status, 'status ' + m.status),
    el('span', ' · ' + m.into + ' at ' + m.head.slice(0, 10), 'muted'));
  if (m.error) box.append(el('pre', m.error.code + ': ' + m.error.message, 'error'));
  const verify = (v) => v ? (v.timedOut ? 'timed out' : 'exit ' + v.exitCode) : '';
  const table = el('table');
  table.append(...m.steps.map((step) => {
    const tr = el('tr');
    tr.dataset.agentId = step.agentId;
    tr.append(el('td', step.agentId), el('td', step.outcome, 'status ' + (step.outcome === 'skipped' ? 'failed' : 'succeeded')),
      el('td', [step.reason, step.conflictFiles ? 'conflict in ' + step.conflictFiles.join(', ') : '', step.resolver ? 'resolver ' + step.resolver.agentId + ' ' + step.resolver.status : ''].filter(Boolean).join(' · '), 'muted'),
      el('td', verify(step.verify)));
    tr.title = step.verify ? step.verify.outputTail : '';
    return tr;
  }));
  box.append(table);
  if (m.verified) box.append(el('div', 'Verified at ' + m.verified.head.slice(0, 10) + ': ' + verify(m.verified.verify) +
    (m.rebuilds ? ' (after leaving out ' + m.rebuilds + ' branch(es) by bisection)' : ''), 'muted verified'));
  if (m.pr) box.append(el('div', 'Pull request: ' + (m.pr.url || m.pr.skipped || 'gh exit ' + m.pr.exitCode), 'muted'));
  return box;
}

const events = new EventSource('/api/events');
events.addEventListener('update', () => { document.getElementById('live').textContent = 'live'; refresh(); });
events.onerror = () => { document.getElementById('live').textContent = 'reconnecting…'; };
</script>
</body>
</html>`;
}
