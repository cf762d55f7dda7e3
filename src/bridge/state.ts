import type { Clock } from '../core/index.js';
import { pathMatcher } from './glob.js';
import {
  eventPath,
  type BridgeEvent,
  type Diagnostic,
  type IdeEvent,
  type IdeEventType,
  type SubscriptionFilter,
} from './protocol.js';

/** What an agent wants to know about the IDE right now. */
export interface IdeState {
  /** Sequence number of the newest event: what this state reflects. */
  seq: number;
  openFiles: Array<{ path: string; language?: string; openedAt: number }>;
  /** The file the user was last in (opened or selected in). */
  activeFile?: string;
  selection?: { path: string; range: { start: Position; end: Position }; text?: string; at: number };
  diagnostics: DiagnosticsSummary;
  git?: { root?: string; branch?: string; files: Array<{ path: string; status: string }>; at: number };
  /** The newest output of each terminal, at most `terminalTailBytes` characters each. */
  terminals: Array<{ terminal: string; tail: string; at: number }>;
}

interface Position {
  line: number;
  character: number;
}

export interface DiagnosticsSummary {
  errors: number;
  warnings: number;
  infos: number;
  hints: number;
  files: Array<{ path: string; errors: number; warnings: number }>;
}

export interface FileDiagnostics {
  path: string;
  diagnostics: Diagnostic[];
  at: number;
}

export interface EventQuery extends SubscriptionFilter {
  /** Only events after this sequence number. */
  since?: number;
  /** At most this many, the newest ones. */
  limit?: number;
}

export interface BridgeStateOptions {
  /** How many recent events to keep for replay and `recent_changes` (default 2000). */
  retainEvents?: number;
  /** How much of each terminal's newest output to keep (default 4000 characters). */
  terminalTailChars?: number;
  clock: Clock;
}

/** Does the event pass the filter? Compiled once per subscription. */
export function eventFilter(filter: SubscriptionFilter): (event: IdeEvent) => boolean {
  const types = filter.types ? new Set<IdeEventType>(filter.types) : undefined;
  const paths = filter.paths ? pathMatcher(filter.paths) : undefined;
  return (event) => {
    if (types && !types.has(event.type)) return false;
    const path = eventPath(event);
    return !paths || path === undefined || paths(path);
  };
}

/**
 * The bridge's memory: the current IDE state (open files, selection, diagnostics per file, git
 * status, terminal tails) and a bounded ring of recent events, numbered in arrival order.
 */
export class BridgeState {
  private seq = 0;
  private readonly ring: Array<BridgeEvent | undefined>;
  private readonly openFiles = new Map<string, { path: string; language?: string; openedAt: number }>();
  private readonly diagnostics = new Map<string, FileDiagnostics>();
  private readonly terminals = new Map<string, { terminal: string; tail: string; at: number }>();
  private activeFile: string | undefined;
  private selection: IdeState['selection'];
  private git: IdeState['git'];
  private readonly terminalTailChars: number;

  constructor(private readonly options: BridgeStateOptions) {
    this.ring = new Array<BridgeEvent | undefined>(Math.max(1, options.retainEvents ?? 2000));
    this.terminalTailChars = options.terminalTailChars ?? 4000;
  }

  get latestSeq(): number {
    return this.seq;
  }

  /** The oldest sequence number still retained (latestSeq + 1 when nothing is). */
  get oldestSeq(): number {
    return Math.max(1, this.seq - this.ring.length + 1);
  }

  /** Records an event: numbers it, updates the state, keeps it in the ring. */
  apply(event: IdeEvent, source: string): BridgeEvent {
    const at = this.options.clock.now();
    const stored: BridgeEvent = { seq: ++this.seq, at, source, event };
    this.ring[stored.seq % this.ring.length] = stored;
    this.update(event, at);
    return stored;
  }

