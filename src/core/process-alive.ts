import { readdirSync, readFileSync } from 'node:fs';

/** Whether a process of this host with this pid exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it is there, only not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The fields of /proc/<pid>/stat after the command name, from the state on (throws without one):
 * "pid (comm) state ppid …", where comm may hold spaces and parentheses, so it is read after its last ')'.
 */
function statFieldsOf(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Clock ticks per second of /proc's times: USER_HZ, 100 on every Linux architecture Node runs on. */
const USER_HZ = 100;

/** When a process of this host started (ms since the epoch), from /proc; undefined without one. */
export function processStartedAt(pid: number): number | undefined {
  try {
    const startTicks = Number(statFieldsOf(pid)[19]);
    const bootLine = readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .find((line) => line.startsWith('btime '));
    const bootSeconds = Number(bootLine?.split(' ')[1]);
    if (!Number.isFinite(startTicks) || !Number.isFinite(bootSeconds)) return undefined;
    return bootSeconds * 1000 + (startTicks * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/**
 * A process is taken as older than a moment this close after it: /proc's boot time has whole seconds,
 * and a wall clock stepped forward since (NTP, a VM resumed) shifts start times computed from it.
 */
const START_TIME_SLACK_MS = 30_000;

/**
 * Whether the process with this pid is alive and is one that was already running at `runningAt`: pids
 * get reused, and a process started later is someone else (never signal it). Where start times
 * cannot be read, a live pid is taken as that process.
 */
export function processAliveSince(pid: number, runningAt: number): boolean {
  if (!processAlive(pid)) return false;
  const startedAt = processStartedAt(pid);
  return startedAt === undefined || startedAt <= runningAt + START_TIME_SLACK_MS;
}
/** A process of this host as /proc shows it. */
export interface ProcessEntry {
  pid: number;
  /** `R`, `S`, … `Z` for a zombie. */
  state: string;
  ppid: number;
  pgrp: number;
}

/** Every process of this host, read from /proc (none where there is no /proc). */
export function listProcesses(): ProcessEntry[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    try {
      const [state, ppid, pgrp] = statFieldsOf(Number(entry));
      return [{ pid: Number(entry), state: state!, ppid: Number(ppid), pgrp: Number(pgrp) }];
    } catch {
      return []; // it exited while we looked
    }
  });
}

/**
 * The processes started by `pid`, and by those in turn (none where there is no /proc). Taken while
 * `pid` lives: once it dies its children are re-parented and no longer traceable to it.
 */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const { pid: child, ppid } of listProcesses()) children.set(ppid, [...(children.get(ppid) ?? []), child]);
  const found: number[] = [];
  const visit = (parent: number): void => {
    for (const child of children.get(parent) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

/** SIGKILLs these processes, each that is still there. */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
