import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { notRunFileVariable, NotRunReporter } from './test/support/not-run-reporter.js';

// Suites whose system program is missing record themselves here; the reporter lists them at the end.
const notRunFile = join(tmpdir(), `baton-not-run-${process.pid}.jsonl`);

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts'],
    // Integration tests start real `claude` processes; give them room on a 2-core CI machine.
    testTimeout: 60_000,
    // Builds the CLI the tests start (test/support/cli-build.ts).
    globalSetup: ['./test/support/cli-build.ts'],
    hookTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    env: { [notRunFileVariable]: notRunFile },
    reporters: ['default', new NotRunReporter(notRunFile)],
  },
});
