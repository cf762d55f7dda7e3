import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { killProcessesWithEnvEntry } from '../core/index.js';

/**
 * The watchdog's whole program, in POSIX sh (builtins only while it waits: it starts in ≈ 1 ms, where
 * a Node watchdog took 0.05 CPU-s of every run): it reads "+-<pgid>" and "--<pgid>" lines on stdin (a
 * process group added, released) and "+=<NAME=value>" and "-=<NAME=value>" (processes carrying that
 * environment entry, wherever they are: one that left its group with `setsid`; entries hold no
 * spaces). When stdin closes — Baton exited, or was killed with SIGKILL and could not clean up — it
 * kills every group still registered, then every process carrying a registered entry (one `grep -z`
 * over every /proc/<pid>/environ, for all entries at once: a fork per process took seconds on a busy
 * machine with hundreds of processes; `-z` takes the environment's NUL-separated entries as lines),
 * again while any are found, as `killProcessesWithEnvEntry` does (one may fork between the look and
 * the kill), then exits.
 */
const watchdogProgram = `
targets=
marks=
while read -r line; do
  case "$line" in
    +=*) marks="$marks \${line#+=}" ;;
    -=*) kept=; for m in $marks; do [ "$m" = "\${line#-=}" ] || kept="$kept $m"; done; marks=$kept ;;
    +*) targets="$targets \${line#+}" ;;
    -*) kept=; for t in $targets; do [ "$t" = "\${line#-}" ] || kept="$kept $t"; done; targets=$kept ;;
  esac
done
for t in $targets; do kill -s KILL -- "$t" 2>/dev/null; done
if [ -n "$marks" ]; then
  PATH=\${PATH:-/usr/bin:/bin}
  patterns=; for m in $marks; do patterns="$patterns -e $m"; done
  pass=0
  while [ $pass -lt 10 ]; do
    found=$(grep -lszxF $patterns /proc/[0-9]*/environ)
    [ -n "$found" ] || break
    for environ in $found; do
      pid=\${environ#/proc/}; pid=\${pid%/environ}
      kill -s KILL "$pid" 2>/dev/null
    done
    pass=$((pass + 1))
  done
fi
exit 0
`;

/**
 * Makes the agent processes of this Baton process die with it. Agents (and the MCP servers Baton
 * starts itself, and merge verify commands) run in their own process groups (so a kill reaches
 * their children), which also means nothing ends them when the orchestrator or worker dies; a
 * watchdog holding a pipe from this process does, within moments.
 */
class AgentReaper {
  private watchdog?: ChildProcess;

  watch(pgid: number): void {
    this.send(`+-${pgid}\n`);
  }

  release(pgid: number): void {
    this.send(`--${pgid}\n`);
  }

  /** Also kills, when this process dies, every process whose environment holds `entry` (`NAME=value`, no spaces). */
  watchMarked(entry: string): void {
    this.send(`+=${entry}\n`);
  }

  releaseMarked(entry: string): void {
    this.send(`-=${entry}\n`);
  }

  /**
   * Starts the watchdog, if it is not running: called before spawning what `watch` will register, so
   * that the register follows the spawn at once, not after starting a watchdog (tens of ms on a busy
   * machine, in which a SIGKILL would leave the new process unwatched).
   */
  ready(): void {
    this.start();
  }

  private send(line: string): void {
    const stdin = this.start().stdin;
    if (stdin?.writable) stdin.write(line);
  }

  private start(): ChildProcess {
    if (this.watchdog && this.watchdog.exitCode === null) return this.watchdog;
    // Its own process group: a Ctrl-C to Baton's group must not take the watchdog down with it.
    // An empty environment: it holds no secret, and is not mistaken for an agent of this Baton.
    const watchdog = spawn('/bin/sh', ['-c', watchdogProgram], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
      env: {},
    });
    watchdog.on('error', () => undefined); // no watchdog: agents are still stopped by every normal path
    watchdog.stdin?.on('error', () => undefined);
    // Neither the watchdog nor its pipe may keep Baton running.
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    this.watchdog = watchdog;
    return watchdog;
  }
}

/** One watchdog per Baton process, for every agent it starts. */
export const agentReaper = new AgentReaper();

/**
 * An id for the environment of a process Baton starts (an agent, an MCP server, a verify command),
 * which everything it starts inherits: what leaves its process group on purpose (`setsid`, a double
 * fork) is still known by it. Registered with the watchdog when made, so it dies with Baton too;
 * `kill` ends every process carrying it, `release` lets the watchdog forget it.
 */
export class ProcessTreeMark {
  private readonly value = randomUUID();

  constructor(private readonly variable: string) {
    agentReaper.watchMarked(this.entry);
  }

  /** What goes into the process's environment. */
  get env(): Record<string, string> {
    return { [this.variable]: this.value };
  }

  kill(): void {
    killProcessesWithEnvEntry(this.entry);
  }

  release(): void {
    agentReaper.releaseMarked(this.entry);
  }

  private get entry(): string {
    return `${this.variable}=${this.value}`;
  }
}