  private update(event: IdeEvent, at: number): void {
    switch (event.type) {
      case 'file.opened':
        this.openFiles.set(event.path, {
          path: event.path,
          ...(event.language ? { language: event.language } : {}),
          openedAt: at,
        });
        this.activeFile = event.path;
        break;
      case 'file.closed':
        this.openFiles.delete(event.path);
        if (this.activeFile === event.path) this.activeFile = undefined;
        break;
      case 'file.changed':
        if (event.change === 'deleted') {
          this.openFiles.delete(event.path);
          this.diagnostics.delete(event.path);
        }
        break;
      case 'selection.changed':
        this.selection = {
          path: event.path,
          range: event.range,
          ...(event.text !== undefined ? { text: event.text } : {}),
          at,
        };
        this.activeFile = event.path;
        break;
      case 'diagnostics.updated':
        if (event.diagnostics.length === 0) this.diagnostics.delete(event.path);
        else this.diagnostics.set(event.path, { path: event.path, diagnostics: event.diagnostics, at });
        break;
      case 'terminal.output': {
        const previous = this.terminals.get(event.terminal)?.tail ?? '';
        this.terminals.set(event.terminal, {
          terminal: event.terminal,
          tail: (previous + event.data).slice(-this.terminalTailChars),
          at,
        });
        break;
      }
      case 'git.changed':
        this.git = {
          ...(event.root ? { root: event.root } : {}),
          ...(event.branch ? { branch: event.branch } : {}),
          files: event.files,
          at,
        };
        break;
    }
  }

  /** Retained events matching the query, oldest first. */
  events(query: EventQuery = {}): BridgeEvent[] {
    const matches = eventFilter(query);
    const from = Math.max(this.oldestSeq, (query.since ?? 0) + 1);
    const found: BridgeEvent[] = [];
    for (let seq = from; seq <= this.seq; seq++) {
      const stored = this.ring[seq % this.ring.length]!;
      if (matches(stored.event)) found.push(stored);
    }
    return query.limit !== undefined ? found.slice(-query.limit) : found;
  }

  /** Current diagnostics, by file, optionally only files matching globs and at least a severity. */
  fileDiagnostics(options: { paths?: string[]; minSeverity?: Diagnostic['severity'] } = {}): FileDiagnostics[] {
    const matches = options.paths ? pathMatcher(options.paths) : () => true;
    const rank = severityRank[options.minSeverity ?? 'hint'];
    return [...this.diagnostics.values()]
      .filter((f) => matches(f.path))
      .map((f) => ({ ...f, diagnostics: f.diagnostics.filter((d) => severityRank[d.severity] <= rank) }))
      .filter((f) => f.diagnostics.length > 0)
      .sort((a, b) => a.path.localeCompare(b.path));
  }

  snapshot(): IdeState {
    const count = (list: Diagnostic[], severity: Diagnostic['severity']) =>
      list.filter((d) => d.severity === severity).length;
    const all = [...this.diagnostics.values()];
    const flat = all.flatMap((f) => f.diagnostics);
    return {
      seq: this.seq,
      openFiles: [...this.openFiles.values()],
      ...(this.activeFile ? { activeFile: this.activeFile } : {}),
      ...(this.selection ? { selection: this.selection } : {}),
      diagnostics: {
        errors: count(flat, 'error'),
        warnings: count(flat, 'warning'),
        infos: count(flat, 'info'),
        hints: count(flat, 'hint'),
        files: all
          .map((f) => ({
            path: f.path,
            errors: count(f.diagnostics, 'error'),
            warnings: count(f.diagnostics, 'warning'),
          }))
          .sort((a, b) => b.errors - a.errors || b.warnings - a.warnings || a.path.localeCompare(b.path)),
      },
      ...(this.git ? { git: this.git } : {}),
      terminals: [...this.terminals.values()],
    };
  }
}

const severityRank: Record<Diagnostic['severity'], number> = { error: 0, warning: 1, info: 2, hint: 3 };
