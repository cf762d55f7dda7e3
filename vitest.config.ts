import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { notRunFileVariable, NotRunReporter } from './test/support/not-run-reporter.js';

// Suites whose system program is missing record themselves here; the reporter lists them at the end.
const notRunFile = join(tmpdir(), `baton-not-run-${process.pid}.jsonl`);

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts'],
    // Integration tests start real `claude` processes, and a test's own waits (up to 90 s each) name
    // what never came: this only catches a hang. 60 s was too little for a run killed and resumed
    // on a busy 2-core CI machine (19 s alone here, 26 s beside two busy loops).
    testTimeout: 180_000,
    // Builds the CLI the tests start (test/support/cli-build.ts).
    globalSetup: ['./test/support/cli-build.ts'],
    hookTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    env: { [notRunFileVariable]: notRunFile },
    reporters: ['default', new NotRunReporter(notRunFile)],
  },
});
