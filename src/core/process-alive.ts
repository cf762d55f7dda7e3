import { readdirSync, readFileSync } from 'node:fs';

/**
 * Whether a process of this host with this pid exists and runs (signal 0 checks without signalling).
 * A zombie — killed, not yet reaped by its parent — answers signal 0 but will never act again.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it is there, only not ours to signal.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    return statFieldsOf(pid)[0] === 'Z';
  } catch {
    return false; // no /proc (macOS): signal 0 is all there is to go by
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
  return processIds().flatMap((pid) => {
    try {
      const [state, ppid, pgrp] = statFieldsOf(pid);
      return [{ pid, state: state!, ppid: Number(ppid), pgrp: Number(pgrp) }];
    } catch {
      return []; // it exited while we looked
    }
  });
}

/** Pids of this host's processes, from /proc's entries (none where there is no /proc). */
function processIds(): number[] {
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number);
  } catch {
    return [];
  }
}

/** Sends `signal` to every process of process group `pgid`; false when the group is gone (ESRCH). */
export function signalProcessGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Whether any process, zombies included, is in process group `pgid`: one system call. */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Whether any live (not zombie) process is in process group `pgid`, read from /proc. Reading the
 * state of every process on the machine costs milliseconds, so an empty group (the usual end) is
 * told by `groupExists` first.
 */
export function processGroupAlive(pgid: number): boolean {
  return groupExists(pgid) && listProcesses().some((p) => p.state !== 'Z' && p.pgrp === pgid);
}

/**
 * Waits until no live process is left in group `pgid`, for at most `withinMs`: a signal is delivered
 * asynchronously, so a killed group's members can outlive the call that killed them by a moment.
 * True when the group is gone.
 */
export async function processGroupExited(pgid: number, withinMs: number): Promise<boolean> {
  for (let waited = 0; processGroupAlive(pgid); waited += 25) {
    if (waited >= withinMs) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

/**
 * Pids of this host's live processes whose environment holds `entry` (`NAME=value`), however far they
 * left their parent's process group or session: an environment is inherited across `setsid` and a
 * double fork. Zombies (their environment is gone) and other users' processes (unreadable) are not found.
 */
export function processesWithEnvEntry(entry: string): number[] {
  // Each process's environment only, not its state too: a zombie's reads empty. One file per process
  // (≈ 45 µs each, on the event loop) at every agent's exit counts on a machine of a thousand processes.
  return processIds().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry);
    } catch {
      return false; // it exited while we looked
    }
  });
}

/**
 * SIGKILLs every process of this host carrying `entry` (`NAME=value`) in its environment: what a
 * command Baton started left outside its process group (`setsid`, a daemon's double fork). Again
 * while any are found: one may have forked between the look and the kill (a killed process forks no
 * more, so this ends).
 */
export function killProcessesWithEnvEntry(entry: string): void {
  for (let pass = 0; pass < 10; pass++) {
    const found = processesWithEnvEntry(entry);
    if (found.length === 0) return;
    for (const pid of found) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}
