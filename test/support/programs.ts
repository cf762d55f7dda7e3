/**
 * System programs some suites need (redis-server, nvim, chromium, git). A suite asks for them with
 * `requireProgram`, and runs only when they are there:
 *
 *   import { requireProgram } from '../test/support/programs.js';
 *   describe.runIf(requireProgram('redis-server'))('the Redis store', () => { … });
 *
 * On a machine without the program the suite is NOT RUN, not failed: it is recorded, and the vitest
 * run ends with one line per such suite and the command that installs what it needs (see
 * not-run-reporter.ts). With BATON_TEST_REQUIRE_ALL=1 (what .ci/run sets, after installing them all)
 * a missing program fails the suite instead, so CI never skips anything silently.
 *
 * Call it at the top of the file (at collection), once per program; put every test and every hook that
 * starts the program inside the `describe.runIf` block (vitest then runs none of them, file-level hooks
 * included when every test of the file is in such a block). When other tests of the file run without the
 * program, move its hooks (e.g. `useRedisStore()`) into the block, as test/deploy.e2e.test.ts does; one
 * test alone can use `it.runIf(requireProgram('git'))`.
 *
 * Another program: add it with its install command to `systemPrograms` (not-run-reporter.ts), install it
 * in .ci/run, and add it to the README's table of suites and packages.
 */
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import { expect } from 'vitest';
import {
  findProgram,
  notRunFileVariable,
  requireAllVariable,
  systemPrograms,
  type NotRunRecord,
  type SystemProgram,
} from './not-run-reporter.js';

export { findProgram, systemPrograms, type SystemProgram } from './not-run-reporter.js';

/** The test file being collected, relative to the project (how vitest names it). */
function currentTestFile(): string {
  const path = expect.getState().testPath ?? 'unknown test file';
  return relative(process.cwd(), path);
}

/**
 * True when `program` is on PATH. Otherwise records the calling suite as NOT RUN (returning false), or
 * throws when BATON_TEST_REQUIRE_ALL=1. Use it as `describe.runIf(requireProgram('nvim'))(…)`.
 */
export function requireProgram(program: SystemProgram): boolean {
  if (findProgram(program)) return true;
  const install = systemPrograms[program];
  const file = currentTestFile();
  if (process.env[requireAllVariable] === '1')
    throw new Error(`${file} needs ${program}, which is not on PATH (${requireAllVariable}=1). Install it: ${install}`);
  const target = process.env[notRunFileVariable];
  const record: NotRunRecord = { file, program, install };
  if (target) appendFileSync(target, `${JSON.stringify(record)}\n`);
  return false;
}
