import { z } from 'zod';
import { day, durationMs, wrongTypeSays } from '../core/index.js';

/** One parsed rule: a tool name (or tool family) and what its specifier, if any, must match. */
export interface PermissionRule {
  /** The rule as written, for audit records and messages. */
  text: string;
  tool: string;
  specifier?: string;
}

/** Tools whose rules take a specifier, and what it means. */
const specifierKinds = new Set(['Bash', 'Read', 'Edit', 'Write', 'WebFetch']);

/**
 * Parses a rule in Claude Code's permission syntax: `Tool`, `Tool(specifier)`, `mcp__server`,
 * `mcp__server__tool`. Returns an error message instead when the rule cannot be understood.
 */
export function parseRule(text: string): PermissionRule | string {
  const trimmed = text.trim();
  const open = trimmed.indexOf('(');
  const tool = open === -1 ? trimmed : trimmed.slice(0, open);
  if (!/^[A-Za-z][A-Za-z0-9_-]*(\*)?$/.test(tool))
    return `"${text}" is not a rule: give a tool name, e.g. Bash, Edit(src/**), mcp__github__create_issue`;
  // A rule that could never match would leave a deny silently unenforced.
  if (tool.endsWith('*') && !/^mcp__[A-Za-z0-9_-]+?__/.test(tool))
    return `"${text}": a * goes only at the end of an MCP tool name (mcp__github__*, mcp__github__get_*); write ${tool.slice(0, -1) || 'the tool name'}`;
  if (open === -1) return { text: trimmed, tool };
  if (!trimmed.endsWith(')')) return `"${text}" is missing its closing ")"`;
  const specifier = trimmed.slice(open + 1, -1).trim();
  if (specifier === '') return { text: trimmed, tool };
  if (!specifierKinds.has(tool))
    return `"${text}": only ${[...specifierKinds].join(', ')} rules take a (specifier); write just ${tool}`;
  if (tool === 'WebFetch' && !/^domain:[^\s/]+$/.test(specifier))
    return `"${text}": a WebFetch rule names a domain, e.g. WebFetch(domain:example.com)`;
  return { text: trimmed, tool, specifier };
}

/** One rule, checked as it will be matched: a rule that does not parse would never deny anything. */
export const ruleSchema = z.string().superRefine((text, ctx) => {
  const rule = parseRule(text);
  if (typeof rule === 'string') ctx.addIssue({ code: 'custom', message: rule });
});

const ruleList = z.array(ruleSchema, wrongTypeSays('a list of rules, such as ["Bash(rm -rf:*)"]'));

/** What happens to a call no rule matches. */
export const permissionDefaultSchema = z.enum(['deny', 'ask']);

/** `permissions:` in a workflow (defaults, phase, agent) or in the config. */
export const permissionsSchema = z
  .object({
    allow: ruleList.optional(),
    ask: ruleList.optional(),
    deny: ruleList.optional(),
    /** For calls no rule matches: deny (as before permissions existed) or ask a person. */
    default: permissionDefaultSchema.optional(),
    /** How long an `ask` waits for a person (default 1 hour; 1 ms to 24 days). */
    approvalTimeoutMs: durationMs(1, 24 * day).optional(),
    /** When nobody answered in time: deny the call (the agent goes on) or fail the agent. */
    onTimeout: z.enum(['deny', 'fail']).optional(),
  })
  .strict();

export type PermissionsInput = z.output<typeof permissionsSchema>;

/** The rules that apply to one agent, every level merged: plain data, so it can travel to a worker. */
export interface PermissionPolicy {
  allow: string[];
  ask: string[];
  deny: string[];
  default: 'deny' | 'ask';
  approvalTimeoutMs: number;
  onTimeout: 'deny' | 'fail';
}

const DEFAULT_APPROVAL_TIMEOUT_MS = 3_600_000;

/**
 * Merges permission blocks from the broadest (config) to the most specific (agent): rule lists add
 * up, the most specific `default`, `approvalTimeoutMs` and `onTimeout` win. `allowedTools` and
 * `disallowedTools` are allow and deny rules.
 */
export function mergePermissions(
  levels: Array<PermissionsInput | undefined>,
  tools: { allowedTools?: string[]; disallowedTools?: string[] } = {},
): PermissionPolicy {
  const given = levels.filter((level): level is PermissionsInput => level !== undefined);
  const last = <K extends 'default' | 'approvalTimeoutMs' | 'onTimeout'>(key: K): PermissionsInput[K] =>
    given.reduce<PermissionsInput[K]>((value, level) => level[key] ?? value, undefined);
  return {
    allow: [...given.flatMap((l) => l.allow ?? []), ...(tools.allowedTools ?? [])],
    ask: given.flatMap((l) => l.ask ?? []),
    deny: [...given.flatMap((l) => l.deny ?? []), ...(tools.disallowedTools ?? [])],
    default: last('default') ?? 'deny',
    approvalTimeoutMs: last('approvalTimeoutMs') ?? DEFAULT_APPROVAL_TIMEOUT_MS,
    onTimeout: last('onTimeout') ?? 'deny',
  };
}
