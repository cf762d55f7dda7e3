/**
 * The vitest-free half of the NOT RUN mechanism (programs.ts is the half suites call): the programs,
 * how to find one on PATH, and the reporter that lists suites NOT RUN after vitest's own summary.
 * vitest.config.ts loads this file, so it must not import `vitest` itself.
 */
import { accessSync, constants, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Reporter } from 'vitest/reporters';

/** Each program and the one command that installs it on Debian/Ubuntu (what .ci/run does). */
export const systemPrograms = {
  'redis-server': 'sudo apt-get install -y redis-server',
  nvim: 'sudo apt-get install -y neovim',
  chromium: 'sudo apt-get install -y chromium',
  git: 'sudo apt-get install -y git',
} as const;

export type SystemProgram = keyof typeof systemPrograms;

/** The environment variable that turns a missing program into a failure (.ci/run sets it). */
export const requireAllVariable = 'BATON_TEST_REQUIRE_ALL';
/** Where suites record what they could not run; vitest.config.ts sets it, the reporter reads it. */
export const notRunFileVariable = 'BATON_TEST_NOT_RUN_FILE';

/** One line of the NOT RUN file (JSON lines). */
export interface NotRunRecord {
  file: string;
  program: SystemProgram;
  install: string;
}

/** The program's absolute path on PATH, or undefined when it is not there. */
export function findProgram(program: SystemProgram, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The NOT RUN lines of a run: one per suite and program, in the order they were recorded. */
export function notRunLines(records: NotRunRecord[]): string[] {
  const lines = records.map(
    ({ file, program, install }) => `NOT RUN  ${file}: needs ${program}. Install it: ${install}`,
  );
  return [...new Set(lines)];
}

/** Lists every suite NOT RUN for a missing program (recorded by requireProgram in `file`), at the end of the run. */
export class NotRunReporter implements Reporter {
  constructor(private readonly file: string) {}

  onInit(): void {
    writeFileSync(this.file, '');
  }

  onFinished(): void {
    const text = existsSync(this.file) ? readFileSync(this.file, 'utf8') : '';
    rmSync(this.file, { force: true });
    const records = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as NotRunRecord);
    const lines = notRunLines(records);
    if (lines.length === 0) return;
    const heading = `\n${lines.length} suite(s) NOT RUN: a system program is missing (${requireAllVariable}=1 makes this a failure)`;
    process.stdout.write(`${[heading, ...lines].join('\n')}\n`);
  }
}
